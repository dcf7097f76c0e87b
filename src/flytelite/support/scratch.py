"""Private scratch folders, made without importing ``tempfile`` (it is not on the start-up path)."""

from __future__ import annotations

import os
import time


def make_working_directory() -> str:
    """A new private folder under ``TMPDIR`` (or ``/tmp``)."""
    base = os.environ.get("TMPDIR") or "/tmp"
    path = os.path.join(base, f"flytelite-{os.getpid()}-{time.time_ns():x}")
    os.makedirs(path, mode=0o700)
    return path
