"""``@dynamic(reusable=True)`` through the daemon, as the backend runs it.

The parent's attempt leaves ``futures.pb`` and is reported SUCCEEDED; the backend's dynamic handler
then takes it as a dynamic parent (flyte v1.16.8 flytepropeller/pkg/controller/nodes/dynamic/handler.go:62-88:
on success of any task node, futures.pb under the output prefix makes it one; every task node is wrapped
by that handler, nodes/factory/handler_factory.go:65) and runs the spec's nodes. A node of a reusable
task is a plain task node of type flytelite-reusable, so it goes to the agent as a CreateTask with the
node's inputs and its own output prefix, ``<parent prefix>/<node id>/<attempt>``.
"""

from __future__ import annotations

from pathlib import Path

from flyteidl.admin import agent_pb2
from flyteidl.core import dynamic_job_pb2, execution_pb2, literals_pb2, tasks_pb2

from flytelite.entrypoint.serve.request import identity_environ

from .agent_client import execution_metadata, int_inputs, render, task_template, written
from .test_serve_fast import code_archive, fast_template, request_for

Phase = execution_pb2.TaskExecution
NODES = 100


def binding_literal(binding) -> literals_pb2.Literal:
    """The literal of a constant binding (what the backend resolves a dynamic node's input to)."""
    literal = literals_pb2.Literal()
    kind = binding.WhichOneof("value")
    if kind == "scalar":
        literal.scalar.CopyFrom(binding.scalar)
    elif kind == "collection":
        literal.collection.literals.extend(binding_literal(item) for item in binding.collection.bindings)
    else:
        raise AssertionError(f"this test resolves constant bindings only, not {kind}")
    return literal


def node_inputs(node) -> literals_pb2.LiteralMap:
    inputs = literals_pb2.LiteralMap()
    for item in node.inputs:
        inputs.literals[item.var].CopyFrom(binding_literal(item.binding))
    return inputs


def node_request(template: tasks_pb2.TaskTemplate, node, prefix: Path) -> agent_pb2.CreateTaskRequest:
    metadata = execution_metadata(task=template.id.name)
    metadata.task_execution_id.node_execution_id.node_id = node.id
    return agent_pb2.CreateTaskRequest(
        inputs=node_inputs(node),
        template=render(template, str(prefix), f"{prefix}-raw", f"{prefix}/inputs.pb"),
        output_prefix=str(prefix),
        task_execution_metadata=metadata,
    )


def pod_environ(template: tasks_pb2.TaskTemplate, metadata: agent_pb2.TaskExecutionMetadata) -> dict[str, str]:
    """What a pod of this template and attempt would have in its environment from the backend."""
    return {**{env.key: env.value for env in template.container.env}, **identity_environ(metadata.task_execution_id)}


def cold_run(ep, template: tasks_pb2.TaskTemplate, request: agent_pb2.CreateTaskRequest, prefix: Path, cwd: Path | None = None) -> None:
    """The request's attempt run as a pod runs it: the template's args, rendered for ``prefix``, in a fresh process."""
    from ..conftest import SCRIPT, TASK_DIR

    prefix.parent.mkdir(parents=True, exist_ok=True)
    inputs = prefix.parent / f"{prefix.name}-inputs.pb"
    inputs.write_bytes(request.inputs.SerializeToString())
    command = [str(SCRIPT) if arg == "flytelite" else arg for arg in render(template, str(prefix), f"{prefix}-raw", str(inputs)).container.args]
    result = ep.run(command, env=pod_environ(template, request.task_execution_metadata), cwd=cwd or TASK_DIR)
    assert result.returncode == 0, result.describe()


