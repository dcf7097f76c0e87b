"""Python values <-> Flyte literals, wire-compatible with what flytekit 1.16 writes and reads.

Each Python type gets a :class:`Codec` once (``codec_for``) that knows the type's ``LiteralType``
and how to fill a ``Literal`` in place (``encode``) or read one (``decode``). Codecs of containers
hold the codecs of their elements, so a ``list[int]`` of 200,000 elements is converted by one loop
over protobuf messages with no per-element type dispatch.

Every mismatch raises :class:`LiteralMismatch`; ``decode_map`` / ``encode_map`` turn it into a
``TypeError`` naming the input or output, the expected type and what arrived.
"""

from __future__ import annotations

import datetime
import enum
import functools
import types
import typing
from typing import Any, Callable

from flyteidl.core import literals_pb2, types_pb2

Literal = literals_pb2.Literal
LiteralType = types_pb2.LiteralType
SimpleType = types_pb2.SimpleType

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class LiteralMismatch(Exception):
    """A value or literal does not fit the declared type (the message says both)."""


class UnsupportedType(TypeError):
    """A Python type that cannot be expressed as a Flyte type."""


def type_name(py_type: Any) -> str:
    """A readable name of a type annotation, for messages."""
    if isinstance(py_type, type) and not typing.get_args(py_type):
        return py_type.__name__
    return repr(py_type).replace("typing.", "")


def describe_literal(lit: Literal) -> str:
    """What a literal holds, in a few words, for mismatch messages."""
    kind = lit.WhichOneof("value")
    if kind == "scalar":
        scalar = lit.scalar
        sub = scalar.WhichOneof("value")
        if sub == "primitive":
            prim = scalar.primitive.WhichOneof("value")
            shown = repr(getattr(scalar.primitive, prim)) if prim in ("integer", "float_value", "string_value", "boolean") else ""
            return f"a {prim} literal {shown}".rstrip()
        if sub == "binary":
            return f"a binary literal tagged {scalar.binary.tag!r}"
        return f"a {sub} literal" if sub else "an empty scalar literal"
    return f"a {kind} literal" if kind else "an empty literal"


