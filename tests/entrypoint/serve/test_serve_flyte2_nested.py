"""Flyte 2 tasks that call other tasks, against a loopback fake of the backend's ActionsService.

The parent runs cold (the ``a0`` console script) or warm (``flytelite serve --flyte2-endpoint``);
either way its child runs as a cold ``a0`` the fake starts, with the run's base on SeaweedFS (a nested
call uploads the child's inputs under ``_U_RUN_BASE``, which local storage cannot do when the folder
does not exist yet).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("flyte", reason="flyte (Flyte 2's SDK, the extra flytelite[flyte2]) is not installed")

from connectrpc.code import Code  # noqa: E402 - flyte's dependencies, there only when flyte is
from connectrpc.errors import ConnectError  # noqa: E402
from flyteidl.core import execution_pb2, literals_pb2  # noqa: E402
from flyteidl2.actions import actions_service_pb2 as actions  # noqa: E402
from flyteidl2.actions.actions_service_connect import ActionsServiceClientSync  # noqa: E402
from flyteidl2.common import identifier_pb2, phase_pb2  # noqa: E402
from flyteidl2.core import execution_pb2 as execution2  # noqa: E402
from flyteidl2.core import tasks_pb2 as tasks2  # noqa: E402
from flyteidl2.task import task_definition_pb2  # noqa: E402
from flyteidl2.workflow import run_definition_pb2  # noqa: E402

from flytelite import io  # noqa: E402

from .agent_client import AgentClient, Daemon, int_inputs  # noqa: E402
from .flyte2 import ACTOR_TASK_TYPE, FLYTE2_TASK_DIR, cold_a0, create_request, flyte2_template  # noqa: E402
from .flyte2_actions import FakeActionsBackend  # noqa: E402

pytestmark = pytest.mark.slow
Phase = execution_pb2.TaskExecution


def storage_env(s3_env: dict[str, str]) -> dict[str, str]:
    """The server's settings under both names: flyte's own (FLYTE_AWS_*) and the AWS ones flytelite reads."""
    return {**s3_env, "FLYTE_AWS_ENDPOINT": s3_env["AWS_ENDPOINT_URL"], "FLYTE_AWS_ACCESS_KEY_ID": s3_env["AWS_ACCESS_KEY_ID"], "FLYTE_AWS_SECRET_ACCESS_KEY": s3_env["AWS_SECRET_ACCESS_KEY"]}


@pytest.fixture
def backend(module_env: dict[str, str], s3_env: dict[str, str]) -> Iterator[FakeActionsBackend]:
    running = FakeActionsBackend(FLYTE2_TASK_DIR, {**module_env, **storage_env(s3_env)})
    yield running
    running.stop()


def outputs(prefix: Path) -> literals_pb2.LiteralMap:
    # flyteidl2.task.Outputs (repeated NamedLiteral, field 1) is a LiteralMap on the wire.
    return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes())


def run_cold(backend: FakeActionsBackend, env: dict[str, str], name: str, prefix: Path, run_base: str, **inputs: int):
    finished = cold_a0(name, str(prefix), int_inputs(**inputs), run_base, {**env, **backend.pod_environ()})
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished


def test_a_cold_parent_runs_its_child_through_the_backend(backend: FakeActionsBackend, module_env, s3_env, s3_bucket: str, tmp_path: Path) -> None:
    run_base = f"s3://{s3_bucket}/run"
    run_cold(backend, {**module_env, **storage_env(s3_env)}, "parent", tmp_path / "out", run_base, a=3)
    assert outputs(tmp_path / "out").literals["o0"].scalar.primitive.integer == 4
    [enqueued] = backend.service.enqueued
    assert enqueued.action.parent_action_name == "a1"
    assert enqueued.action.task.spec.task_template.id.name.endswith("add")
    [child] = backend.service.children.values()
    assert child.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, child.log.decode()[-3000:]
    assert child.output_uri.startswith(f"s3://{s3_bucket}/") and child.output_uri.endswith(f"/run/{enqueued.action.action_id.name}/1")


def test_a_failing_child_is_the_cold_parents_error(backend: FakeActionsBackend, module_env, s3_env, s3_bucket: str, tmp_path: Path) -> None:
    """flyte turns the child's FAILED update (its error) into the parent's exception, uploaded as the parent's error.pb."""
    run_cold(backend, {**module_env, **storage_env(s3_env)}, "parent_of_boom", tmp_path / "out", f"s3://{s3_bucket}/run", a=7)
    [child] = backend.service.children.values()
    assert child.phase == phase_pb2.ACTION_PHASE_FAILED
    assert child.error is not None and "boom 7" in child.error.message and child.error.kind == execution2.ExecutionError.USER
    assert not (tmp_path / "out" / "outputs.pb").exists()
    document = execution2.ErrorDocument.FromString((tmp_path / "out" / "error.pb").read_bytes())
    assert "boom 7" in document.error.message
    assert document.error.origin == execution2.ExecutionError.USER


