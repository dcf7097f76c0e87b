"""Tasks whose outputs are dataclasses with fields of every kind of document form (issue 18, bug 2)."""

from __future__ import annotations

import dataclasses
import datetime
import os
from typing import Any

from flytelite import File, task


@dataclasses.dataclass
class Tagged:
    payload: Any
    when: datetime.datetime


@task
def tag(text: str) -> Tagged:
    return Tagged(payload={"text": text, "n": [1, 2.5]}, when=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc))


@task
def untag(tagged: Tagged) -> str:
    return f"{tagged.payload['text']}|{tagged.when.year}"


@dataclasses.dataclass
class Report:
    name: str
    data: File


@task
def report(text: str) -> Report:
    path = os.path.join(os.getcwd(), "report.txt")
    with open(path, "w") as f:
        f.write(text)
    return Report(name="r", data=File(path))
