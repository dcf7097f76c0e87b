"""Warm workers: what persists between attempts, recycling, load limits, bad preloads, secrets, S3."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2

from .agent_client import TASK_DIR, AgentClient, int_inputs, task_template
from .test_serve_protocol import written

Phase = execution_pb2.TaskExecution


def output(prefix, name: str = "o0") -> literals_pb2.Literal:
    return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes()).literals[name]


def test_module_state_persists_in_a_worker_until_it_is_recycled(start_daemon, tmp_path):
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", "--recycle-after", "3")
    client = AgentClient(daemon.port)
    seen = []
    for index in range(4):
        prefix = tmp_path / f"c{index}"
        assert client.run("count_calls", prefix).phase == Phase.SUCCEEDED
        seen.append((output(prefix, "o0").scalar.primitive.integer, output(prefix, "o1").scalar.primitive.integer))
    counts, pids = [count for count, _ in seen], [pid for _, pid in seen]
    assert counts == [1, 2, 3, 1]  # globals persist; the fourth attempt ran in a fresh worker
    assert pids[0] == pids[1] == pids[2] != pids[3]
    client.close()


def test_each_attempt_gets_its_own_environment_and_the_daemon_s_working_directory(client, tmp_path):
    assert client.run("set_env_and_chdir", tmp_path / "dirty").phase == Phase.SUCCEEDED
    for _ in range(2):  # whichever worker ran it, nothing is left behind
        client.run("env_value", tmp_path / "clean", int_inputs(name="LEFT_BEHIND"))
        assert output(tmp_path / "clean").scalar.primitive.string_value == "<unset>"
    client.run("env_value", tmp_path / "given", int_inputs(name="MY_SETTING"), env={"MY_SETTING": "from the execution"})
    assert output(tmp_path / "given").scalar.primitive.string_value == "from the execution"
    client.run("env_value", tmp_path / "identity", int_inputs(name="FLYTE_INTERNAL_EXECUTION_ID"), execution="exec-42")
    assert output(tmp_path / "identity").scalar.primitive.string_value == "exec-42"
    for index in range(2):
        client.run("working_directory", tmp_path / f"cwd{index}")
        assert output(tmp_path / f"cwd{index}").scalar.primitive.string_value == str(TASK_DIR)


def test_attempts_beyond_the_workers_wait_in_the_queue_with_their_position(start_daemon, tmp_path):
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", "--cancel-grace", "2")
    client = AgentClient(daemon.port)
    running = client.create(client.create_request("sleepy", tmp_path / "a", int_inputs(seconds=60.0)))
    queued = client.create(client.create_request("sleepy", tmp_path / "b", int_inputs(seconds=60.0)))
    third = client.create(client.create_request("add", tmp_path / "c", int_inputs(a=1, b=2)))
    while client.get(running).phase != Phase.RUNNING:
        time.sleep(0.01)
    waiting = [client.get(meta) for meta in (queued, third)]
    assert [resource.phase for resource in waiting] == [Phase.WAITING_FOR_RESOURCES] * 2
    assert ["position 1 in the queue" in waiting[0].message, "position 2 in the queue" in waiting[1].message] == [True, True]
    client.delete(queued)
    assert client.wait(queued).phase == Phase.ABORTED
    assert written(tmp_path / "b") == []  # it never started: nothing written, as for a pod deleted before it ran
    client.delete(running)
    assert client.wait(running).phase == Phase.ABORTED
    assert client.wait(third).phase == Phase.SUCCEEDED
    client.close()


def test_a_preload_that_does_not_import_stops_the_daemon_with_a_clear_message(module_env):
    result = subprocess.run(
        [sys.executable, "-m", "flytelite", "serve", "--port", "0", "--preload", "no_such_module_here"],
        cwd=TASK_DIR, env=module_env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot import no_such_module_here" in result.stderr and "Traceback" not in result.stderr


def test_credentials_stay_out_of_answers_and_logs(start_daemon, tmp_path):
    secret = "wJalrXUtnFEMI-serve-secret-K7MDENG"
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", env={"AWS_SECRET_ACCESS_KEY": secret, "FLYTELITE_LOG_LEVEL": "debug"})
    client = AgentClient(daemon.port)
    resource = client.run("leak", tmp_path / "out")
    assert resource.phase == Phase.SUCCEEDED and "failed with key" in resource.message  # outputs declared: see error.pb
    error = (tmp_path / "out" / "error.pb").read_bytes()
    assert secret not in resource.message and secret.encode() not in error
    client.close()
    daemon.stop()
    assert any("failed with key" in line for line in daemon.lines)
    assert not any(secret in line for line in daemon.lines)


def test_inputs_outputs_and_errors_on_s3(start_daemon, s3_bucket, s3_env):
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", env=s3_env)
    client = AgentClient(daemon.port)
    from flytelite import io

    prefix = f"s3://{s3_bucket}/exec/n0/0"
    assert client.run("add", prefix, int_inputs(a=2, b=3)).phase == Phase.SUCCEEDED
    assert literals_pb2.LiteralMap.FromString(io.read_bytes(f"{prefix}/outputs.pb")).literals["o0"].scalar.primitive.integer == 5
    assert client.run("crash", f"s3://{s3_bucket}/exec/n1/0", int_inputs(code=9)).phase == Phase.SUCCEEDED
    assert io.exists(f"s3://{s3_bucket}/exec/n1/0/error.pb")  # written by the daemon for the dead worker
    client.close()


def test_reusable_tasks_serialize_with_the_daemon_s_task_type_and_the_execute_command():
    template = task_template("add")
    assert template.type == "flytelite-reusable"
    args = list(template.container.args)
    assert args[:2] == ["flytelite", "execute"] and args[-4:] == ["task-module", "serve_tasks", "task-name", "add"]
    from flytelite import Elastic, task

    with pytest.raises(ValueError, match="reusable=True"):
        task(reusable=True, task_config=Elastic(nnodes=2))(lambda: None)
    assert task_template("add_sync").type == "flytelite-reusable-sync" and task_template("add_sync").container.args == template.container.args[:-1] + ["add_sync"]
    with pytest.raises(ValueError, match="add reusable=True"):
        task(sync=True)(lambda: None)


def test_execute_does_not_import_grpc(ep):
    ep.write_inputs(a=1, b=2)
    command = ep.command("ok_tasks", "add")
    result = ep.run([command[0], "-X", "importtime", *command[1:]])
    assert result.returncode == 0, result.describe()
    imported = [line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert "flytelite.entrypoint.pipeline" in imported
    assert not [name for name in imported if name.split(".")[0] in ("grpc", "grpc_health") or ".serve" in name]


def test_sigterm_to_the_daemon_stops_running_attempts_with_execute_s_document(start_daemon, tmp_path):
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", "--cancel-grace", "5", "--drain-grace", "1")
    client = AgentClient(daemon.port)
    resource_meta = client.create(client.create_request("sleepy", tmp_path / "running", int_inputs(seconds=60.0)))
    client.create(client.create_request("add", tmp_path / "queued", int_inputs(a=1, b=2)))
    while client.get(resource_meta).phase != Phase.RUNNING:
        time.sleep(0.01)
    time.sleep(0.3)  # inside the task, past the moment its SIGTERM handler is installed
    client.close()
    assert daemon.stop(timeout=20) == 0
    for name in ("running", "queued"):  # the queued one never started: it gets the same document
        error = errors_pb2.ErrorDocument.FromString((tmp_path / name / "error.pb").read_bytes()).error
        assert "Terminated" in error.message and error.kind == errors_pb2.ContainerError.RECOVERABLE


def test_attempts_leave_no_scratch_folder_behind(start_daemon, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", env={"TMPDIR": str(scratch)})
    client = AgentClient(daemon.port)
    assert client.run("add", tmp_path / "ok", int_inputs(a=1, b=2)).phase == Phase.SUCCEEDED
    assert client.run("fail_without_outputs", tmp_path / "bad", int_inputs(a=1)).phase == Phase.FAILED
    deadline = time.monotonic() + 30
    while [p for p in scratch.iterdir() if p.name.startswith("flytelite-")]:  # removed once the verdict is reported
        assert time.monotonic() < deadline, sorted(p.name for p in scratch.iterdir())
        time.sleep(0.02)
    client.close()


HELD_SIGTERM_SCRIPT = """
import os, signal, sys, threading, time
from flytelite.entrypoint.pipeline import Attempt, ExecuteArgs, run_to_verdict
from flytelite.entrypoint.signals import hold_sigterm

