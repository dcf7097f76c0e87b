"""One table: each type's form inside a msgpack document (a dataclass field, an attribute the backend
resolved, ``flytelite run``'s JSON) comes from its codec; what has none is refused when declared."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import typing
from typing import Any, Optional, Union

import msgpack
import pytest
from flyteidl.core import literals_pb2, types_pb2

from flytelite import Directory, File, task
from flytelite.types import Codec, LiteralMismatch, UnsupportedType, codec_for, register_codec, to_literal, to_python


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


@dataclasses.dataclass
class Inner:
    x: int
    when: datetime.datetime


VALUES = [
    (int, 3),
    (float, 2.5),
    (str, "s"),
    (bool, False),
    (datetime.datetime, datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    (datetime.date, datetime.date(2024, 1, 2)),
    (datetime.timedelta, datetime.timedelta(seconds=1.5)),
    (Optional[int], None),
    (Union[int, bool], True),
    (list[Inner], [Inner(1, datetime.datetime(2024, 1, 1))]),
    (dict[str, list[int]], {"a": [1]}),
    (dict[int, Level], {1: Level.HIGH}),
    (dict, {"free": [1, "form"]}),
    (Level, Level.LOW),
    (File, File("s3://b/k")),
    (Directory, Directory("s3://b/d")),
    (typing.Literal["a", "b"], "b"),
    (Any, {"plain": [1, 2.5, None]}),
]


@pytest.mark.parametrize(("py_type", "value"), VALUES, ids=[repr(t) for t, _ in VALUES])
def test_what_the_encoder_writes_the_decoder_reads(py_type, value):
    codec = codec_for(py_type)
    assert codec.document_gap() is None
    packed = msgpack.packb(codec.to_builtin(value))
    assert codec.from_builtin(msgpack.unpackb(packed, strict_map_key=False), lenient=False) == value
    json.dumps(codec.to_builtin(value))  # and flytelite run can print it


@pytest.mark.parametrize(("py_type", "value"), VALUES, ids=[repr(t) for t, _ in VALUES])
def test_an_attribute_binary_is_read_for_every_type(py_type, value):
    lit = literals_pb2.Literal()
    lit.scalar.binary.value = msgpack.packb(codec_for(py_type).to_builtin(value))
    lit.scalar.binary.tag = "msgpack"
    assert to_python(lit, py_type) == value


class Wallet:
    def __init__(self, cents: int) -> None:
        self.cents = cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Wallet) and other.cents == self.cents


class WalletCodec(Codec):
    """A user's codec with no document form."""

    union_tag = "Wallet"

    def __init__(self, py_type: Any) -> None:
        self.py_type = py_type
        self.literal_type = types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        lit.scalar.primitive.integer = value.cents

    def decode(self, lit: literals_pb2.Literal) -> Any:
        return self.py_type(lit.scalar.primitive.integer)


class CarriedWallet(Wallet):
    pass


class CarriedWalletCodec(WalletCodec):
    """The same codec, giving its document form too: then it may be a dataclass field."""

    def to_builtin(self, value: Any) -> Any:
        return value.cents

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if type(data) is not int:
            raise self.mismatch(repr(data))
        return self.py_type(data)


@dataclasses.dataclass
class Purse:
    owner: str
    money: Wallet


def test_a_registered_type_without_a_document_form_is_refused_when_the_task_is_defined():
    register_codec(Wallet, WalletCodec)
    # On main the task was accepted here and failed later, when the output was encoded.
    with pytest.raises(UnsupportedType, match=r"output 'o0'.*field 'Purse\.money' \(Wallet\) cannot be carried inside a dataclass"):

        @task
        def fill(owner: str) -> Purse:
            return Purse(owner, Wallet(1))


def test_a_registered_type_with_a_document_form_is_carried():
    register_codec(CarriedWallet, CarriedWalletCodec)

    @dataclasses.dataclass
    class Purse:
        money: CarriedWallet
        spare: Optional[CarriedWallet] = None

    value = Purse(CarriedWallet(250))
    lit = to_literal(value, Purse)
    assert msgpack.unpackb(lit.scalar.binary.value) == {"money": 250, "spare": None}
    assert to_python(lit, Purse) == value


@pytest.mark.parametrize("field_type", [Wallet, list[Wallet], dict[str, Optional[Wallet]]], ids=["bare", "list", "dict"])
def test_a_container_of_a_type_without_a_document_form_is_refused_naming_the_field(field_type):
    register_codec(Wallet, WalletCodec)
    purse = dataclasses.make_dataclass("Purse", [("money", field_type)])
    with pytest.raises(UnsupportedType, match=r"field 'Purse\.money'.*Wallet has no form inside a dataclass document"):
        codec_for(purse)


def test_a_numpy_array_field_is_refused_naming_the_field():
    numpy = pytest.importorskip("numpy")
    holder = dataclasses.make_dataclass("Holder", [("weights", numpy.ndarray)])
    with pytest.raises(UnsupportedType, match=r"field 'Holder\.weights' \(ndarray\)"):
        codec_for(holder)


class Pickled:
    """No codec of its own: it travels as a pickle, which has no document form."""


def test_an_attribute_binary_for_a_type_without_a_document_form_is_a_clear_error():
    lit = literals_pb2.Literal()
    lit.scalar.binary.value = msgpack.packb(5)
    lit.scalar.binary.tag = "msgpack"
    with pytest.raises(LiteralMismatch, match="expected Pickled, got a binary literal tagged 'msgpack'"):
        to_python(lit, Pickled)
