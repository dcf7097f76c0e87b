"""``flytelite serve`` behind Flyte 2's connector plugin, driven by :mod:`.connector_client` (the plugin's Go, in Python).

One daemon serves ``actor`` (Flyte 2's reusable environments) and ``flytelite-reusable``; each test
goes through flyteidl2's own stubs: CreateTask with the rendered template and ``task.Inputs``, GetTask
until a terminal phase, then what the backend makes of it (outputs from the prefix, or the error).
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("flyte") is None, reason="flyte (Flyte 2's SDK, the extra flytelite[flyte2]) is not installed"),
    pytest.mark.slow,
]

if importlib.util.find_spec("flyte") is not None:
    from flyteidl2.core import execution_pb2, literals_pb2, tasks_pb2
    from google.protobuf import unknown_fields

    from .agent_client import TASK_DIR, Daemon, int_inputs, task_template
    from .connector_client import (
        ConnectorBackend, Phase, PluginError, ResourceMetaWrapper, executor_environment, read_prefix, substitute_run_start_time, task_execution_id,
    )
    from .flyte2 import ACTOR_TASK_TYPE, FLYTE2_TASK_DIR, cold_a0, flyte2_template, run_environ


@pytest.fixture(scope="module")
def daemon(module_env: dict[str, str]) -> Iterator[Daemon]:
    # The Flyte 2 tasks' folder is the working directory (as the image's), the flytelite tasks' on the path.
    env = {**module_env, "PYTHONPATH": os.pathsep.join(filter(None, [str(TASK_DIR), module_env.get("PYTHONPATH", "")]))}
    running = Daemon(["--workers", "2", "--task-type", ACTOR_TASK_TYPE, "--task-type", "flytelite-reusable", "--cancel-grace", "3"], env, cwd=FLYTE2_TASK_DIR)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def backend(daemon: Daemon) -> Iterator[ConnectorBackend]:
    connector = ConnectorBackend(daemon.port)
    yield connector
    connector.close()


def flyte2(template: object) -> tasks_pb2.TaskTemplate:
    """A template as Flyte 2's backend stores it (flyteidl2), from the same bytes."""
    return tasks_pb2.TaskTemplate.FromString(template.SerializeToString())  # type: ignore[attr-defined]


def inputs2(flyte1_inputs: object) -> literals_pb2.LiteralMap:
    return literals_pb2.LiteralMap.FromString(flyte1_inputs.SerializeToString())  # type: ignore[attr-defined]


def executor_env(run_base: Path) -> dict[str, str]:
    """What the executor sends (project and domain: not), with the run's values the cold a0 gets too."""
    environ = run_environ(str(run_base))
    return executor_environment(str(run_base), environ["RUN_NAME"], environ["ACTION_NAME"], environ["_U_ORG_NAME"])


def a0_template(name: str) -> tasks_pb2.TaskTemplate:
    return substitute_run_start_time(flyte2(flyte2_template(name)), "2026-01-02T03:04:05Z")


def flytelite_template(name: str) -> tasks_pb2.TaskTemplate:
    """A reusable flytelite task's template, as ``flytelite serialize`` writes it (with an empty ``custom``: see below)."""
    return flyte2(task_template(name))


def leftover_fields(message: object) -> list[int]:
    """Field numbers in a flyteidl2 message that flyteidl2 does not define (Flyte 1-only fields sent by mistake)."""
    return [field.field_number for field in unknown_fields.UnknownFieldSet(message)]


