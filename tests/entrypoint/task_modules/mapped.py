"""Tasks for the map-execute, fast-execute and notebook tests."""

from __future__ import annotations

import sys
import time

from flytelite import task


@task
def scaled_square(x: int, scale: int) -> int:
    return x * x * scale


@task
def argv_seen(x: int) -> str:
    """What the process was started with (fast-execute inserts its options)."""
    return " ".join(sys.argv)


@task
def sleeper(x: int) -> int:
    time.sleep(30)
    return x
