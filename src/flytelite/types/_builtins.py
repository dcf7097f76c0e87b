"""Codecs of the built-in types: primitives, dates and durations, ``None``, lists, dicts, unions, enums, ``Literal``."""

from __future__ import annotations

import datetime
import enum
import typing
from typing import Any

from flyteidl.core import types_pb2

from ._base import Codec, Literal, LiteralMismatch, LiteralType, UnsupportedType, describe_literal, short_repr, type_name

SimpleType = types_pb2.SimpleType


def _simple(simple: int) -> LiteralType:
    return LiteralType(simple=simple)


# --- primitives ---------------------------------------------------------------------------------


class _PrimitiveCodec(Codec):
    """A primitive whose value sits in one field of ``Primitive``.

    Reading many: proto3 returns the field's default when another member of the oneof is set, so a
    non-default value proves the field is set and only default values need the slower oneof check.
    """

    field: str
    default: Any

    def __init__(self) -> None:
        self.literal_type = _simple(self.simple)
        self.union_tag = self.py_type.__name__

    def check_value(self, value: Any) -> Any:
        if type(value) is not self.py_type:
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        return value

    def encode(self, value: Any, lit: Literal) -> None:
        value = self.check_value(value)
        try:
            setattr(lit.scalar.primitive, self.field, value)
        except ValueError as exc:  # an int outside 64 bits, a str with lone surrogates
            got = f"{type(value).__name__} {short_repr(value)}"
            raise self.mismatch(f"{got} that protobuf cannot hold ({exc})") from None

    def encode_many(self, values: list[Any], lits: Any) -> None:
        expected = self.py_type
        if not all(type(v) is expected for v in values):
            bad = next(v for v in values if type(v) is not expected)
            self.check_value(bad)
        field = self.field
        try:
            for value in values:
                setattr(lits.add().scalar.primitive, field, value)
        except ValueError as exc:  # see encode
            got = f"{type(value).__name__} {short_repr(value)}"
            raise self.mismatch(f"{got} that protobuf cannot hold ({exc})") from None

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        if prim.WhichOneof("value") != self.field:
            return self.decode_other(lit)
        return getattr(prim, self.field)

    def to_builtin(self, value: Any) -> Any:
        return self.check_value(value)

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if type(data) is not self.py_type:
            raise self.mismatch(f"{type(data).__name__} {short_repr(data)}")
        return data

    def decode_many(self, lits: Any) -> list[Any]:
        field = self.field
        values = [getattr(lit.scalar.primitive, field) for lit in lits]
        if self.default in values:
            for index, value in enumerate(values):
                if value == self.default:
                    values[index] = self.decode(lits[index])
        return values


class IntCodec(_PrimitiveCodec):
    py_type = int
    simple = SimpleType.INTEGER
    field = "integer"
    default = 0

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if lenient and type(data) is float and data.is_integer():  # JSON has no integers
            return int(data)
        return super().from_builtin(data, lenient)


class StrCodec(_PrimitiveCodec):
    py_type = str
    simple = SimpleType.STRING
    field = "string_value"
    default = ""


class BoolCodec(_PrimitiveCodec):
    py_type = bool
    simple = SimpleType.BOOLEAN
    field = "boolean"
    default = False


class FloatCodec(_PrimitiveCodec):
    """Floats also accept integers, in values and in literals (an int widens without loss of meaning)."""

    py_type = float
    simple = SimpleType.FLOAT
    field = "float_value"
    default = 0.0

    def check_value(self, value: Any) -> Any:
        if type(value) is int:
            return float(value)
        return super().check_value(value)

    def accepts(self, value: Any) -> bool:
        return type(value) in (float, int)

    def encode_many(self, values: list[Any], lits: Any) -> None:
        for value in values:
            lits.add().scalar.primitive.float_value = self.check_value(value)

    def to_builtin(self, value: Any) -> Any:
        if type(value) is not float and type(value) is not int:
            raise self.mismatch(f"{type(value).__name__} {short_repr(value)}")
        return value  # an int stays an int in the document, as flytekit writes it

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if type(data) is not float and type(data) is not int:
            raise self.mismatch(f"{type(data).__name__} {short_repr(data)}")
        return float(data)

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        kind = prim.WhichOneof("value")
        if kind == "float_value":
            return prim.float_value
        if kind == "integer":
            return float(prim.integer)
        return self.decode_other(lit)


