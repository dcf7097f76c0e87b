"""Workflow constructs the tests serialize against flytekit and run locally: bound map inputs, output order,
attribute access on promises, ``>>``, conditionals and launch plans."""

from __future__ import annotations

import datetime
import functools
import typing
from dataclasses import dataclass

from flytelite import (
    Annotations,
    CronSchedule,
    Email,
    FixedRate,
    Labels,
    LaunchPlan,
    SecurityContext,
    WorkflowExecutionPhase,
    conditional,
    dynamic,
    map_task,
    task,
    workflow,
)
from flytelite.model.launch_plan import Identity


@dataclass
class Point:
    x: int
    y: int


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def make_point(n: int) -> Point:
    return Point(x=n, y=n + 1)


@task
def pair(n: int) -> typing.List[int]:
    return [n, n + 10]


@task
def named(n: int) -> typing.Dict[str, int]:
    return {"double": 2 * n}


@task
def double(x: int) -> int:
    return 2 * x


@task
def negate(x: int) -> int:
    return -x


@task
def is_even(n: int) -> bool:
    return n % 2 == 0


@task
def log_start() -> None:
    print("start")


@task
def log_end() -> None:
    print("end")


@task
def shift(x: int, offset: int) -> int:
    return x + offset


scaled = map_task(scale, bound_inputs={"factor"})
shifted_by_ten = map_task(functools.partial(shift, offset=10))


@workflow
def map_bound(xs: typing.List[int], factor: int) -> typing.List[int]:
    """A map task with a bound input."""
    return scaled(x=xs, factor=factor)


@workflow
def map_partial(xs: typing.List[int]) -> typing.List[int]:
    """A map task of a functools.partial: its keywords are bound inputs."""
    return shifted_by_ten(x=xs)


@dynamic
def dynamic_map_bound(n: int) -> typing.List[int]:
    return scaled(x=list(range(n)), factor=n)


Reversed = typing.NamedTuple("Reversed", [("zeta", int), ("alpha", int)])


@workflow
def declared_order(n: int) -> Reversed:
    """Outputs written in declared order, not by name."""
    return Reversed(zeta=double(x=n), alpha=negate(x=n))


@workflow
def zeta_sub(n: int) -> int:
    return double(x=n)


@workflow
def alpha_sub(n: int) -> int:
    return negate(x=n)


@workflow
def calls_subs(n: int) -> int:
    """Sub-workflows called in the reverse of their names' order."""
    return scale(x=zeta_sub(n=n), factor=alpha_sub(n=n))


@workflow
def no_inputs() -> int:
    return double(x=21)


@workflow
def attributes(n: int) -> typing.Tuple[int, int, int]:
    """A dataclass field, a list element and a dict value of promises bound to the next task."""
    return double(x=make_point(n=n).y), double(x=pair(n=n)[1]), negate(x=named(n=n)["double"])


@workflow
def indexed(n: int) -> typing.Tuple[int, int]:
    """Only a list element and a dict value: parts the backend resolves without decoding msgpack."""
    return double(x=pair(n=n)[1]), negate(x=named(n=n)["double"])


@dynamic
def dynamic_attributes(n: int) -> int:
    return scale(x=make_point(n=n).x, factor=pair(n=n)[0])


@workflow
def ordered(n: int) -> int:
    """Nodes ordered with ``>>`` where no data passes between them."""
    start = log_start()
    doubled = double(x=n)
    end = log_end()
    start >> doubled
    doubled >> end
    return doubled


@workflow
def branches(n: int) -> int:
    """if/elif/else on an input, with ``&`` and ``|``."""
    return (
        conditional("sign")
        .if_((n > 0) & (n < 10))
        .then(double(x=n))
        .elif_((n >= 10) | (n == -1))
        .then(scale(x=n, factor=3))
        .else_()
        .then(negate(x=n))
    )


@workflow
def on_output(n: int) -> int:
    """A condition on a task's output, and a failing else."""
    even = is_even(n=n)
    return conditional("parity").if_(even.is_true()).then(double(x=n)).else_().fail("odd input")


@workflow
def nested_branches(n: int) -> int:
    """A conditional inside a branch of another."""
    doubled = double(x=n)
    return (
        conditional("outer")
        .if_(doubled > 10)
        .then(conditional("inner").if_(n > 100).then(scale(x=n, factor=100)).else_().then(negate(x=n)))
        .else_()
        .then(scale(x=doubled, factor=n))
    )


@dynamic
def dynamic_branch(n: int) -> int:
    """In a dynamic, inputs are values: the condition is on a task's output."""
    doubled = double(x=n)
    return conditional("in_dynamic").if_(doubled < 10).then(scale(x=doubled, factor=n)).else_().then(negate(x=doubled))


hourly = LaunchPlan.get_or_create(
    branches,
    name="branches_hourly",
    default_inputs={"n": 3},
    schedule=CronSchedule(schedule="0 * * * *"),
    notifications=[Email(phases=[WorkflowExecutionPhase.FAILED], recipients_email=["ops@example.com"])],
    labels=Labels({"team": "ml"}),
    annotations=Annotations({"owner": "ops"}),
    max_parallelism=7,
)

every_ten_minutes = LaunchPlan.get_or_create(
    map_bound,
    name="map_bound_fixed",
    fixed_inputs={"factor": 3},
    default_inputs={"xs": [1, 2]},
    schedule=FixedRate(duration=datetime.timedelta(minutes=10)),
    security_context=SecurityContext(run_as=Identity(k8s_service_account="batch")),
)


@workflow
def launches(n: int) -> typing.List[int]:
    """A launch plan called as a node: its fixed input is not given, its default may be."""
    return every_ten_minutes(xs=[n, n])
