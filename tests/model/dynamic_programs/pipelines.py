"""Workflows the tests serialize, run with the test executor and call locally: tasks, map tasks, dynamics and sub-workflows."""

from __future__ import annotations

import typing

from fanout import add, fan_out, square, squares, total

from flytelite import dynamic, workflow


@workflow
def sub(a: int, b: int = 10) -> int:
    """A sub-workflow with a default input."""
    return add(a=square(x=a), b=b)


@workflow
def pipeline(n: int, extra: int = 1) -> typing.Tuple[int, int]:
    fanned = fan_out(n=n)
    mapped = total(values=squares(x=[n, extra, 3]))
    return add(a=sub(a=fanned), b=extra), mapped


@workflow
def passthrough(n: int) -> typing.Tuple[int, int]:
    """An output bound straight to an input, and a constant input to a task."""
    return n, square(x=4)


@workflow
def nested(n: int) -> int:
    return sub(a=sub(a=n, b=n), b=1)


@dynamic
def calls_workflow(n: int) -> int:
    """A dynamic that calls a workflow: a sub-workflow node and the spec's subworkflows."""
    return add(a=sub(a=n, b=n), b=sub(a=1))
