"""A task stopped from outside while it runs (Ctrl-C, a SIGINT to the process)."""

from __future__ import annotations

from flytelite import task


@task
def interrupted() -> int:
    raise KeyboardInterrupt
