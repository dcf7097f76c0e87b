"""Black-box: elastic tasks through ``python -m flytelite execute`` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

from flyteidl.core import errors_pb2, execution_pb2, literals_pb2  # noqa: E402

HERE = Path(__file__).parent


def _inputs(tmp_path: Path, x: float) -> Path:
    literal_map = literals_pb2.LiteralMap()
    literal_map.literals["x"].scalar.primitive.float_value = x
    path = tmp_path / "inputs.pb"
    path.write_bytes(literal_map.SerializeToString())
    return path


def _execute(tmp_path: Path, task_name: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "flytelite", "execute",
        "--inputs", str(_inputs(tmp_path, 1.0)),
        "--output-prefix", str(tmp_path / "out"),
        "--raw-output-data-prefix", str(tmp_path / "raw"),
        "--", "task-module", "torch_tasks", "task-name", task_name,
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=HERE, env={**os.environ, **(env or {})})


def _error_document(tmp_path: Path) -> errors_pb2.ErrorDocument:
    document = errors_pb2.ErrorDocument()
    document.ParseFromString((tmp_path / "out" / "error.pb").read_bytes())
    return document


@pytest.mark.parametrize("task_name", ["allreduce_task", "allreduce_fork_task"])
def test_rank_0_result_becomes_outputs_pb(tmp_path: Path, task_name: str) -> None:
    assert _execute(tmp_path, task_name).wait(timeout=120) == 0
    outputs = literals_pb2.LiteralMap()
    outputs.ParseFromString((tmp_path / "out" / "outputs.pb").read_bytes())
    assert outputs.literals["o0"].scalar.primitive.float_value == 3.0
    assert not (tmp_path / "out" / "error.pb").exists()


def test_failed_worker_becomes_error_pb_naming_the_rank(tmp_path: Path) -> None:
    assert _execute(tmp_path, "failing_task").wait(timeout=120) == 0
    error = _error_document(tmp_path).error
    assert error.message.startswith("torch elastic worker rank 1 failed: ValueError: boom from rank 1")
    assert 'raise ValueError(f"boom from rank {failing_rank}")' in error.message
    assert error.kind == errors_pb2.ContainerError.Kind.NON_RECOVERABLE
    assert not (tmp_path / "out" / "outputs.pb").exists()


def test_sigterm_stops_workers_and_leaves_a_recoverable_system_error(tmp_path: Path) -> None:
    process = _execute(tmp_path, "waiting_task", {"PID_DIR": str(tmp_path)})
    pid_files = [tmp_path / "rank-0.pid", tmp_path / "rank-1.pid"]
    deadline = time.monotonic() + 60
    while not all(p.exists() and p.read_text() for p in pid_files):
        assert time.monotonic() < deadline and process.poll() is None, "workers did not start"
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 143
    error = _error_document(tmp_path).error
    assert error.kind == errors_pb2.ContainerError.Kind.RECOVERABLE
    assert error.origin == execution_pb2.ExecutionError.ErrorKind.SYSTEM
    assert error.code == "SYSTEM"
    for pid_file in pid_files:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)
