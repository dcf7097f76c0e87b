"""A task whose input type refuses some data in its own constructor."""

from __future__ import annotations

import dataclasses

from flytelite import task


@dataclasses.dataclass
class Positive:
    value: int

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise ValueError(f"Positive needs a value above 0, got {self.value}")


@task
def takes_positive(p: Positive) -> int:
    return p.value


class NotPositive(Exception):
    """The user's own exception class: the data's fault all the same."""


@dataclasses.dataclass
class StrictlyPositive:
    value: int

    def __post_init__(self) -> None:
        if self.value <= 0:
            raise NotPositive(f"StrictlyPositive needs a value above 0, got {self.value}")


@task
def takes_strictly_positive(p: StrictlyPositive) -> int:
    return p.value