class Codec:
    """Converts between one Python type and its literals."""

    py_type: Any
    literal_type: LiteralType
    union_tag: str  # the ``structure.tag`` flytekit gives this type as a union variant

    def encode(self, value: Any, lit: Literal) -> None:
        raise NotImplementedError

    def decode(self, lit: Literal) -> Any:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is of this type (used to pick a union variant)."""
        return isinstance(value, self.py_type)

    def encode_many(self, values: list[Any], lits: Any) -> None:
        for value in values:
            self.encode(value, lits.add())

    def decode_many(self, lits: Any) -> list[Any]:
        return [self.decode(lit) for lit in lits]

    def mismatch(self, got: str) -> LiteralMismatch:
        return LiteralMismatch(f"expected {type_name(self.py_type)}, got {got}")


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
            got = f"{type(value).__name__} {_short_repr(value)}"
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
            got = f"{type(value).__name__} {_short_repr(value)}"
            raise self.mismatch(f"{got} that protobuf cannot hold ({exc})") from None

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        if prim.WhichOneof("value") != self.field:
            raise self.mismatch(describe_literal(lit))
        return getattr(prim, self.field)

    def decode_many(self, lits: Any) -> list[Any]:
        field = self.field
        values = [getattr(lit.scalar.primitive, field) for lit in lits]
        if self.default in values:
            for index, value in enumerate(values):
                if value == self.default:
                    values[index] = self.decode(lits[index])
        return values


class _IntCodec(_PrimitiveCodec):
    py_type = int
    simple = SimpleType.INTEGER
    field = "integer"
    default = 0


class _StrCodec(_PrimitiveCodec):
    py_type = str
    simple = SimpleType.STRING
    field = "string_value"
    default = ""


class _BoolCodec(_PrimitiveCodec):
    py_type = bool
    simple = SimpleType.BOOLEAN
    field = "boolean"
    default = False


class _FloatCodec(_PrimitiveCodec):
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

    def decode(self, lit: Literal) -> Any:
        prim = lit.scalar.primitive
        kind = prim.WhichOneof("value")
        if kind == "float_value":
            return prim.float_value
        if kind == "integer":
            return float(prim.integer)
        raise self.mismatch(describe_literal(lit))


class _DatetimeCodec(Codec):
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
            raise self.mismatch(describe_literal(lit))
        return prim.datetime.ToDatetime(tzinfo=datetime.timezone.utc)


class _DateCodec(_DatetimeCodec):
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
        return super().decode(lit).date()


class _DurationCodec(Codec):
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
            raise self.mismatch(describe_literal(lit))
        return prim.duration.ToTimedelta()


class _NoneCodec(Codec):
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
            raise self.mismatch(describe_literal(lit))
        return None


# --- containers ---------------------------------------------------------------------------------


class _ListCodec(Codec):
    union_tag = "Typed List"

    def __init__(self, py_type: Any, item: Codec) -> None:
        self.py_type = py_type
        self.item = item
        self.literal_type = LiteralType(collection_type=item.literal_type)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, list)

    def encode(self, value: Any, lit: Literal) -> None:
        if not isinstance(value, list):
            raise self.mismatch(f"{type(value).__name__} {_short_repr(value)}")
        lit.collection.SetInParent()  # an empty list is still a collection literal
        lits = lit.collection.literals
        try:
            self.item.encode_many(value, lits)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)} element: {exc}") from None

    def decode(self, lit: Literal) -> Any:
        if lit.WhichOneof("value") != "collection":
            raise self.mismatch(describe_literal(lit))
        try:
            return self.item.decode_many(lit.collection.literals)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)} element: {exc}") from None


class _DictCodec(Codec):
    union_tag = "Typed Dict"

    def __init__(self, py_type: Any, value_codec: Codec) -> None:
        self.py_type = py_type
        self.value_codec = value_codec
        self.literal_type = LiteralType(map_value_type=value_codec.literal_type)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def encode(self, value: Any, lit: Literal) -> None:
        if not isinstance(value, dict):
            raise self.mismatch(f"{type(value).__name__} {_short_repr(value)}")
        lit.map.SetInParent()  # an empty dict is still a map literal
        target = lit.map.literals
        for key, item in value.items():
            if not isinstance(key, str):
                raise self.mismatch(f"a key {key!r} that is not a string")
            try:
                self.value_codec.encode(item, target[key])
            except LiteralMismatch as exc:
                raise LiteralMismatch(f"in {type_name(self.py_type)} key {key!r}: {exc}") from None

    def decode(self, lit: Literal) -> Any:
        if lit.WhichOneof("value") != "map":
            raise self.mismatch(describe_literal(lit))
        out = {}
        for key, item in lit.map.literals.items():
            try:
                out[key] = self.value_codec.decode(item)
            except LiteralMismatch as exc:
                raise LiteralMismatch(f"in {type_name(self.py_type)} key {key!r}: {exc}") from None
        return out


class _UnionCodec(Codec):
    """``Optional[T]`` and ``Union[...]``: the literal carries the chosen variant's tagged type."""

    union_tag = "Typed Union"

    def __init__(self, py_type: Any, variants: list[Codec]) -> None:
        self.py_type = py_type
        self.variants = variants
        self.literal_type = LiteralType(union_type=types_pb2.UnionType(variants=[self._tagged(v) for v in variants]))

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

    def _variant_for(self, value: Any) -> Codec:
        for variant in self.variants:
            if variant.accepts(value):
                return variant
        raise self.mismatch(f"{type(value).__name__} {_short_repr(value)}")

    def encode(self, value: Any, lit: Literal) -> None:
        variant = self._variant_for(value)
        union = lit.scalar.union
        variant.encode(value, union.value)
        union.type.CopyFrom(self._tagged(variant))

    def decode(self, lit: Literal) -> Any:
        if lit.scalar.WhichOneof("value") == "union":
            tag = lit.scalar.union.type.structure.tag
            for variant in self.variants:
                if variant.union_tag == tag:
                    return variant.decode(lit.scalar.union.value)
            return self._decode_any(lit.scalar.union.value)
        return self._decode_any(lit)

    def _decode_any(self, lit: Literal) -> Any:
        # Untagged data (written by hand, or an old SDK): the first variant that reads it wins.
        for variant in self.variants:
            try:
                return variant.decode(lit)
            except LiteralMismatch:
                continue
        raise self.mismatch(describe_literal(lit))