out, inputs, bystander = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3] == "bystander"
if bystander:  # a thread started during an earlier attempt (a storage client's runtime): SIGTERM not blocked in it
    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
hold_sigterm()  # as a worker does between attempts

def attempt(prefix):
    args = ExecuteArgs(inputs="the request's inputs", output_prefix=prefix, raw_output_data_prefix=prefix + "-raw",
                       loader_args=("task-module", "serve_tasks", "task-name", "add"))
    started = Attempt(args)
    started.input_bytes = inputs
    return started

os.kill(os.getpid(), signal.SIGTERM)  # sent as the worker takes the attempt, before any handler of the task's
print(run_to_verdict(attempt(out + "/held")))
hold_sigterm()
print(run_to_verdict(attempt(out + "/next")))
os.kill(os.getpid(), signal.SIGTERM)  # late: its attempt has its verdict
hold_sigterm()
print(run_to_verdict(attempt(out + "/after-late")))
"""


@pytest.mark.parametrize("threads", ["main only", "bystander"])
def test_a_sigterm_sent_as_an_attempt_begins_is_held_until_the_pipeline_records_it(module_env, tmp_path, threads):
    # With a bystander thread the kernel hands it the SIGTERM the main thread blocks.
    inputs = int_inputs(a=1, b=2).SerializeToString().hex()
    result = subprocess.run([sys.executable, "-c", HELD_SIGTERM_SCRIPT, str(tmp_path), inputs, threads], cwd=TASK_DIR, env=module_env, capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["143", "0", "0"], result.stdout + result.stderr
    error = errors_pb2.ErrorDocument.FromString((tmp_path / "held" / "error.pb").read_bytes()).error
    assert "Terminated" in error.message and error.kind == errors_pb2.ContainerError.RECOVERABLE
    assert sorted(os.listdir(tmp_path / "next")) == ["outputs.pb"] and sorted(os.listdir(tmp_path / "after-late")) == ["outputs.pb"]
