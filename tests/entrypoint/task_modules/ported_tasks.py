"""Tasks written as flytekit users write them, for the ported-types end-to-end tests."""

from __future__ import annotations

from typing import Iterator, List, NamedTuple, Union

import torch

from flytelite import task


class Scaled(NamedTuple):
    weights: torch.Tensor


@task
def scale(weights: torch.Tensor, factor: float) -> Scaled:
    return weights * factor  # a bare value for a one-field NamedTuple, as flytekit allows


@task
def counts(n: int) -> (dict[int, str], Iterator[int]):  # type: ignore[syntax]
    return {i: str(i) for i in range(n)}, (i * i for i in range(n))


@task
def either(names: bool) -> Union[List[int], List[str]]:
    return ["a", "b"] if names else [1, 2]