class _EnumCodec(Codec):
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
            raise self.mismatch(describe_literal(lit))
        try:
            return self.py_type(prim.string_value)
        except ValueError:
            allowed = ", ".join(repr(m.value) for m in self.py_type)
            raise self.mismatch(f"{prim.string_value!r}, which is none of {allowed}") from None


def _short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- registry -----------------------------------------------------------------------------------

_SIMPLE_CODECS: dict[Any, Callable[[], Codec]] = {
    int: _IntCodec,
    float: _FloatCodec,
    str: _StrCodec,
    bool: _BoolCodec,
    datetime.datetime: _DatetimeCodec,
    datetime.date: _DateCodec,
    datetime.timedelta: _DurationCodec,
    type(None): _NoneCodec,
    None: _NoneCodec,
}


@functools.lru_cache(maxsize=None)
def _cached_codec(py_type: Any) -> Codec:
    return _build_codec(py_type)


def codec_for(py_type: Any) -> Codec:
    """The codec of a Python type annotation; raises :class:`UnsupportedType` if there is none."""
    try:
        return _cached_codec(py_type)
    except TypeError as exc:
        if isinstance(exc, UnsupportedType):
            raise
        return _build_codec(py_type)  # unhashable annotation: build without caching


_UNDER_CONSTRUCTION: set[int] = set()


def _build_codec(py_type: Any) -> Codec:
    # A type that contains itself (a tree dataclass) has no finite LiteralType: say so, don't recurse.
    if id(py_type) in _UNDER_CONSTRUCTION:
        raise UnsupportedType(f"{type_name(py_type)} refers to itself: recursive types cannot be expressed as a Flyte type")
    _UNDER_CONSTRUCTION.add(id(py_type))
    try:
        return _build_codec_of(py_type)
    finally:
        _UNDER_CONSTRUCTION.discard(id(py_type))


def _build_codec_of(py_type: Any) -> Codec:
    simple = _SIMPLE_CODECS.get(py_type)
    if simple is not None:
        return simple()
    origin = typing.get_origin(py_type)
    args = typing.get_args(py_type)
    if origin is typing.Annotated:
        return codec_for(args[0])
    if origin in (typing.Union, types.UnionType):
        return _UnionCodec(py_type, [codec_for(arg) for arg in args])
    if origin is list:
        if not args:
            raise UnsupportedType("list needs an element type, e.g. list[int]")
        return _ListCodec(py_type, codec_for(args[0]))
    if origin is dict:
        if args and args[0] is not str:
            raise UnsupportedType(f"{type_name(py_type)}: Flyte maps need string keys, e.g. dict[str, int]")
        return _DictCodec(py_type, codec_for(args[1])) if args else _structured().UntypedDictCodec()
    if py_type is dict:
        return _structured().UntypedDictCodec()
    if isinstance(py_type, type):
        return _codec_for_class(py_type)
    raise UnsupportedType(f"{type_name(py_type)} cannot be expressed as a Flyte type")


def _structured() -> Any:
    from . import _structured_types

    return _structured_types


