"""Dynamic tasks: the futures.pb a container run writes, run end to end by a stand-in backend, against the local call."""

from __future__ import annotations

from pathlib import Path

import pytest
from flyteidl.core import dynamic_job_pb2, literals_pb2, tasks_pb2

from flytelite.model.template import to_task_template
from flytelite.types import to_literal, to_python

from .futures_runner import PROGRAMS, SETTINGS, NodeFailed, run_template


@pytest.fixture(scope="module")
def programs(import_program):
    return import_program("fanout")


def template_of(programs, name: str) -> tasks_pb2.TaskTemplate:
    return to_task_template(getattr(programs, name), SETTINGS)


def inputs_of(programs, name: str, **values) -> literals_pb2.LiteralMap:
    types = getattr(programs, name).python_interface.inputs
    return literals_pb2.LiteralMap(literals={k: to_literal(v, types[k]) for k, v in values.items()})


def run_remote(programs, name: str, tmp_path: Path, **values):
    outputs = run_template(template_of(programs, name), inputs_of(programs, name, **values), tmp_path / "run", PROGRAMS)
    iface = getattr(programs, name).python_interface
    return iface.unpack_outputs({k: to_python(outputs.literals[k], t) for k, t in iface.outputs.items()})


def futures_of(tmp_path: Path) -> dynamic_job_pb2.DynamicJobSpec:
    return dynamic_job_pb2.DynamicJobSpec.FromString((tmp_path / "run" / "futures.pb").read_bytes())


@pytest.mark.parametrize(
    ("name", "values"),
    [("fan_out", {"n": 4}), ("chain", {"n": 2}), ("with_overrides", {"n": 5}), ("mapped", {"n": 3}), ("outer", {"n": 3}), ("no_outputs", {"word": "hi"})],
)
def test_the_spec_run_end_to_end_gives_the_local_result(programs, tmp_path, name, values):
    local = getattr(programs, name)(**values)
    assert run_remote(programs, name, tmp_path, **values) == local
    assert (tmp_path / "run" / "futures.pb").exists() and not (tmp_path / "run" / "outputs.pb").exists()


def test_fan_out_spec_nodes_bindings_and_templates(programs, tmp_path):
    run_remote(programs, "fan_out", tmp_path, n=3)
    spec = futures_of(tmp_path)
    assert [n.id for n in spec.nodes] == ["dn0", "dn1", "dn2", "dn3"]
    assert [n.metadata.name for n in spec.nodes] == ["square"] * 3 + ["total"]
    reducer = spec.nodes[3]
    assert list(reducer.upstream_node_ids) == ["dn0", "dn1", "dn2"]
    promises = [b.promise for b in reducer.inputs[0].binding.collection.bindings]
    assert [(p.node_id, p.var) for p in promises] == [("dn0", "o0"), ("dn1", "o0"), ("dn2", "o0")]
    assert spec.nodes[1].inputs[0].binding.scalar.primitive.integer == 1
    assert [(b.var, b.binding.promise.node_id) for b in spec.outputs] == [("o0", "dn3")]
    assert sorted(t.id.name for t in spec.tasks) == ["fanout.square", "fanout.total"]
    assert {(t.id.project, t.id.domain, t.id.version) for t in spec.tasks} == {("p", "d", "v1")}
    assert spec.min_successes == 4


def test_overrides_rename_the_node_and_change_its_metadata(programs, tmp_path):
    run_remote(programs, "with_overrides", tmp_path, n=5)
    split, summed = futures_of(tmp_path).nodes
    assert split.id == "split-it" and split.metadata.retries.retries == 5 and split.metadata.timeout.seconds == 30
    assert summed.id == "dn1" and summed.metadata.name == "sum" and summed.metadata.interruptible
    assert list(summed.upstream_node_ids) == ["split-it"]
    assert summed.metadata.retries.retries == 2  # the task's own
    assert summed.task_node.overrides.resources.requests[0].value == "2"


def test_a_map_task_becomes_an_array_node_with_the_list_form_template(programs, tmp_path):
    run_remote(programs, "mapped", tmp_path, n=3)
    spec = futures_of(tmp_path)
    array = spec.nodes[0]
    assert array.HasField("array_node") and array.array_node.min_success_ratio == 1.0
    template = next(t for t in spec.tasks if t.id == array.array_node.node.task_node.reference_id)
    assert template.task_type_version == 1 and "map-execute" in template.container.args
    assert template.interface.inputs.variables["x"].type.collection_type.simple == 1  # list[int]
    assert template.interface.outputs.variables["o0"].type.HasField("collection_type")


def test_a_dynamic_inside_a_dynamic_carries_the_settings_again(programs, tmp_path):
    run_remote(programs, "outer", tmp_path, n=3)
    spec = futures_of(tmp_path)
    inner = next(t for t in spec.tasks if t.id.name == "fanout.inner")
    assert any(e.key == "FLYTELITE_SERIALIZATION_SETTINGS" for e in inner.container.env)
    assert (tmp_path / "run" / "dn0" / "0" / "futures.pb").exists()


def test_a_dynamic_calling_nothing_writes_outputs(programs, tmp_path):
    assert run_remote(programs, "calls_nothing", tmp_path, n=2) == 6
    assert not (tmp_path / "run" / "futures.pb").exists()


def test_missing_settings_are_a_user_error_saying_how_to_serialize(programs, tmp_path):
    template = template_of(programs, "fan_out")
    del template.container.env[:]
    with pytest.raises(NodeFailed, match="USER:.*FLYTELITE_SERIALIZATION_SETTINGS is not set.*flytelite serialize"):
        run_template(template, inputs_of(programs, "fan_out", n=2), tmp_path / "run", PROGRAMS)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tests_a_promise", r"output 'o0' of node dn0 is a promise.*tested for truth"),
        ("wrong_type", r"node dn1 \(fanout.shout\) input 'word' is str, but it is given output 'o0' of node dn0, which is int"),
    ],
)
def test_misuse_fails_at_the_call_naming_node_and_variable(programs, tmp_path, name, message):
    with pytest.raises(TypeError, match=message):
        getattr(programs, name)(n=2)
    with pytest.raises(NodeFailed, match=message):
        run_remote(programs, name, tmp_path, n=2)


def test_a_fast_registered_parent_gives_its_sub_tasks_the_real_distribution(programs, tmp_path):
    from flytelite.runtime.context import ExecutionContext

    ctx = ExecutionContext(working_directory=str(tmp_path), raw_output_prefix=str(tmp_path / "raw"))
    env = {e.key: e.value for e in template_of(programs, "chain").container.env} | {"FLYTE_INTERNAL_TASK_VERSION": "v7"}
    spec_bytes, _ = programs.chain.compile_futures(ctx, {"n": 1}, env, "s3://bucket/fast1.tar.gz", "/root")
    spec = dynamic_job_pb2.DynamicJobSpec.FromString(spec_bytes)
    args = list(spec.tasks[0].container.args)
    assert args[:7] == ["flytelite", "fast-execute", "--additional-distribution", "s3://bucket/fast1.tar.gz", "--dest-dir", "/root", "--"]
    assert spec.tasks[0].id.version == "v7"
