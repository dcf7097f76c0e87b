"""The daemon driven like a Flyte backend drives an agent: flyteidl's stubs against the real server."""

from __future__ import annotations

import concurrent.futures
import json
import os
import signal
import time
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .agent_client import LOG_LINK, int_inputs, written

Phase = execution_pb2.TaskExecution


def attempt_of(resource_meta: bytes) -> str:
    return json.loads(resource_meta)["attempt"]


def outputs_of(prefix: Path) -> literals_pb2.LiteralMap:
    return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes())


def error_of(prefix: Path) -> errors_pb2.ContainerError:
    return errors_pb2.ErrorDocument.FromString((prefix / "error.pb").read_bytes()).error


def test_create_returns_at_once_and_the_backend_reads_outputs_pb(client, tmp_path):
    prefix = tmp_path / "out"
    resource_meta = client.create(client.create_request("add", prefix, int_inputs(a=40, b=2)))
    resource = client.wait(resource_meta)
    assert resource.phase == Phase.SUCCEEDED and resource.state == agent_pb2.SUCCEEDED
    assert not resource.HasField("outputs")  # the backend reads outputs.pb from the prefix, as after a pod
    assert written(prefix) == ["outputs.pb"]
    assert outputs_of(prefix).literals["o0"].scalar.primitive.integer == 42
    [link] = resource.log_links
    assert link.name == LOG_LINK[0]
    assert link.uri.endswith(f"attempt={attempt_of(resource_meta)}&execution=exec1")


def test_a_failing_task_leaves_execute_s_error_document_and_reports_it(client, tmp_path):
    prefix = tmp_path / "out"
    resource = client.run("boom", prefix, int_inputs(a=7))
    # It declares outputs: SUCCEEDED sends the backend to the prefix, where error.pb keeps kind and origin.
    assert resource.phase == Phase.SUCCEEDED and resource.state == agent_pb2.SUCCEEDED
    error = error_of(prefix)
    assert written(prefix) == ["error.pb"]
    assert error.origin == execution_pb2.ExecutionError.USER
    assert error.kind == errors_pb2.ContainerError.NON_RECOVERABLE and error.code == "USER:RuntimeError"
    assert resource.message.endswith(error.message) and "ValueError: bad value 7" in error.message
    assert resource.agent_error.code == "USER:RuntimeError"
    assert resource.agent_error.kind == agent_pb2.AgentError.NON_RECOVERABLE
    assert resource.agent_error.origin == execution_pb2.ExecutionError.USER


def test_what_is_written_is_what_execute_writes(client, ep, tmp_path):
    """Same task, same inputs: the daemon's files equal a pod's (the deck's timings aside)."""
    for name, inputs in (("with_deck", {"a": 21}), ("boom", {"a": 3})):
        daemon_prefix = tmp_path / f"daemon-{name}"
        client.run(name, daemon_prefix, int_inputs(**inputs))
        ep.out = tmp_path / f"pod-{name}"
        ep.write_inputs(**inputs)
        result = ep.execute("serve_tasks", name)
        assert result.returncode == 0, result.describe()
        assert written(daemon_prefix) == result.files()
        if name == "with_deck":
            assert (daemon_prefix / "outputs.pb").read_bytes() == (ep.out / "outputs.pb").read_bytes()
            assert "value 21" in (daemon_prefix / "deck.html").read_text()
        else:
            daemon_error, pod_error = error_of(daemon_prefix), error_of(ep.out)
            assert (daemon_error.code, daemon_error.kind, daemon_error.origin, daemon_error.message) == (
                pod_error.code, pod_error.kind, pod_error.origin, pod_error.message
            )  # fmt: skip


def test_an_unloadable_task_and_malformed_inputs_are_user_errors_and_the_daemon_keeps_serving(client, tmp_path):
    request = client.create_request("add", tmp_path / "unloadable", int_inputs(a=1, b=2))
    args = list(request.template.container.args)
    args[args.index("add")] = "no_such_task"
    del request.template.container.args[:]
    request.template.container.args.extend(args)
    resource = client.wait(client.create(request))
    assert resource.phase == Phase.SUCCEEDED and resource.agent_error.code.startswith("USER")
    assert "could not load the task" in error_of(tmp_path / "unloadable").message
    resource = client.run("add", tmp_path / "bad-inputs", int_inputs(a="one", b=2))
    assert resource.phase == Phase.SUCCEEDED and "do not fit" in resource.message
    assert error_of(tmp_path / "bad-inputs").origin == execution_pb2.ExecutionError.USER
    assert client.run("add", tmp_path / "after", int_inputs(a=1, b=1)).phase == Phase.SUCCEEDED


