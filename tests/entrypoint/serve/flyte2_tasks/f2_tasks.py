"""Flyte 2 tasks the serve tests run warm and compare with a cold ``a0`` (this folder is the working directory)."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import flyte
from flyte.io import File

env = flyte.TaskEnvironment(name="leaf", reusable=flyte.ReusePolicy(replicas=1, concurrency=1, idle_ttl=60))


@dataclass
class Point:
    x: int
    label: str


@env.task
def add(a: int, b: int) -> int:
    return a + b


@env.task
def boom(a: int) -> int:
    raise ValueError(f"boom {a}")


@env.task
def point(a: int) -> Point:
    return Point(x=a, label=f"p{a}")


@env.task
def text_file(a: int, destination: str) -> File:
    """A file output at a named place (a random one would differ between two runs)."""
    local = Path(tempfile.mkdtemp()) / "numbers.txt"
    local.write_text("\n".join(str(n) for n in range(a)))
    return File.from_local_sync(str(local), remote_destination=destination)


@env.task
def sleepy(pid_file: str, seconds: int) -> int:
    """Writes its process id, then sleeps: a test kills the worker meanwhile."""
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(seconds)
    return seconds


@env.task
def endpoint() -> str:
    """The backend endpoint flyte's controller would reach for nested calls (flyte/_initialize.py init_in_cluster)."""
    return os.environ.get("_U_EP_OVERRIDE", "")


@env.task
def controller_settings() -> str:
    """What flyte's controller would be built from: endpoint, plaintext, ActionsService (flyte/_initialize.py, _service_protocol.py)."""
    return "|".join(os.environ.get(name, "") for name in ("_U_EP_OVERRIDE", "_U_INSECURE", "_U_USE_ACTIONS"))


@env.task
def pid() -> int:
    return os.getpid()


@env.task
async def parent(a: int) -> int:
    """Calls another task: its attempt builds the controller, which enqueues the child at the backend."""
    return await add.aio(a, 1)


@env.task
async def parent_of_boom(a: int) -> int:
    """Calls a task that fails: the child's error becomes this task's."""
    return await boom.aio(a)
