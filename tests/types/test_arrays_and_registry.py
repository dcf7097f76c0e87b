"""torch / numpy codecs (PyTorchTensor, PyTorchModule, NumpyArray blobs) and the public register_codec."""

from __future__ import annotations

import subprocess
import sys
import typing
from typing import Any

import numpy
import pytest
import torch
from flyteidl.core import literals_pb2, types_pb2

from flytelite.types import (
    BlobPaths,
    Codec,
    LiteralMismatch,
    UnsupportedType,
    decode_map,
    describe_literal,
    encode_map,
    literal_type,
    register_codec,
    storing_blobs,
    to_literal,
    to_python,
)


@pytest.fixture(autouse=True)
def local_blobs(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


def test_tensor_round_trip_keeps_dtype_shape_and_values():
    value = torch.randn(4, 5, dtype=torch.float64)
    back = to_python(to_literal(value, torch.Tensor), torch.Tensor)
    assert back.dtype == torch.float64 and torch.equal(back, value)


def test_module_subclass_annotation_reads_back_its_class():
    value = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    back = to_python(to_literal(value, torch.nn.Sequential), torch.nn.Sequential)
    assert type(back) is torch.nn.Sequential and torch.equal(back[0].weight, value[0].weight)


def test_ndarray_round_trip():
    value = numpy.arange(10, dtype=numpy.int16).reshape(2, 5)
    back = to_python(to_literal(value, numpy.ndarray), numpy.ndarray)
    assert back.dtype == numpy.int16 and numpy.array_equal(back, value)


def test_object_ndarray_is_refused_with_the_output_named():
    with pytest.raises(TypeError, match=r"output 'o0'.*needs pickling"):
        encode_map({"o0": numpy.array([{"a": 1}], dtype=object)}, {"o0": numpy.ndarray})


def test_wrong_value_type_names_the_output():
    with pytest.raises(TypeError, match=r"output 'o0'.*expected Tensor, got ndarray"):
        encode_map({"o0": numpy.zeros(2)}, {"o0": torch.Tensor})


def test_blob_of_another_format_names_input_expected_and_arrived():
    tensor_map = encode_map({"x": torch.zeros(2)}, {"x": torch.Tensor}, what="input")
    with pytest.raises(TypeError, match=r"input 'x'.*expected ndarray, got a blob literal of format 'PyTorchTensor'"):
        decode_map(tensor_map, {"x": numpy.ndarray})


def test_corrupt_blob_is_a_mismatch_not_a_traceback(tmp_path):
    lit = to_literal(torch.zeros(2), torch.Tensor)
    with open(lit.scalar.blob.uri, "wb") as f:
        f.write(b"not a torch file")
    literal_map = literals_pb2.LiteralMap()
    literal_map.literals["x"].CopyFrom(lit)
    with pytest.raises(TypeError, match=r"input 'x'.*PyTorchTensor blob at .* that cannot be read"):
        decode_map(literal_map, {"x": torch.Tensor})


def test_a_tensor_blob_holding_a_pickled_object_is_refused(tmp_path):
    # weights_only: a PyTorchTensor blob cannot run arbitrary pickle code on load.
    lit = to_literal(torch.zeros(1), torch.Tensor)
    torch.save(_Unsafe(), lit.scalar.blob.uri)
    with pytest.raises(LiteralMismatch, match="cannot be read"):
        to_python(lit, torch.Tensor)


class _Unsafe:
    pass


def test_start_up_imports_neither_torch_nor_numpy():
    code = (
        "import sys; from flytelite.types import to_literal, to_python; "
        "to_python(to_literal([1], list[int]), list[int]); "
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- register_codec -----------------------------------------------------------------------------


class Money:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and other.cents == self.cents


class Euros(Money):
    pass


class MoneyCodec(Codec):
    """A user's codec: money as a string of cents."""

    union_tag = "Money"

    def __init__(self, py_type: Any) -> None:
        self.py_type = py_type
        self.literal_type = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRING)

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        if not isinstance(value, self.py_type):
            raise self.mismatch(type(value).__name__)
        lit.scalar.primitive.string_value = f"{value.cents}c"

    def decode(self, lit: literals_pb2.Literal) -> Any:
        text = lit.scalar.primitive.string_value
        if not text.endswith("c"):
            raise self.mismatch(describe_literal(lit))
        return self.py_type(int(text[:-1]))


def test_registered_codec_serves_the_class_and_its_subclasses():
    register_codec(Money, MoneyCodec)
    assert literal_type(Money).simple == types_pb2.SimpleType.STRING
    assert to_literal(Money(250), Money).scalar.primitive.string_value == "250c"
    back = to_python(to_literal(Euros(3), Euros), Euros)
    assert type(back) is Euros and back == Euros(3)


def test_registration_by_dotted_name_and_after_first_use():
    class Late:
        def __init__(self, cents: int) -> None:
            self.cents = cents

    literal_type(Late)  # cached as a pickle first
    register_codec(f"{__name__}.test_registration_by_dotted_name_and_after_first_use.<locals>.Late", MoneyCodec)
    assert literal_type(Late).simple == types_pb2.SimpleType.STRING
    assert to_python(to_literal(Late(7), Late), Late).cents == 7


def test_registered_codec_mismatch_names_the_input():
    register_codec(Money, MoneyCodec)
    literal_map = encode_map({"m": "12"}, {"m": str}, what="input")
    with pytest.raises(TypeError, match=r"input 'm'.*expected Money, got a string_value literal '12'"):
        decode_map(literal_map, {"m": Money})


# --- numpy options, as flytekit's Annotated[np.ndarray, kwtypes(allow_pickle=..., mmap_mode=...)] ----------


def test_numpy_allow_pickle_carries_an_object_array():
    np = pytest.importorskip("numpy")
    from flytelite.types.datasets import kwtypes

    pickled = typing.Annotated[np.ndarray, kwtypes(allow_pickle=True)]
    value = np.array([{"a": 1}, None], dtype=object)
    assert literal_type(pickled) == literal_type(np.ndarray)  # the options change no type, as in flytekit
    back = to_python(to_literal(value, pickled), pickled)
    assert back.dtype == object and list(back) == [{"a": 1}, None]


def test_numpy_object_array_without_allow_pickle_names_the_option():
    np = pytest.importorskip("numpy")
    with pytest.raises(LiteralMismatch, match=r"kwtypes\(allow_pickle=True\)"):
        to_literal(np.array([{"a": 1}], dtype=object), np.ndarray)


def test_numpy_mmap_mode_reads_a_memory_map():
    np = pytest.importorskip("numpy")
    from flytelite.types.datasets import kwtypes

    mapped = typing.Annotated[np.ndarray, kwtypes(mmap_mode="r")]
    back = to_python(to_literal(np.arange(4), mapped), mapped)
    assert isinstance(back, np.memmap) and list(back) == [0, 1, 2, 3]


def test_numpy_unknown_option_is_refused():
    np = pytest.importorskip("numpy")
    from flytelite.types.datasets import kwtypes

    with pytest.raises(UnsupportedType, match="allow_pickle and mmap_mode, not pickle"):
        literal_type(typing.Annotated[np.ndarray, kwtypes(pickle=True)])