def _codec_for_class(py_type: type) -> Codec:
    if issubclass(py_type, enum.Enum):
        return _EnumCodec(py_type)
    if hasattr(py_type, "__dataclass_fields__"):  # dataclasses.is_dataclass, without importing it
        return _structured().DataclassCodec(py_type)
    if _structured().is_pydantic_model(py_type):
        return _structured().PydanticCodec(py_type)
    blob_codec = _blob_codec(py_type)
    if blob_codec is not None:
        return blob_codec
    if getattr(py_type, "__module__", "").startswith("pandas"):  # pandas is imported only for its own classes
        from .dataframes import dataframe_codec

        frame_codec = dataframe_codec(py_type)
        if frame_codec is not None:
            return frame_codec
    if py_type in (tuple, set, frozenset, list):
        raise UnsupportedType(f"{py_type.__name__} is not a Flyte type: use list[T] with an element type")
    from ._pickled import PickleCodec

    return PickleCodec(py_type)


def _blob_codec(py_type: type) -> Codec | None:
    from . import files

    if issubclass(py_type, files.File):
        return files.FileCodec(py_type)
    if issubclass(py_type, files.Directory):
        return files.DirectoryCodec(py_type)
    return None


# --- public conversions -------------------------------------------------------------------------


def literal_type(py_type: Any) -> LiteralType:
    """The ``LiteralType`` of a Python type annotation."""
    return codec_for(py_type).literal_type


def to_literal(value: Any, py_type: Any) -> Literal:
    """A new ``Literal`` holding ``value`` as ``py_type``."""
    lit = Literal()
    codec_for(py_type).encode(value, lit)
    return lit


def to_python(lit: Literal, py_type: Any) -> Any:
    """The Python value of ``lit`` read as ``py_type``."""
    return codec_for(py_type).decode(lit)


def encode_literals(values: dict[str, Any], types_by_name: dict[str, Any], what: str = "output") -> dict[str, bytes]:
    """Each value serialized as a ``Literal`` of its declared type, by name (in declaration order)."""
    from ._literal_bytes import encode_literal

    out = {}
    for name, py_type in types_by_name.items():
        if name not in values:
            raise TypeError(f"{what} '{name}' is missing (expected {type_name(py_type)})")
        try:
            out[name] = encode_literal(codec_for(py_type), values[name])
        except LiteralMismatch as exc:
            raise TypeError(f"{what} '{name}': {exc}") from None
    return out


_MISSING = object()


def decode_map_bytes(
    data: bytes,
    types_by_name: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    what: str = "input",
) -> dict[str, Any]:
    """Python values of a serialized ``LiteralMap``; names absent from it take their default.

    Raises ``MalformedLiteral`` (a ``ValueError``) for bytes that are not a LiteralMap.
    """
    from ._literal_bytes import decode_literal, map_entries

    defaults = defaults or {}
    entries = map_entries(data)
    out: dict[str, Any] = {}
    for name, py_type in types_by_name.items():
        if name in entries:
            try:
                out[name] = decode_literal(codec_for(py_type), data, *entries[name])
            except LiteralMismatch as exc:
                raise TypeError(f"{what} '{name}': {exc}") from None
        elif defaults.get(name, _MISSING) is not _MISSING:
            out[name] = defaults[name]
        else:
            raise TypeError(f"{what} '{name}' is missing and has no default (expected {type_name(py_type)})")
    return out


def encode_map(values: dict[str, Any], types_by_name: dict[str, Any], what: str = "output") -> literals_pb2.LiteralMap:
    """A ``LiteralMap`` of ``values``, each converted by its declared type."""
    from ._literal_bytes import literal_map_bytes

    return literals_pb2.LiteralMap.FromString(literal_map_bytes(encode_literals(values, types_by_name, what)))


def decode_map(
    literal_map: literals_pb2.LiteralMap,
    types_by_name: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    what: str = "input",
) -> dict[str, Any]:
    """Python values of a ``LiteralMap``; names absent from the map take their default."""
    return decode_map_bytes(literal_map.SerializeToString(), types_by_name, defaults, what)
