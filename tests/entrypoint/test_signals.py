"""Black-box: SIGTERM, SIGUSR1 and the task's own timeout, on the real process."""

from __future__ import annotations

import signal
import time

from flyteidl.core import errors_pb2, execution_pb2

SYSTEM = execution_pb2.ExecutionError.ErrorKind.SYSTEM
USER = execution_pb2.ExecutionError.ErrorKind.USER
RECOVERABLE = errors_pb2.ContainerError.Kind.RECOVERABLE


def _start_sleeper(ep, seconds: float):
    marker = ep.tmp_path / "started"
    ep.write_inputs(marker=str(marker), seconds=seconds)
    proc = ep.popen("ok_tasks", "sleepy")
    deadline = time.monotonic() + 20
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"the task did not start (rc={proc.returncode}):\n{err}")
        time.sleep(0.05)
    return proc


def test_sigterm_leaves_a_recoverable_system_error_and_exits_143(ep):
    proc = _start_sleeper(ep, 30)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 143, stderr
    assert time.monotonic() - sent < 10  # did not sleep on to the end
    assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"]
    error = ep.read_error_document(ep.out / "error.pb").error
    assert (error.origin, error.kind, error.code) == (SYSTEM, RECOVERABLE, "SYSTEM")
    assert "terminated" in error.message.lower() and "SIGTERM" in error.message


def test_sigusr1_dumps_stacks_and_the_task_goes_on(ep):
    proc = _start_sleeper(ep, 1.5)
    proc.send_signal(signal.SIGUSR1)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "most recent call first" in stderr  # faulthandler's dump
    assert "ok_tasks.py" in stderr and "in sleepy" in stderr
    outputs = ep.read_literal_map(ep.out / "outputs.pb")
    assert outputs.literals["o0"].scalar.primitive.integer == 42
    assert not (ep.out / "error.pb").exists()


def test_task_timeout_stops_the_task(ep):
    started = time.monotonic()
    result = ep.execute("ok_tasks", "too_slow")
    assert time.monotonic() - started < 10, "the 30 s sleep was not interrupted"
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert error.origin == USER
    # a timed-out attempt may be retried (the task's retries apply)
    assert error.kind == RECOVERABLE and error.code == "USER:Timeout"
    first = error.message.splitlines()[0]
    assert "timeout" in first and "0:00:01" in first



def test_sigint_is_recorded_like_a_termination_and_exits_130(ep):
    proc = _start_sleeper(ep, 30)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130, stderr
    assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"]
    error = ep.read_error_document(ep.out / "error.pb").error
    assert (error.origin, error.kind, error.code) == (SYSTEM, RECOVERABLE, "SYSTEM")
    assert "terminated by SIGINT" in error.message
