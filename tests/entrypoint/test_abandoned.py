"""What a SIGKILLed attempt leaves behind is removed by a later attempt, and nothing of a live one."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from hanging_server import HangingServer

from flytelite.types import encode_map

from .test_fast_execute import _code_archive, _fast_command
from .test_fast_execute_hostile import _env


def _start_sleeper(ep, name: str) -> subprocess.Popen[str]:
    marker = ep.tmp_path / name
    ep.write_inputs(marker=str(marker), seconds=60)
    proc = ep.popen("ok_tasks", "sleepy")
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert proc.poll() is None and time.monotonic() < deadline, f"the task did not start: {proc.communicate()}"
        time.sleep(0.05)
    return proc


def _attempt_folders(ep) -> set[str]:
    return {p.name for p in (ep.tmp_path / "tmpdir").glob("flytelite-*")}


def test_a_sigkilled_attempts_scratch_folder_is_removed_by_the_next_attempt(ep):
    alive = _start_sleeper(ep, "alive")
    try:
        alive_folders = _attempt_folders(ep)
        killed = _start_sleeper(ep, "killed")
        killed_folders = _attempt_folders(ep) - alive_folders
        killed.send_signal(signal.SIGKILL)
        killed.communicate(timeout=30)
        assert len(alive_folders) == 1 and len(killed_folders) == 1
        assert _attempt_folders(ep) == alive_folders | killed_folders  # SIGKILL: nothing could clean up

        ep.write_inputs(marker=str(ep.tmp_path / "next"), seconds=0)
        result = ep.execute("ok_tasks", "sleepy")
        assert result.outputs().literals["o0"].scalar.primitive.integer == 42
        assert _attempt_folders(ep) == alive_folders  # the dead one's gone, the live one's kept
    finally:
        alive.kill()
        alive.communicate(timeout=30)


def test_a_sigkilled_fast_execute_download_folder_is_removed_by_the_next_one(ep, tmp_path: Path):
    server = HangingServer()
    work = tmp_path / "work"
    work.mkdir()
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    try:
        env = _env(ep, {"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1"})
        hanging = subprocess.Popen(_fast_command(ep, "s3://code/archive.tar.gz", work / "dest"), cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        server.wait_for_a_request()
        hanging.send_signal(signal.SIGKILL)
        hanging.communicate(timeout=30)
    finally:
        server.close()
    left = [p.name for p in work.iterdir() if p.name.startswith(".flytelite-download-")]
    assert len(left) == 1, left

    archive = _code_archive(ep, tmp_path)
    result = ep.run(_fast_command(ep, str(archive), work / "dest"), cwd=tmp_path)
    assert "--dynamic-addl-distro" in result.outputs().literals["o0"].scalar.primitive.string_value
    assert sorted(p.name for p in work.iterdir()) == ["dest"]