@pytest.fixture(scope="module")
def warm_backend(module_env: dict[str, str], s3_server) -> Iterator[FakeActionsBackend]:
    running = FakeActionsBackend(FLYTE2_TASK_DIR, {**module_env, **storage_env(s3_server.env())})
    yield running
    running.stop()


@pytest.fixture(scope="module")
def nested_daemon(module_env: dict[str, str], s3_server, warm_backend: FakeActionsBackend) -> Iterator[Daemon]:
    """A daemon whose Flyte 2 workers reach the fake backend by ``--flyte2-endpoint`` alone, as in a cluster:
    the chart's pod variables (_U_USE_ACTIONS, _U_INSECURE) never reach a connector."""
    env = {**module_env, **storage_env(s3_server.env())}
    running = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE, "--flyte2-endpoint", warm_backend.endpoint], env, cwd=FLYTE2_TASK_DIR)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def nested_client(nested_daemon: Daemon) -> Iterator[AgentClient]:
    agent = AgentClient(nested_daemon.port)
    yield agent
    agent.close()


def run_warm(client: AgentClient, name: str, prefix: Path, run_base: str, **inputs: int):
    os.makedirs(prefix, exist_ok=True)  # a0 writes into an existing folder (local storage makes none)
    resource = client.wait(client.create(create_request(name, str(prefix), int_inputs(**inputs), run_base)), timeout=120)
    assert resource.phase == Phase.SUCCEEDED, resource.message
    return resource


def warm_pid(client: AgentClient, prefix: Path, run_base: str) -> int:
    run_warm(client, "pid", prefix, run_base)
    return outputs(prefix).literals["o0"].scalar.primitive.integer


def test_a_warm_parent_runs_its_child_as_a_cold_one(
    nested_daemon: Daemon, nested_client: AgentClient, warm_backend: FakeActionsBackend, backend: FakeActionsBackend, module_env, s3_env, s3_bucket: str, tmp_path: Path
) -> None:
    """The same parent cold and warm (each against a backend of its own): the same outputs.pb; then a second
    warm attempt with a nested call in the same worker (the controller is built and stopped per attempt)."""
    before = warm_pid(nested_client, tmp_path / "pid-before", f"s3://{s3_bucket}/warm")
    run_cold(backend, {**module_env, **storage_env(s3_env)}, "parent", tmp_path / "cold", f"s3://{s3_bucket}/cold", a=3)
    run_warm(nested_client, "parent", tmp_path / "warm", f"s3://{s3_bucket}/warm", a=3)
    assert (tmp_path / "warm" / "outputs.pb").read_bytes() == (tmp_path / "cold" / "outputs.pb").read_bytes()
    assert outputs(tmp_path / "warm").literals["o0"].scalar.primitive.integer == 4

    run_warm(nested_client, "parent", tmp_path / "warm-again", f"s3://{s3_bucket}/warm", a=10)
    assert outputs(tmp_path / "warm-again").literals["o0"].scalar.primitive.integer == 11
    assert warm_pid(nested_client, tmp_path / "pid-after", f"s3://{s3_bucket}/warm") == before  # one worker ran all four
    children = list(warm_backend.service.children.values())
    assert len(children) == 2 and all(child.phase == phase_pb2.ACTION_PHASE_SUCCEEDED for child in children)
    output = "".join(nested_daemon.lines)  # the worker's stderr too: each attempt's controller stopped cleanly
    assert "did not stop cleanly" not in output and "Traceback" not in output, output[-3000:]


