"""Workflows that misuse promises or names: building their graph fails, naming workflow, node and variable."""

from __future__ import annotations

from fanout import add, square, total

from flytelite import workflow


@workflow
def iterates(n: int) -> int:
    return total(values=[v for v in square(x=n)])


@workflow
def wrong_constant(n: int) -> int:
    return add(a=n, b="two")


@workflow
def named_start(n: int) -> int:
    return square(x=n).with_overrides(node_name="start-node")