class DatetimeCodec(Codec):
    """Timestamps in UTC; a naive datetime is taken to be UTC already."""

    py_type = datetime.datetime
    union_tag = "datetime"

    def __init__(self) -> None:
        self.literal_type = _simple(SimpleType.DATETIME)

    def encode(self, value: Any, lit: Literal) -> None:
        if not isinstance(value, datetime.datetime):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        lit.scalar.primitive.datetime.FromDatetime(value)

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        if prim.WhichOneof("value") != "datetime":
            return self.decode_other(lit)
        return prim.datetime.ToDatetime(tzinfo=datetime.timezone.utc)

    def to_builtin(self, value: Any) -> Any:
        if not self.accepts(value):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        return value.isoformat()

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        self.require(data, str)
        try:
            return self.parse_iso(data)
        except ValueError:
            raise self.mismatch(f"{data!r}, which is not an ISO-8601 {self.union_tag}") from None

    @staticmethod
    def parse_iso(text: str) -> Any:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class DateCodec(DatetimeCodec):
    py_type = datetime.date
    union_tag = "date"

    def accepts(self, value: Any) -> bool:
        return type(value) is datetime.date

    def encode(self, value: Any, lit: Literal) -> None:
        if type(value) is not datetime.date:
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        midnight = datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
        lit.scalar.primitive.datetime.FromDatetime(midnight)

    def decode(self, lit: Literal) -> Any:
        if lit.scalar.primitive.WhichOneof("value") != "datetime":
            return self.decode_other(lit)
        return super().decode(lit).date()

    @staticmethod
    def parse_iso(text: str) -> Any:
        return datetime.date.fromisoformat(text[:10])


class DurationCodec(Codec):
    py_type = datetime.timedelta
    union_tag = "timedelta"

    def __init__(self) -> None:
        self.literal_type = _simple(SimpleType.DURATION)

    def encode(self, value: Any, lit: Literal) -> None:
        if not isinstance(value, datetime.timedelta):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        lit.scalar.primitive.duration.FromTimedelta(value)

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        if prim.WhichOneof("value") != "duration":
            return self.decode_other(lit)
        return prim.duration.ToTimedelta()

    def to_builtin(self, value: Any) -> Any:
        if not isinstance(value, datetime.timedelta):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        return value.total_seconds()

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if type(data) not in (float, int):
            raise self.mismatch(f"{type(data).__name__} {short_repr(data)}")
        return datetime.timedelta(seconds=data)


class NoneCodec(Codec):
    py_type = type(None)
    union_tag = "none"

    def __init__(self) -> None:
        self.literal_type = _simple(SimpleType.NONE)

    def accepts(self, value: Any) -> bool:
        return value is None

    def encode(self, value: Any, lit: Literal) -> None:
        if value is not None:
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        lit.scalar.none_type.SetInParent()

    def decode(self, lit: Literal) -> Any:
        if lit.scalar.WhichOneof("value") != "none_type":
            return self.decode_other(lit)
        return None

    def to_builtin(self, value: Any) -> Any:
        if value is not None:
            raise self.mismatch(f"{type(value).__name__} {short_repr(value)}")
        return None

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        return self.to_builtin(data)


# --- containers ---------------------------------------------------------------------------------


class ListCodec(Codec):
    union_tag = "Typed List"

    def __init__(self, py_type: Any, item: Codec) -> None:
        self.py_type = py_type
        self.item = item
        self.literal_type = LiteralType(collection_type=item.literal_type)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)

    def encode(self, value: Any, lit: Literal) -> None:
        self.require(value, list)
        lit.collection.SetInParent()  # an empty list is still a collection literal
        lits = lit.collection.literals
        try:
            self.item.encode_many(value, lits)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)} element: {exc}") from None

    def decode(self, lit: Literal) -> Any:
        if lit.WhichOneof("value") != "collection":
            return self.decode_other(lit)
        try:
            return self.item.decode_many(lit.collection.literals)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)} element: {exc}") from None

    def document_gap(self) -> str | None:
        return self.item.document_gap()

    def to_builtin(self, value: Any) -> Any:
        self.require(value, list)
        item = self.item.to_builtin
        return [item(element) for element in value]

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        self.require(data, list)
        item = self.item.from_builtin
        return [item(element, lenient) for element in data]