def test_requests_the_daemon_cannot_run_get_a_clear_status(client, tmp_path):
    request = client.create_request("add", tmp_path / "out", int_inputs(a=1, b=2))
    request.template.type = "python-task"
    with pytest.raises(grpc.RpcError) as raised:
        client.create(request)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND and "python-task" in raised.value.details()
    execute_args = list(client.template("add").container.args)
    refused = {
        "not a flytelite execute command": ["python", "-c", "print(1)"],
        "names no code archive": ["flytelite", "fast-execute", "--additional-distribution", "{{ .remote_package_path }}", "--", *execute_args],
        "map tasks": ["flytelite", "map-execute", *execute_args[2:]],
        "names no task": execute_args[: execute_args.index("--") + 1],
    }
    for reason, args in refused.items():
        request = client.create_request("add", tmp_path / "out", int_inputs(a=1, b=2))
        del request.template.container.args[:]
        request.template.container.args.extend(args)
        with pytest.raises(grpc.RpcError) as raised:
            client.create(request)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and reason in raised.value.details()
    with pytest.raises(grpc.RpcError) as raised:
        client.get(b"no-such-attempt")
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not written by flytelite serve" in raised.value.details()
    assert not (tmp_path / "out").exists()


def test_delete_stops_a_sleeping_task_with_execute_s_sigterm_document(client, tmp_path):
    prefix = tmp_path / "out"
    resource_meta = client.create(client.create_request("sleepy", prefix, int_inputs(seconds=60.0)))
    deadline = time.monotonic() + 30
    while client.get(resource_meta).phase != Phase.RUNNING:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.2)  # inside time.sleep
    client.delete(resource_meta)
    resource = client.wait(resource_meta, timeout=30)  # well before the 60 s nap's end
    assert resource.phase == Phase.ABORTED
    error = error_of(prefix)
    # execute's document: SIGTERM ended it (after the grace's SIGKILL the pool writes "cancelled: the worker was killed...")
    assert error.code == "SYSTEM" and error.kind == errors_pb2.ContainerError.RECOVERABLE and "Terminated" in error.message
    assert error.origin == execution_pb2.ExecutionError.SYSTEM
    assert client.run("add", tmp_path / "after", int_inputs(a=2, b=2)).phase == Phase.SUCCEEDED


@pytest.mark.parametrize(("name", "inputs", "how"), [("crash", {"code": 3}, "exited with status 3"), ("segfault", {}, "killed by SIGSEGV")])
def test_a_crashing_worker_is_replaced_and_its_attempt_is_a_recoverable_system_error(client, tmp_path, name, inputs, how):
    prefix = tmp_path / "crash"
    resource = client.run(name, prefix, int_inputs(**inputs))
    assert resource.phase == Phase.SUCCEEDED  # it declares outputs: the backend reads error.pb (test_serve_cluster.py)
    assert how in resource.message
    assert resource.agent_error.kind == agent_pb2.AgentError.RECOVERABLE
    assert resource.agent_error.origin == execution_pb2.ExecutionError.SYSTEM
    error = error_of(prefix)
    assert error.code == "SYSTEM" and error.kind == errors_pb2.ContainerError.RECOVERABLE and how in error.message
    for index in range(4):  # both workers serve again
        resource = client.run("add", tmp_path / f"after{index}", int_inputs(a=index, b=1))
        assert resource.phase == Phase.SUCCEEDED
        assert outputs_of(tmp_path / f"after{index}").literals["o0"].scalar.primitive.integer == index + 1


def test_200_concurrent_requests_each_get_the_right_verdict(client, tmp_path):
    def one(index: int) -> tuple[int, int, int | None]:
        prefix = tmp_path / f"r{index}"
        name = "boom" if index % 7 == 0 else "add"
        inputs = int_inputs(a=index) if name == "boom" else int_inputs(a=index, b=index)
        resource = client.wait(client.create(client.create_request(name, prefix, inputs, execution=f"exec{index}")), poll=0.005)
        value = outputs_of(prefix).literals["o0"].scalar.primitive.integer if (prefix / "outputs.pb").exists() else None
        return index, resource.phase, value

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as executor:
        results = list(executor.map(one, range(200)))
    for index, phase, value in results:
        assert phase == Phase.SUCCEEDED  # outputs declared: the verdict is under the prefix
        if index % 7 == 0:
            assert f"bad value {index}" in error_of(tmp_path / f"r{index}").message
            assert not (tmp_path / f"r{index}" / "outputs.pb").exists()
        else:
            assert value == 2 * index
            assert not (tmp_path / f"r{index}" / "error.pb").exists()


