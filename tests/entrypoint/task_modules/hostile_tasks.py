"""Tasks that turn on the runtime: they break stderr, fork, raise unprintable or huge exceptions."""

from __future__ import annotations

import os
import sys
import time

from flytelite import task


@task
def break_stderr_then_fail(how: str) -> int:
    if how == "close_fd":
        os.close(2)
    elif how == "close_object":
        sys.stderr.close()
    elif how == "none":
        sys.stderr = None  # type: ignore[assignment]
    raise ValueError("failed after breaking stderr")


@task
def slow_then_fail(marker: str) -> int:
    """Fails once the test has broken the read end of its stderr pipe (it removes the marker)."""
    open(marker, "w").close()
    while os.path.exists(marker):
        time.sleep(0.02)
    raise ValueError("failed with a broken stderr pipe")


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("this exception cannot be printed")


@task
def raise_unprintable() -> int:
    raise Unprintable()


@task
def raise_huge(megabytes: int) -> int:
    raise ValueError("x" * (megabytes << 20))


@task
def fork_child_raises(marker: str) -> int:
    """The forked child raises out of the task; the parent waits for it, then returns."""
    pid = os.fork()
    if pid == 0:
        raise RuntimeError("raised in a forked child")
    os.waitpid(pid, 0)
    open(marker, "w").close()
    return 7


@task
def fork_child_returns() -> int:
    """The forked child returns from the task as the parent does: one outputs.pb, the parent's."""
    pid = os.fork()
    if pid == 0:
        return 1
    os.waitpid(pid, 0)
    return 2