def test_a_reusable_dynamic_writes_execute_s_futures_and_its_nodes_run_through_the_daemon(client, ep, tmp_path):
    template = task_template("fan_out")
    assert template.type == "flytelite-reusable" and "FLYTELITE_SERIALIZATION_SETTINGS" in {env.key for env in template.container.env}
    parent = tmp_path / "daemon" / "parent"
    request = client.create_request("fan_out", parent, int_inputs(n=NODES))
    resource = client.wait(client.create(request))
    assert resource.phase == Phase.SUCCEEDED, resource.message
    assert written(parent) == ["futures.pb"]  # SUCCEEDED with futures.pb: a dynamic parent
    cold_run(ep, template, request, tmp_path / "pod" / "parent")
    assert (parent / "futures.pb").read_bytes() == (tmp_path / "pod" / "parent" / "futures.pb").read_bytes()

    spec = dynamic_job_pb2.DynamicJobSpec.FromString((parent / "futures.pb").read_bytes())
    assert len(spec.nodes) == NODES and {t.type for t in spec.tasks} == {"flytelite-reusable"}
    templates = [next(t for t in spec.tasks if t.id == node.task_node.reference_id) for node in spec.nodes]
    requests = [node_request(template, node, parent / node.id / "0") for template, node in zip(templates, spec.nodes)]
    created = [client.create(node) for node in requests]  # all at once, as the backend's node loop would
    for node, resource_meta in zip(requests, created):
        assert client.wait(resource_meta).phase == Phase.SUCCEEDED
    for index, node in enumerate(requests):
        pod_prefix = tmp_path / "pod" / "nodes" / str(index)
        if index % 10 == 0:  # a sample of the nodes, cold: each pod run is a fresh interpreter
            cold_run(ep, templates[index], node, pod_prefix)
            assert (Path(node.output_prefix) / "outputs.pb").read_bytes() == (pod_prefix / "outputs.pb").read_bytes()
        value = literals_pb2.LiteralMap.FromString((Path(node.output_prefix) / "outputs.pb").read_bytes()).literals["o0"]
        assert value.scalar.primitive.integer == index * index


FAST_FAN_SOURCE = '''
from flytelite import dynamic, task


@task(reusable=True)
def cube(x: int) -> int:
    return x * x * x


@dynamic(reusable=True)
def fast_fan_out(n: int) -> list[int]:
    return [cube(x=i) for i in range(n)]
'''


def test_a_fast_registered_dynamic_names_its_archive_in_its_nodes_and_they_run_from_it(client, ep, tmp_path, monkeypatch):
    archive = code_archive(tmp_path, "fan", {"fast_fan.py": FAST_FAN_SOURCE.encode()})
    source = tmp_path / "source"
    source.mkdir()
    (source / "fast_fan.py").write_text(FAST_FAN_SOURCE)
    monkeypatch.syspath_prepend(str(source))  # to serialize the template here; the daemon and the pod import from the archive
    dest = str(tmp_path / "dest")
    template = fast_template("fast_fan", "fast_fan_out", archive, dest)
    parent = tmp_path / "daemon" / "parent"
    request = request_for(template, parent, int_inputs(n=10))
    assert client.wait(client.create(request)).phase == Phase.SUCCEEDED
    cold_run(ep, template, request, tmp_path / "pod" / "parent", cwd=tmp_path)
    assert (parent / "futures.pb").read_bytes() == (tmp_path / "pod" / "parent" / "futures.pb").read_bytes()
    spec = dynamic_job_pb2.DynamicJobSpec.FromString((parent / "futures.pb").read_bytes())
    node_args = list(spec.tasks[0].container.args)
    assert node_args[1:7] == ["fast-execute", "--additional-distribution", str(archive), "--dest-dir", dest, "--"]
    requests = [node_request(spec.tasks[0], node, parent / node.id / "0") for node in spec.nodes]
    for index, resource_meta in enumerate([client.create(node) for node in requests]):
        assert client.wait(resource_meta).phase == Phase.SUCCEEDED
        outputs = literals_pb2.LiteralMap.FromString((Path(requests[index].output_prefix) / "outputs.pb").read_bytes())
        assert outputs.literals["o0"].scalar.primitive.integer == index**3