class IteratorCodec(ListCodec):
    """``Iterator[T]``: written as a list of everything the iterator yields, read back as an iterator."""

    union_tag = "Typed Iterator"

    def accepts(self, value: Any) -> bool:
        return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict))

    def encode(self, value: Any, lit: Literal) -> None:
        if not self.accepts(value):
            raise self.mismatch(f"{type(value).__name__} {short_repr(value)}")
        super().encode(list(value), lit)

    def decode(self, lit: Literal) -> Any:
        return iter(super().decode(lit))

    def to_builtin(self, value: Any) -> Any:
        return super().to_builtin(list(value))

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        return iter(super().from_builtin(data, lenient))


class DictCodec(Codec):
    union_tag = "Typed Dict"

    def __init__(self, py_type: Any, value_codec: Codec) -> None:
        self.py_type = py_type
        self.value_codec = value_codec
        self.literal_type = LiteralType(map_value_type=value_codec.literal_type)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def encode(self, value: Any, lit: Literal) -> None:
        self.require(value, dict)
        lit.map.SetInParent()  # an empty dict is still a map literal
        target = lit.map.literals
        for key, item in value.items():
            if not isinstance(key, str):
                raise self.mismatch(f"a key {key!r} that is not a string")
            try:
                self.value_codec.encode(item, target[key])
            except LiteralMismatch as exc:
                raise LiteralMismatch(f"in {type_name(self.py_type)} key {key!r}: {exc}") from None

    def document_gap(self) -> str | None:
        return self.value_codec.document_gap()

    def to_builtin(self, value: Any) -> Any:
        self.require(value, dict)
        encode = self.value_codec.to_builtin
        return {self.check_key(key): encode(item) for key, item in value.items()}

    def check_key(self, key: Any) -> str:
        if not isinstance(key, str):
            raise self.mismatch(f"a key {key!r} that is not a string")
        return key

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        self.require(data, dict)
        decode = self.value_codec.from_builtin
        return {self.check_key(key): decode(item, lenient) for key, item in data.items()}

    def decode(self, lit: Literal) -> Any:
        if lit.WhichOneof("value") != "map":
            return self.decode_other(lit)
        out = {}
        for key, item in lit.map.literals.items():
            try:
                out[key] = self.value_codec.decode(item)
            except LiteralMismatch as exc:
                raise LiteralMismatch(f"in {type_name(self.py_type)} key {key!r}: {exc}") from None
        return out


