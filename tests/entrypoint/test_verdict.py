"""The verdict of an attempt: its files, the one check of whether one is committed, the scope of its deadline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flytelite.entrypoint.serve.pool import AttemptState, WorkerPool
from flytelite.entrypoint.serve.request import AttemptSpec

TASK_DIR = Path(__file__).parent / "task_modules"

# One attempt in a process that goes on afterwards (a serve worker, `flytelite run`): the task is
# interrupted, so the failure sets the terminated attempt's storage deadline (1 s here); a storage
# call made after the attempt, once that second has passed, must still work (a folder of many files:
# a call that takes a while, so that a passed deadline would give it up).
AFTER_AN_INTERRUPTED_ATTEMPT = """
import os, sys, time
os.environ["FLYTELITE_TERMINATION_GRACE_S"] = "1"
sys.path.insert(0, sys.argv[1])
from flytelite import io
from flytelite.entrypoint.pipeline import ExecuteArgs, execute

io.write_bytes("memory://attempt/inputs.pb", b"")
loader = ("task-module", "interrupted_tasks", "task-name", "interrupted")
status = execute(ExecuteArgs("memory://attempt/inputs.pb", "memory://attempt/out", "memory://attempt/raw", loader_args=loader))
print("status", status, "error.pb", io.exists("memory://attempt/out/error.pb"), flush=True)
time.sleep(1.5)
os.makedirs("later")
for index in range(300):
    with open(f"later/{index}.txt", "w") as f:
        f.write("written after the attempt")
io.put_dir("later", "memory://attempt/later")
print("later", io.read_bytes("memory://attempt/later/299.txt").decode())
"""


def test_the_storage_deadline_of_a_terminated_attempt_ends_with_the_attempt(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", AFTER_AN_INTERRUPTED_ATTEMPT, str(TASK_DIR)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert "status 130 error.pb True" in result.stdout, result.stderr
    assert result.returncode == 0 and "later written after the attempt" in result.stdout, result.stderr


@pytest.mark.parametrize("verdict_file", ["outputs.pb", "error.pb", "error-5f0c2a9e1b7d4c3e8a6f0b1d2c3e4f5a.pb", "futures.pb"])
def test_a_dead_workers_document_is_not_written_over_a_committed_verdict(tmp_path, verdict_file):
    """The worker wrote its verdict, then died: the daemon adds no second one (whatever the file's name)."""
    prefix = tmp_path / "out"
    prefix.mkdir()
    (prefix / verdict_file).write_bytes(b"the worker's verdict")
    pool = WorkerPool(1, [])
    state = AttemptState(AttemptSpec("attempt-1", {"output_prefix": str(prefix)}, b"", {}, False))
    pool.inflight, pool.attempts["attempt-1"] = 1, state
    pool.worker_died(state, -9)
    assert sorted(p.name for p in prefix.iterdir()) == [verdict_file]
    assert state.phase == "RETRYABLE_FAILED"


def test_a_dead_workers_document_is_written_when_there_is_no_verdict(tmp_path):
    prefix = tmp_path / "out"
    pool = WorkerPool(1, [])
    state = AttemptState(AttemptSpec("attempt-1", {"output_prefix": str(prefix)}, b"", {}, False))
    pool.inflight, pool.attempts["attempt-1"] = 1, state
    pool.worker_died(state, -9)
    assert [p.name for p in prefix.iterdir()] == ["error.pb"]


@pytest.mark.parametrize("where", ["local", "memory", "s3", "azure"])
def test_committed_knows_every_verdict_file_and_only_those(request, tmp_path, where):
    from flytelite import io
    from flytelite.entrypoint import verdict

    base = {"local": str(tmp_path), "memory": f"memory://verdict-{tmp_path.name}"}.get(where)
    if where == "s3":
        base = f"s3://{request.getfixturevalue('s3_bucket')}"
    elif where == "azure":
        base = f"abfs://{request.getfixturevalue('azure_container')}"
    assert not verdict.committed(f"{base}/never-written")
    io.write_bytes(f"{base}/out/deck.html", b"<html/>")  # a report, not a verdict
    io.write_bytes(f"{base}/out/o0_offloaded_metadata.pb", b"")
    io.write_bytes(f"{base}/out/sub/outputs.pb", b"")  # a file of a folder below: not this attempt's
    assert not verdict.committed(f"{base}/out")
    for index, name in enumerate(["outputs.pb", "error.pb", "error-0a1b2c3d4e5f60718293a4b5c6d7e8f9.pb", "futures.pb"]):
        io.write_bytes(f"{base}/v{index}/{name}", b"")
        assert verdict.committed(f"{base}/v{index}"), name


def test_the_error_file_name_follows_the_distributed_error_strategy():
    from flytelite.entrypoint import verdict

    from flytelite.entrypoint.settings import AttemptSettings

    def name(environ):
        return verdict.error_file_name(AttemptSettings.from_environ(environ))

    assert name({}) == "error.pb"
    first, second = name({"FLYTE_INTERNAL_DIST_ERROR_STRATEGY": "EARLIEST"}), name({"_F_DES": "1"})
    assert first != second and all(verdict.is_verdict_file(name) and name.startswith("error-") for name in (first, second))


def test_read_tells_a_success_from_a_failure_and_keeps_the_failure_s_origin_and_kind(tmp_path):
    from flytelite import io
    from flytelite.entrypoint import verdict
    from flytelite.entrypoint.errors import classify
    from flytelite.entrypoint.settings import AttemptSettings
    from flytelite.support.exceptions import TerminatedError

    assert verdict.read(str(tmp_path / "never-written")) == (False, None)
    io.write_bytes(str(tmp_path / "only-a-deck" / "deck.html"), b"<html/>")
    assert verdict.read(str(tmp_path / "only-a-deck")) == (False, None)
    for name in ("outputs.pb", "futures.pb"):
        io.write_bytes(str(tmp_path / name / name), b"")
        assert verdict.read(str(tmp_path / name)) == (True, None), name
    failure = classify(TerminatedError("SIGTERM"))  # recoverable, SYSTEM
    for strategy in ({}, {"FLYTE_INTERNAL_DIST_ERROR_STRATEGY": "EARLIEST"}):  # error.pb, then error-<hex>.pb
        failed = str(tmp_path / f"failed-{len(strategy)}")
        verdict.write_error(failed, failure, AttemptSettings.from_environ(strategy))
        committed, fields = verdict.read(failed)
        assert committed and fields == failure.to_fields() and fields["origin"] == "SYSTEM" and fields["recoverable"] is True
