"""Tasks that succeed, run by the entrypoint tests (the tests run with this folder as cwd)."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import time
from typing import NamedTuple, Optional

from flytelite import File, IgnoreOutputs, current_context, task

logger = logging.getLogger(__name__)


@task
def add(a: int, b: int) -> int:
    return a + b


@task
def nothing() -> None:
    pass


@task
def pair(a: int) -> tuple[int, str]:
    return a * 2, f"a={a}"


class Stats(NamedTuple):
    total: int
    label: str


@task
def stats(a: int, b: int) -> Stats:
    return Stats(total=a + b, label="sum")


@task
def write_file(text: str) -> File:
    path = os.path.join(current_context().working_directory, "report.txt")
    with open(path, "w") as f:
        f.write(text)
    return File(path)


@task
def sleepy(marker: str, seconds: float) -> int:
    with open(marker, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(seconds)
    return 42


@task(timeout=1)
def too_slow() -> int:
    time.sleep(30)
    return 0


@task
def ignored() -> int:
    raise IgnoreOutputs()


@task
def log_warning(text: str) -> int:
    logger.warning("user says %s", text)
    return len(text)


@task
def big_string(n: int) -> str:
    return "x" * n


@task
def upper(s: str) -> str:
    return s.upper()


@dataclasses.dataclass
class Point:
    x: int
    y: float


@task
def describe(when: datetime.datetime, values: list[int], point: Point, flag: bool, maybe: Optional[int] = None) -> str:
    return f"{when.isoformat()}|{sum(values)}|{point.x},{point.y}|{flag}|{maybe}"


@task
def move(point: Point, dx: int) -> Point:
    return Point(x=point.x + dx, y=point.y)


not_a_task = 42


def plain_function(a: int) -> int:
    return a
