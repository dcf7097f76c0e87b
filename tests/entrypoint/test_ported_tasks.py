"""Black-box: tasks using the types flytekit code ports bring (tensors, int-keyed dicts, iterators, unions)."""

from __future__ import annotations

import msgpack
import torch

from flytelite.types import BlobPaths, to_literal


def test_tensor_in_and_bare_value_for_a_one_field_named_tuple_out(ep):
    weights = to_literal(torch.ones(2, 2), torch.Tensor, BlobPaths(str(ep.tmp_path / "in"), str(ep.tmp_path)))
    ep.write_inputs(ep.literal_map(weights=weights, factor=2.5))
    result = ep.execute("ported_tasks", "scale")
    assert result.returncode == 0, result.describe()
    blob = result.outputs().literals["weights"].scalar.blob
    assert blob.metadata.type.format == "PyTorchTensor" and blob.uri.startswith(str(ep.raw) + "/")
    assert torch.equal(torch.load(blob.uri, weights_only=True), torch.full((2, 2), 2.5))


def test_tuple_of_types_return_with_int_keys_and_an_iterator(ep):
    ep.write_inputs(n=3)
    outputs = ep.execute("ported_tasks", "counts").outputs().literals
    assert msgpack.unpackb(outputs["o0"].scalar.binary.value, strict_map_key=False) == {0: "0", 1: "1", 2: "2"}
    assert [lit.scalar.primitive.integer for lit in outputs["o1"].collection.literals] == [0, 1, 4]


def test_union_of_lists_of_strings(ep):
    ep.write_inputs(names=True)
    union = ep.execute("ported_tasks", "either").outputs().literals["o0"].scalar.union
    assert [lit.scalar.primitive.string_value for lit in union.value.collection.literals] == ["a", "b"]


def test_a_wrong_literal_for_a_tensor_input_is_a_user_error_naming_it(ep):
    ep.write_inputs(weights="not a tensor", factor=1.0)
    result = ep.execute("ported_tasks", "scale")
    error = result.error()
    assert error.kind == error.NON_RECOVERABLE
    assert "weights" in error.message and "Tensor" in error.message and "string_value" in error.message, error.message
    assert "Traceback" not in error.message