def test_the_connector_lists_the_task_types_it_serves(backend: ConnectorBackend) -> None:
    from flyteidl2.connector import connector_pb2

    assert backend.registry() == {("actor", 0): "flytelite-serve", ("flytelite-reusable", 0): "flytelite-serve", ("flytelite-reusable-sync", 0): "flytelite-serve"}
    connector = backend.metadata_stub.GetConnector(connector_pb2.GetConnectorRequest(name="flytelite-serve"), timeout=10).connector
    assert connector.name == "flytelite-serve" and leftover_fields(connector) == []
    with pytest.raises(grpc.RpcError) as raised:
        backend.metadata_stub.GetConnector(connector_pb2.GetConnectorRequest(name="other"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_flyte2_leaf_task_writes_a_cold_a0s_outputs(backend: ConnectorBackend, module_env: dict[str, str], tmp_path: Path) -> None:
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    warm.mkdir()
    inputs = int_inputs(a=3, b=4)
    meta = backend.create(a0_template("add"), inputs2(inputs), str(warm), executor_env(tmp_path / "run"), task_execution_id("f2_tasks.add"))
    outcome = backend.wait(meta)
    assert outcome.phase == Phase.SUCCEEDED and outcome.error is None, outcome
    assert outcome.outputs.literals["o0"].scalar.primitive.integer == 7
    finished = cold_a0("add", str(cold), inputs, str(tmp_path / "run"), module_env)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert (warm / "outputs.pb").read_bytes() == (cold / "outputs.pb").read_bytes()


def test_a_flyte2_task_s_error_reaches_the_backend_as_a_cold_a0s(backend: ConnectorBackend, module_env: dict[str, str], tmp_path: Path) -> None:
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    warm.mkdir()
    inputs = int_inputs(a=7)
    meta = backend.create(a0_template("boom"), inputs2(inputs), str(warm), executor_env(tmp_path / "run"), task_execution_id("f2_tasks.boom"))
    resource = backend.get(meta)
    while resource.phase not in (Phase.SUCCEEDED, Phase.FAILED, Phase.RETRYABLE_FAILED, Phase.ABORTED):
        time.sleep(0.01)
        resource = backend.get(meta)
    assert leftover_fields(resource) == []  # no Flyte 1 state nor agent_error
    outcome = backend.wait(meta)
    # It declares outputs: SUCCEEDED, and the backend reads the error document from the prefix.
    assert outcome.phase == Phase.SUCCEEDED and outcome.error is not None and "boom 7" in outcome.error["message"]
    finished = cold_a0("boom", str(cold), inputs, str(tmp_path / "run"), module_env)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert (warm / "error.pb").read_bytes() == (cold / "error.pb").read_bytes()
    assert read_prefix(str(cold)).error == outcome.error


def test_a_flytelite_task_runs_through_the_connector(backend: ConnectorBackend, tmp_path: Path) -> None:
    meta = backend.create(flytelite_template("add"), inputs2(int_inputs(a=2, b=5)), str(tmp_path / "out"), {}, task_execution_id("serve_tasks.add"))
    outcome = backend.wait(meta)
    assert outcome.phase == Phase.SUCCEEDED and outcome.error is None, outcome
    assert outcome.outputs.literals["o0"].scalar.primitive.integer == 7


def test_a_flytelite_task_s_error_reaches_the_backend_through_its_document(backend: ConnectorBackend, tmp_path: Path) -> None:
    meta = backend.create(flytelite_template("boom"), inputs2(int_inputs(a=7)), str(tmp_path / "out"), {}, task_execution_id("serve_tasks.boom"))
    outcome = backend.wait(meta)
    # A connector's Resource has no agent_error: the task declares outputs, so SUCCEEDED sends the backend to
    # the prefix, where execute's error.pb keeps the code, origin and kind (remote_file_output_reader.go).
    assert outcome.phase == Phase.SUCCEEDED and outcome.error is not None, outcome
    assert outcome.error["code"] == "USER:RuntimeError" and not outcome.error["recoverable"]
    assert outcome.error["origin"] == execution_pb2.ExecutionError.USER
    assert "ValueError: bad value 7" in outcome.error["message"]


def test_a_template_without_custom_never_reaches_the_connector(backend: ConnectorBackend, tmp_path: Path) -> None:
    # plugin.go:171-175: Flyte 2's plugin refuses a template without custom before CreateTask, so a reusable
    # flytelite task's template carries an empty one.
    template = flyte2(task_template("add"))
    assert template.HasField("custom") and not template.custom.fields
    template.ClearField("custom")
    with pytest.raises(PluginError, match="nil Struct Object passed"):
        backend.create(template, literals_pb2.LiteralMap(), str(tmp_path / "out"), {})
    assert not (tmp_path / "out").exists()


def test_a_failure_without_outputs_is_a_failed_phase_with_the_message(backend: ConnectorBackend, tmp_path: Path) -> None:
    meta = backend.create(flytelite_template("fail_without_outputs"), inputs2(int_inputs(a=3)), str(tmp_path / "out"), {}, task_execution_id("serve_tasks.fail_without_outputs"))
    outcome = backend.wait(meta)
    assert outcome.phase in (Phase.FAILED, Phase.RETRYABLE_FAILED), outcome
    assert outcome.message.startswith("failed to run the job: ") and len(outcome.message) > len("failed to run the job: ")


def test_a_second_create_for_the_same_prefix_is_the_same_attempt(backend: ConnectorBackend, tmp_path: Path) -> None:
    prefix = tmp_path / "out"
    counter = tmp_path / "runs"
    template, inputs = flytelite_template("count_runs"), inputs2(int_inputs(path=str(counter), seconds=0.5))
    first = backend.create(template, inputs, str(prefix), {}, task_execution_id("serve_tasks.count_runs"))
    second = backend.create(template, inputs, str(prefix), {}, task_execution_id("serve_tasks.count_runs"))
    assert second.resource_meta == first.resource_meta
    outcome = backend.wait(second)
    assert outcome.phase == Phase.SUCCEEDED and outcome.error is None, outcome
    assert outcome.outputs.literals["o0"].scalar.primitive.integer == 1


def test_delete_stops_a_running_attempt(backend: ConnectorBackend, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    meta = backend.create(flytelite_template("sleep_after_writing_pid"), inputs2(int_inputs(path=str(pid_file), seconds=60.0)), str(tmp_path / "out"), {}, task_execution_id("serve_tasks.sleep_after_writing_pid"))
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert pid_file.exists(), "the attempt never started"
    backend.delete(meta)
    outcome = backend.wait(meta, timeout=30)
    assert outcome.phase == Phase.ABORTED and outcome.message == "failed to run the job with aborted phase."
    backend.delete(meta)  # again, after its end: nothing to do, no error


def test_delete_of_a_resource_meta_it_never_wrote_is_ok(backend: ConnectorBackend, tmp_path: Path) -> None:
    from flyteidl2.connector import connector_pb2
    from flyteidl2.core import security_pb2

    stranger = ResourceMetaWrapper(str(tmp_path), b"not ours", connector_pb2.TaskCategory(name="actor"), security_pb2.Connection(), tasks_pb2.TaskTemplate())
    backend.delete(stranger)
