"""``make image-test`` skips, saying why, where it cannot build images (and exits 0, so CI goes on)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .containers import ROOT

SCRIPT = ROOT / "tests" / "image" / "image_test.sh"


def _path_with(tmp_path: Path, uid: int, apt_get: bool) -> str:
    """A PATH whose ``id -u`` says ``uid`` and that holds apt-get or not; the script's other tools are the real ones."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (folder / "id").chmod(0o755)
    for tool in ["realpath", "dirname", "bash"] + (["apt-get"] if apt_get else []):
        found = shutil.which(tool) or (f"/usr/bin/{tool}" if tool == "apt-get" else None)
        if found is None:
            pytest.skip(f"{tool} is not on this machine")
        os.symlink(found, folder / tool)
    return str(folder)


@pytest.mark.parametrize(("uid", "apt_get", "reason"), [(1000, True, "not root"), (0, False, "no apt-get")])
def test_it_skips_with_the_reason_and_exit_status_0(tmp_path: Path, uid: int, apt_get: bool, reason: str) -> None:
    env = {"PATH": _path_with(tmp_path, uid, apt_get)}
    result = subprocess.run([str(SCRIPT), str(tmp_path / "cache"), "python-never-run"], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"SKIP image-test: {reason}"), result.stdout + result.stderr
    assert not (tmp_path / "cache").exists()  # nothing was built