def test_a_failing_child_is_the_warm_parents_error_as_the_cold_ones(
    nested_client: AgentClient, backend: FakeActionsBackend, module_env, s3_env, s3_bucket: str, tmp_path: Path
) -> None:
    run_cold(backend, {**module_env, **storage_env(s3_env)}, "parent_of_boom", tmp_path / "cold", f"s3://{s3_bucket}/cold", a=8)
    resource = run_warm(nested_client, "parent_of_boom", tmp_path / "warm", f"s3://{s3_bucket}/warm", a=8)
    assert "boom 8" in resource.message  # the task declares outputs: the backend reads error.pb from the prefix
    assert (tmp_path / "warm" / "error.pb").read_bytes() == (tmp_path / "cold" / "error.pb").read_bytes()


def enqueue_request(name: str, action_name: str, run_base: str, **inputs):
    """An EnqueueRequest as flyte's controller sends it (_core.py ``_bg_launch``), its inputs uploaded first."""
    template = tasks2.TaskTemplate.FromString(flyte2_template(name).SerializeToString())
    input_uri = f"{run_base}/{action_name}/inputs.pb"
    io.write_bytes(input_uri, int_inputs(**inputs).SerializeToString())
    action_id = identifier_pb2.ActionIdentifier(name=action_name, run=identifier_pb2.RunIdentifier(name="r1", project="p", domain="d", org="o"))
    task = run_definition_pb2.TaskAction(spec=task_definition_pb2.TaskSpec(task_template=template))
    action = actions.Action(action_id=action_id, parent_action_name="a1", task=task, input_uri=input_uri, run_output_base=run_base)
    return actions.EnqueueRequest(action=action)


def test_the_fake_backend_over_connect(backend: FakeActionsBackend, s3_bucket: str, tmp_path: Path) -> None:
    """The fake through flyte's own generated Connect client: refusals, Abort of a running child, and a
    watch that starts after the fact (the snapshot, then the sentinel)."""
    client = ActionsServiceClientSync(f"http://{backend.endpoint}")
    run_base, pid_file = f"s3://{s3_bucket}/run", tmp_path / "pid"
    request = enqueue_request("sleepy", "child1", run_base, pid_file=str(pid_file), seconds=120)
    client.enqueue(request)
    with pytest.raises(ConnectError) as exists:
        client.enqueue(request)
    assert exists.value.code == Code.INTERNAL  # as the backend answers: its CR create fails
    local = actions.EnqueueRequest()
    local.CopyFrom(request)
    local.action.run_output_base = str(tmp_path)
    local.action.action_id.name = "child2"
    with pytest.raises(ConnectError) as refused:
        client.enqueue(local)
    assert refused.value.code == Code.INVALID_ARGUMENT
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())

    client.abort(actions.AbortRequest(action_id=request.action.action_id))
    with pytest.raises(ConnectError) as unknown:
        client.abort(actions.AbortRequest(action_id=local.action.action_id))
    assert unknown.value.code == Code.INTERNAL
    [child] = backend.service.children.values()
    assert child.done.is_set() and child.process is not None
    assert child.process.wait(30) == -9 and child.process.pid == child_pid
    with pytest.raises(ProcessLookupError):
        os.kill(child_pid, 0)

    watch = client.watch_for_updates(actions.WatchForUpdatesRequest(parent_action_id=identifier_pb2.ActionIdentifier(name="a1", run=request.action.action_id.run)))
    snapshot, sentinel = next(watch), next(watch)
    assert snapshot.action_update.action_id.name == "child1" and snapshot.action_update.phase == phase_pb2.ACTION_PHASE_ABORTED
    assert snapshot.action_update.output_uri == child.output_uri
    assert sentinel.control_message.sentinel
    client.close()
