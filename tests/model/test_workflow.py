"""Workflows: the WorkflowTemplate they serialize to, run end to end by the stand-in backend, against the local call."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from flyteidl.core import dynamic_job_pb2, literals_pb2

from flytelite.model.spec import Entities
from flytelite.types import to_literal, to_python

from .futures_runner import PROGRAMS, SETTINGS, run_template, run_workflow

@pytest.fixture(scope="module")
def programs(import_program):
    return import_program("pipelines")


def literal_inputs(entity, values: dict) -> literals_pb2.LiteralMap:
    iface = entity.python_interface
    values = {**iface.defaults, **values}  # what the default launch plan fills in
    return literals_pb2.LiteralMap(literals={k: to_literal(v, iface.inputs[k]) for k, v in values.items()})


def python_outputs(entity, outputs: literals_pb2.LiteralMap):
    iface = entity.python_interface
    return iface.unpack_outputs({k: to_python(outputs.literals[k], t) for k, t in iface.outputs.items()})


def run_serialized(workflow, tmp_path: Path, **values):
    entities = Entities(SETTINGS, None)
    template = entities.workflow_template(workflow)
    subworkflows = [w for w in entities.workflows.values() if w.id != template.id]
    outputs = run_workflow(template, literal_inputs(workflow, values), list(entities.tasks.values()), subworkflows, tmp_path / "run", PROGRAMS)
    return python_outputs(workflow, outputs)


@pytest.mark.parametrize(("name", "values"), [("pipeline", {"n": 3}), ("passthrough", {"n": 2}), ("nested", {"n": 2}), ("sub", {"a": 4})])
def test_a_serialized_workflow_run_end_to_end_gives_the_local_result(programs, tmp_path, name, values):
    workflow = getattr(programs, name)
    assert run_serialized(workflow, tmp_path, **values) == workflow(**values)


def test_the_local_call_runs_the_graph_in_process(programs):
    assert programs.pipeline(n=3) == (36, 19)  # fan_out(3) = 5; sub(5) = 25 + 10; squares of [3, 1, 3] summed
    assert programs.nested(n=2) == 37


def test_the_template_has_node_ids_bindings_and_references(programs):
    entities = Entities(SETTINGS, None)
    template = entities.workflow_template(programs.pipeline)
    assert template.id.resource_type == 2 and template.id.name == "pipelines.pipeline" and template.id.version == "v1"
    assert [n.id for n in template.nodes] == ["n0", "n1", "n2", "n3", "n4"]
    fanned, mapped, summed, sub, added = template.nodes
    assert fanned.task_node.reference_id.name == "fanout.fan_out" and fanned.metadata.retries.retries == 0
    assert fanned.inputs[0].binding.promise.node_id == "" and not fanned.upstream_node_ids  # "": the workflow's inputs
    assert mapped.HasField("array_node") and [b.binding.WhichOneof("value") for b in mapped.inputs] == ["collection"]
    assert list(summed.upstream_node_ids) == ["n1"]
    assert sub.workflow_node.sub_workflow_ref.name == "pipelines.sub" and sub.metadata.HasField("interruptible")
    assert [(b.var, b.binding.scalar.primitive.integer) for b in sub.inputs] == [("a", 0), ("b", 10)]  # the default, bound
    assert list(added.upstream_node_ids) == ["n3"]
    assert [(b.var, b.binding.promise.node_id) for b in template.outputs] == [("o0", "n4"), ("o1", "n2")]
    assert sorted(entities.workflows) == ["pipelines.pipeline", "pipelines.sub"]
    assert sorted(entities.tasks) == ["fanout.add", "fanout.fan_out", "fanout.map_square_6b3bd0353da5de6e84d7982921ead2b3-arraynode", "fanout.square", "fanout.total"]


def test_a_dynamic_calling_a_workflow_embeds_it_as_a_subworkflow(programs, tmp_path):
    dynamic = programs.calls_workflow
    template = Entities(SETTINGS, None).task_template(dynamic)
    outputs = run_template(template, literal_inputs(dynamic, {"n": 2}), tmp_path / "run", PROGRAMS)
    assert python_outputs(dynamic, outputs) == dynamic(n=2) == 17
    spec = dynamic_job_pb2.DynamicJobSpec.FromString((tmp_path / "run" / "futures.pb").read_bytes())
    assert [n.WhichOneof("target") for n in spec.nodes] == ["workflow_node", "workflow_node", "task_node"]
    assert [w.id.name for w in spec.subworkflows] == ["pipelines.sub"]
    assert [n.id for n in spec.subworkflows[0].nodes] == ["n0", "n1"]
    assert sorted(t.id.name for t in spec.tasks) == ["fanout.add", "fanout.square"]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("iterates", TypeError, r"output 'o0' of node n0 is a promise.*cannot be iterated; pass it to a task"),
        ("wrong_constant", TypeError, r"node n0 \(fanout.add\) input 'b': expected int, got str 'two'"),
        ("named_start", ValueError, r"node name 'start-node' is reserved"),
    ],
)
def test_misuse_fails_where_the_graph_is_built(programs, name, error, message):
    misuse = importlib.import_module("misuse")  # the programs fixture put dynamic_programs/ on the path
    with pytest.raises(error, match=f"workflow misuse.{name}: {message}"):
        getattr(misuse, name)(n=2)


def test_a_missing_input_names_the_node(programs):
    from flytelite import workflow

    def forgets() -> int:
        return programs.sub()

    with pytest.raises(TypeError, match=r"workflow tests.model.test_workflow.forgets: node n0 \(pipelines.sub\) is not given input\(s\) a"):
        workflow(forgets)()


def test_flytelite_run_runs_a_workflow_and_a_dynamic(tmp_path):
    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "flytelite", "run", str(PROGRAMS / "pipelines.py"), *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert '"o0": 36' in run("pipeline", "--n", "3") and '"o1": 19' in run("pipeline", "--n", "3")
    assert '"o0": 17' in run("calls_workflow", "--n", "2")