def test_execute_task_sync_answers_with_the_outputs(client, tmp_path):
    resource = client.execute_sync(client.create_request("add", tmp_path / "ok", int_inputs(a=5, b=6)))
    assert resource.phase == Phase.SUCCEEDED and resource.outputs.literals["o0"].scalar.primitive.integer == 11
    assert outputs_of(tmp_path / "ok") == resource.outputs
    resource = client.execute_sync(client.create_request("boom", tmp_path / "bad", int_inputs(a=5)))
    assert resource.phase == Phase.SUCCEEDED and "bad value 5" in resource.message and not resource.HasField("outputs")
    assert "bad value 5" in error_of(tmp_path / "bad").message  # no outputs in the answer: the backend reads the prefix


def test_a_sync_client_that_goes_away_cancels_its_attempt(client, daemon, tmp_path):
    prefix = tmp_path / "gone"
    with pytest.raises(grpc.RpcError) as raised:
        client.execute_sync(client.create_request("sleepy", prefix, int_inputs(seconds=60.0)), timeout=1.5)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    deadline = time.monotonic() + 30
    while not (prefix / "error.pb").exists():
        assert time.monotonic() < deadline, "the abandoned attempt was not cancelled"
        time.sleep(0.05)
    assert "Terminated" in error_of(prefix).message
    assert client.run("add", tmp_path / "after", int_inputs(a=1, b=2)).phase == Phase.SUCCEEDED


def test_list_agents_get_agent_and_health(client, daemon):
    [agent, sync_agent] = client.metadata_stub.ListAgents(agent_pb2.ListAgentsRequest(), timeout=10).agents
    assert agent.name == "flytelite-serve" and not agent.is_sync
    assert [(c.name, c.version) for c in agent.supported_task_categories] == [("flytelite-reusable", 0)]
    assert sync_agent.name == "flytelite-serve-sync" and sync_agent.is_sync
    assert [(c.name, c.version) for c in sync_agent.supported_task_categories] == [("flytelite-reusable-sync", 0)]
    for listed in (agent, sync_agent):
        assert client.metadata_stub.GetAgent(agent_pb2.GetAgentRequest(name=listed.name), timeout=10).agent == listed
    with pytest.raises(grpc.RpcError) as raised:
        client.metadata_stub.GetAgent(agent_pb2.GetAgentRequest(name="other"), timeout=10)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    health = health_pb2_grpc.HealthStub(client.channel)
    for service in ("", "flyteidl.service.AsyncAgentService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING


def test_structured_logs_carry_each_attempt_s_identity(client, daemon, tmp_path):
    metas = [
        client.create(client.create_request("add", tmp_path / "ok", int_inputs(a=1, b=2), execution="exec-logged")),
        client.create(client.create_request("boom", tmp_path / "bad", int_inputs(a=1), execution="exec-failed")),
    ]
    for resource_meta in metas:
        client.wait(resource_meta)
    ok, failed = map(attempt_of, metas)
    deadline = time.monotonic() + 30
    while len([e for e in daemon.logs() if e.get("attempt") in (ok, failed)]) < 3:
        assert time.monotonic() < deadline, [e for e in daemon.logs() if e.get("attempt") in (ok, failed)]
        time.sleep(0.02)
    [finished] = [e for e in daemon.logs() if e.get("attempt") == ok]
    assert (finished["event"], finished["execution"], finished["task"]) == ("attempt finished", "exec-logged", "serve_tasks.add")
    lines = {e["event"]: e for e in daemon.logs() if e.get("attempt") == failed}
    assert set(lines) == {"task failed", "attempt failed"}  # the worker's line and the server's
    assert all(line["execution"] == "exec-failed" for line in lines.values())
    assert "bad value 1" in lines["task failed"]["error"]


def test_a_worker_killed_like_the_oom_killer_running_or_idle_is_replaced(client, tmp_path):
    pid_file = tmp_path / "pid"
    resource_meta = client.create(client.create_request("sleep_after_writing_pid", tmp_path / "killed", int_inputs(path=str(pid_file), seconds=60.0)))
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    resource = client.wait(resource_meta)
    assert resource.phase == Phase.SUCCEEDED and "killed by SIGKILL (out of memory?)" in resource.message
    assert error_of(tmp_path / "killed").code == "SYSTEM"
    for index in range(6):  # between attempts: the attempt it is handed next runs elsewhere, not lost
        client.run("count_calls", tmp_path / f"idle{index}")
        os.kill(outputs_of(tmp_path / f"idle{index}").literals["o1"].scalar.primitive.integer, signal.SIGKILL)
        resource = client.run("add", tmp_path / f"after{index}", int_inputs(a=index, b=0))
        assert resource.phase == Phase.SUCCEEDED, resource.message
