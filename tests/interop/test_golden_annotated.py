"""``Annotated[T, HashMethod(fn)]`` and ``Annotated[list[T], BatchSize(n)]`` against flytekit 1.16's literals."""

from __future__ import annotations

import os
import typing

import pytest
from flyteidl.core import literals_pb2, types_pb2

from flytelite import BatchSize, HashMethod, task
from flytelite.types import encode_map, literal_type, to_literal, to_python

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def sum_hash(values: list[int]) -> str:
    return f"sum-{sum(values)}"


CASES = {
    "hashed_list": typing.Annotated[list[int], HashMethod(sum_hash)],
    "batched_list": typing.Annotated[list[int], BatchSize(2)],
}


def _read(message_type, name):
    with open(os.path.join(GOLDEN, name), "rb") as f:
        return message_type.FromString(f.read())


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_literals_as_flytekit_both_ways(name):
    assert literal_type(CASES[name]) == _read(types_pb2.LiteralType, f"{name}.literal_type.pb")
    golden = _read(literals_pb2.Literal, f"{name}.literal.pb")
    assert to_literal([1, 2, 3], CASES[name]) == golden
    assert to_python(golden, CASES[name]) == [1, 2, 3]


def test_a_task_output_carries_the_hash():
    @task
    def numbers(n: int) -> typing.Annotated[list[int], HashMethod(sum_hash)]:
        return list(range(n))

    outputs = encode_map({"o0": numbers(n=4)}, numbers.python_interface.outputs)
    assert outputs.literals["o0"].hash == "sum-6"


def test_a_hash_method_that_returns_no_string_is_a_clear_error():
    with pytest.raises(TypeError, match=r"output 'o0': expected list\[int\], got a HashMethod result of type int \(it must return a str\)"):
        encode_map({"o0": [1]}, {"o0": typing.Annotated[list[int], HashMethod(sum)]})
