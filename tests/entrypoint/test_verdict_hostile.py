"""The verdict against a hostile task and a bad day: signal bursts, broken stderr, forks, huge or
unprintable exceptions. Every test runs the real command; each names the issue item it covers."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

from flyteidl.core import errors_pb2, execution_pb2

SYSTEM = execution_pb2.ExecutionError.ErrorKind.SYSTEM
USER = execution_pb2.ExecutionError.ErrorKind.USER
RECOVERABLE = errors_pb2.ContainerError.Kind.RECOVERABLE


def _start_sleeper(ep, proc_kw=None):
    marker = ep.tmp_path / "started"
    marker.unlink(missing_ok=True)
    ep.write_inputs(marker=str(marker), seconds=30.0)
    proc = ep.popen("ok_tasks", "sleepy", **(proc_kw or {}))
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    return proc


def test_two_sigterms_milliseconds_apart_still_leave_the_sigterm_document(ep):
    """Item 1: the second SIGTERM lands while the first one's failure path is importing the logger."""
    for run in range(4):
        ep.out = ep.tmp_path / f"out{run}"
        proc = _start_sleeper(ep)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 143, stderr
        assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"], stderr
        error = ep.read_error_document(ep.out / "error.pb").error
        assert (error.origin, error.kind) == (SYSTEM, RECOVERABLE) and "SIGTERM" in error.message


def test_a_burst_of_sigterms_and_sigints_gives_one_document(ep):
    proc = _start_sleeper(ep)
    for _ in range(20):
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode in (130, 143), stderr  # whichever the kernel delivered first
    assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"]


def _broken_stderr_run(ep, how: str):
    ep.write_inputs(how=how)
    return ep.execute("hostile_tasks", "break_stderr_then_fail")


def test_a_task_that_closes_or_drops_stderr_and_fails_still_gets_its_document(ep):
    """Item 5: the failure path used to log (to the dead stderr) before writing the document."""
    for how in ("close_fd", "close_object", "none"):
        ep.out = ep.tmp_path / f"out-{how}"
        result = _broken_stderr_run(ep, how)
        error = result.error()
        assert error.origin == USER and "failed after breaking stderr" in error.message, (how, result.describe())
        assert result.returncode == 0, (how, result.describe())


def test_a_broken_stderr_pipe_does_not_stop_the_document(ep):
    """Item 5: the reader of stderr went away (EPIPE on every write) before the task failed."""
    marker = ep.tmp_path / "running"
    ep.write_inputs(marker=str(marker))
    proc = ep.popen("hostile_tasks", "slow_then_fail")
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.02)
    proc.stderr.close()
    marker.unlink()
    proc.stdout.read()
    proc.wait(timeout=20)
    assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"]
    assert "broken stderr pipe" in ep.read_error_document(ep.out / "error.pb").error.message


def test_execute_started_with_stderr_closed_runs_and_writes_its_verdict(ep):
    """Item 5: with fd 2 closed from the start, execute used to exit 1 before running anything."""
    ep.write_inputs(a=2, b=40)
    command = ep.command("ok_tasks", "add")
    from .conftest import TASK_DIR, clean_env  # noqa: PLC0415 - the helpers of this folder

    proc = subprocess.run(command, cwd=TASK_DIR, env=clean_env(ep.tmp_path), stdout=subprocess.PIPE, preexec_fn=lambda: os.close(2), timeout=30)
    assert proc.returncode == 0
    assert ep.read_literal_map(ep.out / "outputs.pb").literals["o0"].scalar.primitive.integer == 42


def test_an_exception_whose_str_raises_is_the_users_error(ep):
    """Item 6: it became SYSTEM RECOVERABLE 'flytelite failed', and Flyte retried a user bug."""
    result = ep.execute("hostile_tasks", "raise_unprintable")
    error = result.error()
    assert error.origin == USER and error.kind != RECOVERABLE, result.describe()
    first = error.message.splitlines()[0]
    assert "raise_unprintable failed: Unprintable" in first and "__str__ raised RuntimeError" in first
    assert "flytelite failed" not in error.message


def test_a_huge_exception_message_gives_a_bounded_document(ep):
    """Item 8: a 10 MiB message made a 20 MB error.pb and a 10 MB 'one-line' summary."""
    ep.write_inputs(megabytes=10)
    result = ep.execute("hostile_tasks", "raise_huge", timeout=60)
    error = result.error()
    assert (ep.out / "error.pb").stat().st_size < (1 << 20) + 4096
    summary = error.message.splitlines()[0]
    cut_at = re.search(r"\[cut: (\d+) characters\]$", summary)
    assert len(summary) < 400 and cut_at and int(cut_at.group(1)) > (10 << 20), summary[-80:]
    assert "[... cut: the message had" in error.message
    logged = [line for line in result.logs() if "message" in line]
    assert logged and len(logged[0]["message"]) > (4 << 20) and "[... cut:" in logged[0]["message"]
    assert len(result.stderr) < (6 << 20)  # the log's own bound


def test_a_forked_child_that_raises_writes_no_second_verdict(ep):
    """Item 10: the child's copy of the pipeline wrote error.pb beside the parent's outputs.pb."""
    marker = ep.tmp_path / "parent-done"
    ep.write_inputs(marker=str(marker))
    result = ep.execute("hostile_tasks", "fork_child_raises")
    assert marker.exists(), result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.integer == 7
    assert result.files() == ["outputs.pb"]


def test_a_forked_child_that_returns_writes_nothing(ep):
    result = ep.execute("hostile_tasks", "fork_child_returns")
    assert result.outputs().literals["o0"].scalar.primitive.integer == 2
    assert result.files() == ["outputs.pb"]


def _s3_env(endpoint: str, **extra: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "not-a-real-secret", "AWS_REGION": "us-east-1", **extra}


def test_sigterm_interrupts_a_request_that_hangs_and_the_document_is_written(ep):
    """Item 4: the endpoint accepts and never answers; SIGTERM used to wait for the 10 min request timeout."""
    from hanging_server import HangingServer, terminate_while_hanging  # noqa: PLC0415 - a helper of the tests folder

    server = HangingServer()
    try:
        proc = ep.popen("ok_tasks", "add", inputs="s3://bucket/inputs.pb", env=_s3_env(server.endpoint))
        terminate_while_hanging(server, proc)
        assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"]
        assert "SIGTERM" in ep.read_error_document(ep.out / "error.pb").error.message
    finally:
        server.close()


def test_a_password_in_the_endpoint_url_appears_nowhere(ep):
    """Item 9: http://user:pass@host was copied into error.pb and the log lines."""
    password = "Pa55-in-the-url"
    env = _s3_env(f"http://flyte:{password}@127.0.0.1:1", FLYTELITE_IO_RETRY_BUDGET="1")
    result = ep.execute("ok_tasks", "add", inputs="s3://bucket/inputs.pb", env=env)
    error = result.error()
    assert "127.0.0.1:1" in error.message, error.message  # the endpoint is named, its password masked
    assert password not in error.message and password not in result.stderr and password not in result.stdout
    assert "flyte:***@" in error.message or "***@127.0.0.1" in error.message
