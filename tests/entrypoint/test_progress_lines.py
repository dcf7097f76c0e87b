"""The storage layer's progress lines reach the log from the start of a run, not only once the task runs.

Progress is reported every few seconds of a transfer; the runs here report at every chunk
(``REPORT_EVERY_S = 0`` set before the command starts), so that a small transfer on SeaweedFS shows
whether the lines of the input download and of fast-execute's archive download are written.
"""

from __future__ import annotations

import sys
from pathlib import Path

from flytelite.types import encode_map

from .test_fast_execute import fast_command_on_s3

# The `flytelite` command, with progress reported at every chunk.
REPORT_ALWAYS = [
    sys.executable,
    "-c",
    "import flytelite.io._progress as progress; progress.REPORT_EVERY_S = 0.0\n"
    "from flytelite.entrypoint.cli import main; main()",
]


def _progress_lines(result, uri: str) -> list[dict]:
    return [line for line in result.logs() if line.get("logger") == "flytelite.io" and uri in line.get("event", "")]


def test_the_input_download_is_reported(ep, s3_bucket, s3_env):
    from flytelite import io

    prefix = f"s3://{s3_bucket}/run"
    io.write_bytes(f"{prefix}/inputs.pb", encode_map({"a": 1, "b": 2}, {"a": int, "b": int}).SerializeToString())
    command = REPORT_ALWAYS + ep.command("ok_tasks", "add", inputs=f"{prefix}/inputs.pb")[3:]
    result = ep.run(command, env=s3_env)
    assert result.returncode == 0, result.describe()
    lines = _progress_lines(result, f"{prefix}/inputs.pb")
    assert lines and lines[0]["event"].startswith("downloading") and lines[0]["level"] == "info", result.describe()


def test_the_fast_execute_archive_download_is_reported(ep, tmp_path: Path, s3_bucket, s3_env):
    command, archive, _ = fast_command_on_s3(ep, tmp_path, s3_bucket)
    result = ep.run(REPORT_ALWAYS + command[1:], env=s3_env, cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    lines = _progress_lines(result, archive)
    assert lines and lines[0]["event"].startswith("downloading") and lines[0]["level"] == "info", result.describe()
