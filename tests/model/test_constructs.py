"""Workflow constructs run locally and built into graphs: bound map inputs, parts of outputs, ``>>``,
``conditional`` and launch plans; and the clear errors of their misuse. Their serialized forms are
compared with flytekit's in test_golden.py."""

from __future__ import annotations

import datetime
import subprocess
import sys
import typing

import pytest

from flytelite import CronSchedule, Email, FixedRate, LaunchPlan, SecurityContext, WorkflowExecutionPhase, conditional, task, workflow
from flytelite.model.launch_plan import Identity
from flytelite.model.spec import Entities

from .futures_runner import PROGRAMS, SETTINGS, NodeFailed
from .test_workflow import run_serialized


@pytest.fixture(scope="module")
def constructs(import_program):
    return import_program("constructs")


@task
def add_one(x: int) -> int:
    return x + 1


@task
def numbers(n: int) -> typing.List[int]:
    return list(range(n))


def test_local_calls_run_every_construct(constructs):
    assert constructs.map_bound(xs=[1, 2, 3], factor=2) == [2, 4, 6]
    assert constructs.dynamic_map_bound(n=3) == [0, 3, 6]
    assert constructs.map_partial(xs=[1, 2]) == [11, 12]
    assert constructs.declared_order(n=3) == (6, -3)
    assert constructs.calls_subs(n=2) == -8 and constructs.no_inputs() == 42
    assert constructs.attributes(n=3) == (8, 26, -6)  # Point(3, 4).y doubled; [3, 13][1] doubled; -{"double": 6}["double"]
    assert constructs.dynamic_attributes(n=4) == 16
    assert constructs.ordered(n=2) == 4


@pytest.mark.parametrize(("n", "expected"), [(3, 6), (12, 36), (-1, -3), (-5, 5), (0, 0)])
def test_the_first_case_that_holds_runs(constructs, n, expected):
    assert constructs.branches(n=n) == expected


def test_nested_and_dynamic_conditionals_run_locally(constructs):
    assert [constructs.nested_branches(n=n) for n in (2, 6, 200)] == [8, -6, 20000]
    assert [constructs.dynamic_branch(n=n) for n in (2, 7)] == [8, -14]


def test_a_failing_case_fails_with_its_message(constructs):
    assert constructs.on_output(n=4) == 8
    with pytest.raises(ValueError, match="conditional parity: odd input"):
        constructs.on_output(n=3)


def test_flytelite_run_runs_a_conditional_workflow():
    command = [sys.executable, "-m", "flytelite", "run", str(PROGRAMS / "constructs.py"), "nested_branches", "--n", "200"]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert '"o0": 20000' in done.stdout


def test_nodes_made_in_a_case_leave_the_graph_for_the_branch(constructs):
    template = Entities(SETTINGS, None).workflow_template(constructs.nested_branches)
    assert [node.WhichOneof("target") for node in template.nodes] == ["task_node", "branch_node"]
    outer = template.nodes[1].branch_node.if_else
    assert outer.case.then_node.WhichOneof("target") == "branch_node"
    assert outer.else_node.task_node.reference_id.name == "constructs.scale"


def test_attribute_paths_are_bound_and_typed(constructs):
    template = Entities(SETTINGS, None).workflow_template(constructs.attributes)
    paths = [[a.WhichOneof("value") for a in node.inputs[0].binding.promise.attr_path] for node in template.nodes if node.inputs[0].binding.promise.attr_path]
    assert paths == [["string_value"], ["int_value"], ["string_value"]]


def test_a_part_that_does_not_exist_is_refused():
    @workflow
    def wrong(n: int) -> int:
        return add_one(x=numbers(n=n).size)

    with pytest.raises(TypeError, match="has no part 'size'"):
        wrong.graph


def test_a_part_of_the_wrong_type_is_refused():
    @workflow
    def wrong(n: int) -> int:
        return add_one(x=numbers(n=n)["a"])

    with pytest.raises(TypeError, match="has no part 'a'"):
        wrong.graph


def test_ordering_with_shift_runs_a_later_call_first():
    order = []

    @task
    def first() -> None:
        order.append("first")

    @task
    def second() -> None:
        order.append("second")

    @workflow
    def reversed_calls() -> None:
        later = second()
        earlier = first()
        earlier >> later

    reversed_calls()
    assert order == ["first", "second"]
    template = Entities(SETTINGS, None).workflow_template(reversed_calls)
    assert list(template.nodes[0].upstream_node_ids) == ["n1"]