class UnionCodec(Codec):
    """``Optional[T]`` and ``Union[...]``: the literal carries the chosen variant's tagged type."""

    union_tag = "Typed Union"

    def __init__(self, py_type: Any, variants: list[Codec]) -> None:
        self.py_type = py_type
        self.variants = variants
        self.tagged_types = [self._tagged(v) for v in variants]
        self.literal_type = LiteralType(union_type=types_pb2.UnionType(variants=self.tagged_types))

    @staticmethod
    def _tagged(codec: Codec) -> LiteralType:
        # flytekit replaces the variant's whole structure (a dataclass's field types included) by the tag.
        tagged = LiteralType()
        tagged.CopyFrom(codec.literal_type)
        tagged.structure.Clear()
        tagged.structure.tag = codec.union_tag
        return tagged

    def accepts(self, value: Any) -> bool:
        return any(v.accepts(value) for v in self.variants)

    def document_gap(self) -> str | None:
        return next((gap for gap in (v.document_gap() for v in self.variants) if gap), None)

    def to_builtin(self, value: Any) -> Any:
        # Every variant that takes the value is tried: True is an int to isinstance, but only bool writes it.
        for variant in self.variants:
            if variant.accepts(value):
                try:
                    return variant.to_builtin(value)
                except LiteralMismatch:
                    continue
        raise self.mismatch(f"{type(value).__name__} {short_repr(value)}")

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        for variant in self.variants:
            try:
                return variant.from_builtin(data, lenient)
            except (LiteralMismatch, KeyError, TypeError, ValueError):
                continue
        raise self.mismatch(f"{type(data).__name__} {short_repr(data)}")

    def encode(self, value: Any, lit: Literal) -> None:
        # Like flytekit, try each variant that takes the value: list[int] and list[str] both take a list.
        union = lit.scalar.union
        for variant in self.variants:
            if not variant.accepts(value):
                continue
            try:
                variant.encode(value, union.value)
            except LiteralMismatch:
                union.value.Clear()
                continue
            union.type.CopyFrom(self.tagged_types[self.variants.index(variant)])
            return
        raise self.mismatch(f"{type(value).__name__} {short_repr(value)}")

    def decode(self, lit: Literal) -> Any:
        if lit.scalar.WhichOneof("value") == "union":
            sent = lit.scalar.union.type
            exact = [v for v, tagged in zip(self.variants, self.tagged_types) if tagged == sent]
            same_tag = [v for v in self.variants if v.union_tag == sent.structure.tag]
            return self._first_decoded(exact + same_tag or self.variants, lit.scalar.union.value)
        # Untagged data (written by hand, or an old SDK): the first variant that reads it wins.
        return self._first_decoded(self.variants, lit)

    def _first_decoded(self, variants: list[Codec], lit: Literal) -> Any:
        # Several variants may share a tag (every typed list is "Typed List"): the first that reads it wins.
        for variant in variants:
            try:
                return variant.decode(lit)
            except LiteralMismatch:
                continue
        raise self.mismatch(describe_literal(lit))


class EnumCodec(Codec):
    union_tag = "DefaultEnumTransformer"

    def __init__(self, py_type: type[enum.Enum]) -> None:
        values = [member.value for member in py_type]
        if not all(isinstance(v, str) for v in values):
            raise UnsupportedType(f"enum {py_type.__name__} must have string values to travel as a Flyte enum")
        self.py_type = py_type
        self.literal_type = LiteralType(enum_type=types_pb2.EnumType(values=values))

    def encode(self, value: Any, lit: Literal) -> None:
        if not isinstance(value, self.py_type):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        lit.scalar.primitive.string_value = value.value

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        if prim.WhichOneof("value") != "string_value":
            return self.decode_other(lit)
        return self.from_builtin(prim.string_value, lenient=False)

    def to_builtin(self, value: Any) -> Any:
        if not isinstance(value, self.py_type):
            raise self.mismatch(f"{type(value).__name__} {value!r}")
        return value.value

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        try:
            return self.py_type(data)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in self.py_type)
            raise self.mismatch(f"{data!r}, which is none of {allowed}") from None


class LiteralValuesCodec(Codec):
    """``typing.Literal["a", "b"]``: the values' own type, its LiteralType annotated with the allowed values."""

    union_tag = "LiteralTypeTransformer"

    def __init__(self, py_type: Any, base: Codec) -> None:
        self.py_type, self.base = py_type, base
        self.values = typing.get_args(py_type)
        self.literal_type = LiteralType()
        self.literal_type.CopyFrom(base.literal_type)
        self.literal_type.annotation.annotations.update({"literal_values": list(self.values)})

    def accepts(self, value: Any) -> bool:
        return self.base.accepts(value) and value in self.values

    def check(self, value: Any) -> Any:
        if not self.accepts(value):
            raise self.mismatch(f"{short_repr(value)}, which is none of {', '.join(map(repr, self.values))}")
        return value

    def encode(self, value: Any, lit: Literal) -> None:
        self.base.encode(self.check(value), lit)

    def decode(self, lit: Literal) -> Any:
        return self.check(self.base.decode(lit))

    def to_builtin(self, value: Any) -> Any:
        return self.base.to_builtin(self.check(value))

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        return self.check(self.base.from_builtin(data, lenient))
