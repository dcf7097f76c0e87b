"""Logging: the attempt's identity is bound for the attempt only; tests read records through ``capture``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from flytelite.support.logs import capture, get_logger, identity_scope

TASK_DIR = Path(__file__).resolve().parents[1] / "entrypoint" / "task_modules"


def test_an_identity_bound_in_a_scope_ends_with_it(monkeypatch):
    monkeypatch.setenv("FLYTELITE_LOG_LEVEL", "info")
    log = get_logger("t")
    with capture() as records:
        with identity_scope(attempt="a-1"):
            log.info("inside", n=1)
            with identity_scope(execution="e-1"):
                log.info("nested")
            log.info("after nested")
        log.info("outside")
    assert [(r["event"], r.get("attempt"), r.get("execution")) for r in records] == [
        ("inside", "a-1", None), ("nested", "a-1", "e-1"), ("after nested", "a-1", None), ("outside", None, None),
    ]  # fmt: skip
    assert records[0]["n"] == 1 and records[0]["level"] == "info" and records[0]["logger"] == "t"


def test_captured_records_are_redacted(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "Zq8-captured-secret")
    with capture() as records:
        get_logger("t").warning("failed with Zq8-captured-secret", detail="key Zq8-captured-secret")
    assert records[0]["event"] == "failed with ***" and records[0]["detail"] == "key ***"


# Two attempts of one warm worker, run as serve's worker runs them, with a line logged between them.
TWO_ATTEMPTS = """
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
from flytelite.entrypoint.pipeline import Attempt, ExecuteArgs
from flytelite.entrypoint.serve.request import AttemptSpec
from flytelite.entrypoint.serve.worker import run_spec
from flytelite.support.logs import capture, get_logger
from flytelite.types import encode_map

inputs = encode_map({"a": 1}, {"a": int}).SerializeToString()
loader = ("task-module", "failing_tasks", "task-name", "boom")
with capture() as records:
    for n in (1, 2):
        environ = {"FLYTE_INTERNAL_EXECUTION_ID": f"exec-{n}", "FLYTE_INTERNAL_TASK_NAME": f"task-{n}"}
        options = {"inputs": "unused", "output_prefix": tempfile.mkdtemp(), "raw_output_data_prefix": tempfile.mkdtemp(), "loader_args": loader}
        spec = AttemptSpec(f"attempt-{n}", options, inputs, environ, False)
        attempt = Attempt(ExecuteArgs(**spec.options))
        attempt.input_bytes = spec.input_bytes
        run_spec(spec, attempt, dict(os.environ), os.getcwd())
        get_logger("worker").info("between attempts")
print(json.dumps(records))
"""


def test_a_warm_workers_attempts_do_not_share_their_identity(tmp_path):
    result = subprocess.run([sys.executable, "-c", TWO_ATTEMPTS, str(TASK_DIR)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = json.loads(result.stdout.splitlines()[-1])
    failed = [(r.get("attempt"), r.get("execution"), r.get("task")) for r in records if r["event"] == "task failed"]
    assert failed == [("attempt-1", "exec-1", "task-1"), ("attempt-2", "exec-2", "task-2")]
    between = [r for r in records if r["event"] == "between attempts"]
    assert len(between) == 2 and all(not {"attempt", "execution", "task"} & set(r) for r in between)