def test_a_cycle_of_shifts_is_refused():
    @task
    def noop() -> None:
        pass

    @workflow
    def cycle() -> None:
        a, b = noop(), noop()
        a >> b
        b >> a

    with pytest.raises(ValueError, match="after itself"):
        cycle()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (lambda n: conditional("c").if_(True).then(add_one(x=n)).else_().then(add_one(x=n)), "takes a comparison of promises"),
        (lambda n: conditional("c").if_(n).then(add_one(x=n)).else_().then(add_one(x=n)), "takes a comparison of promises"),
        (lambda n: conditional("c").if_((n > 1) and (n < 3)).then(add_one(x=n)).else_().then(n), "combine conditions with & and |"),
        (lambda n: conditional("c").if_(n > 1).then(add_one(x=add_one(x=n))).else_().then(add_one(x=n)), "exactly one task"),
        (lambda n: conditional("c").if_(n > 1).then(n).else_().then(add_one(x=n)), "exactly one task"),
        (lambda n: conditional("c").else_().then(add_one(x=n)), "needs an if_ before its else_"),
    ],
)
def test_misused_conditionals_fail_clearly(body, message):
    @workflow
    def misuse(n: int) -> int:
        return body(n)

    with pytest.raises(TypeError, match=message):
        misuse.graph


def test_conditional_outside_a_graph_is_refused():
    with pytest.raises(TypeError, match="outside a @workflow or @dynamic"):
        conditional("nowhere")


def test_a_launch_plan_runs_its_workflow_with_fixed_and_default_inputs(constructs):
    assert constructs.every_ten_minutes() == [3, 6]
    assert constructs.every_ten_minutes(xs=[5]) == [15]
    with pytest.raises(TypeError, match="fixed"):
        constructs.every_ten_minutes(factor=2)
    assert constructs.hourly() == 6
    assert constructs.launches(n=2) == [6, 6]


def test_get_or_create_keeps_one_plan_per_name(constructs):
    again = LaunchPlan.get_or_create(constructs.map_bound, name="map_bound_fixed", fixed_inputs={"factor": 3}, default_inputs={"xs": [1, 2]},
                                     schedule=FixedRate(duration=datetime.timedelta(minutes=10)),
                                     security_context=SecurityContext(run_as=Identity(k8s_service_account="batch")))
    assert again is constructs.every_ten_minutes
    with pytest.raises(ValueError, match="already exists with other arguments"):
        LaunchPlan.get_or_create(constructs.map_bound, name="map_bound_fixed", fixed_inputs={"factor": 4})
    assert LaunchPlan.get_or_create(constructs.no_inputs).name == "constructs.no_inputs"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda wf: LaunchPlan.get_or_create(wf, name="p1", fixed_inputs={"nope": 1}), "not inputs of workflow"),
        (lambda wf: LaunchPlan.get_or_create(wf, name="p2", schedul=CronSchedule(schedule="@daily")), "unknown argument"),
        (lambda wf: LaunchPlan.get_or_create(wf, schedule=CronSchedule(schedule="@daily")), "give the plan a name"),
        (lambda wf: CronSchedule(schedule="* * *"), "5 fields"),
        (lambda wf: CronSchedule(cron_expression="0 10 * * *"), "6 fields"),
        (lambda wf: CronSchedule(), "takes one of"),
        (lambda wf: CronSchedule(schedule="@daily", offset="one hour"), "ISO 8601"),
        (lambda wf: FixedRate(duration=datetime.timedelta(seconds=90)), "whole minutes"),
        (lambda wf: Email(phases=[WorkflowExecutionPhase.RUNNING], recipients_email=["a@b.c"]), "terminal phases"),
        (lambda wf: LaunchPlan.get_or_create(wf, name="p3", schedule=CronSchedule(schedule="@daily", kickoff_time_input_arg="xs")), "datetime input"),
    ],
)
def test_bad_launch_plans_fail_clearly(constructs, make, message):
    with pytest.raises((TypeError, ValueError), match=message):
        make(constructs.map_bound)


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("branches", {"n": 3}), ("branches", {"n": 12}), ("branches", {"n": -5}), ("nested_branches", {"n": 6}),
        ("nested_branches", {"n": 200}), ("on_output", {"n": 4}), ("map_bound", {"xs": [1, 2], "factor": 5}), ("map_partial", {"xs": [4]}),
        ("ordered", {"n": 2}), ("declared_order", {"n": 3}), ("calls_subs", {"n": 2}), ("no_inputs", {}), ("indexed", {"n": 3}),
    ],
)
def test_a_serialized_construct_run_by_the_stand_in_backend_gives_the_local_result(constructs, tmp_path, name, values):
    workflow = getattr(constructs, name)
    assert run_serialized(workflow, tmp_path, **values) == workflow(**values)


def test_a_serialized_failing_case_fails_the_run(constructs, tmp_path):
    with pytest.raises(NodeFailed, match="odd input"):
        run_serialized(constructs.on_output, tmp_path, n=3)
