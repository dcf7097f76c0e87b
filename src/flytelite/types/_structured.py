"""Untyped dicts, dataclasses and pydantic models: msgpack inside a ``Binary`` scalar.

Since flytekit 1.14 these travel as ``scalar.binary{value: msgpack, tag: "msgpack"}``; before, as a
``generic`` protobuf Struct (JSON numbers, so integers arrive as floats). Both are read; the new
shape is written. Inside the msgpack document values use JSON-friendly forms: datetimes and dates as
ISO-8601 strings, durations as seconds, enums as their values, files and folders as ``{"path": uri}``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import json
import types
import typing
from typing import Any, Callable

import msgpack
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format

from . import _json_schema
from ._base import Codec, LiteralMismatch, UnsupportedType, codec_for, describe_literal, type_name

MSGPACK_TAG = "msgpack"


def _msgpack_annotation() -> types_pb2.TypeAnnotation:
    annotation = types_pb2.TypeAnnotation()
    annotation.annotations.update({"cache-key-metadata": {"serialization-format": MSGPACK_TAG}})
    return annotation


def is_pydantic_model(py_type: type) -> bool:
    module = __import__("sys").modules.get("pydantic")
    return module is not None and issubclass(py_type, module.BaseModel)


def _struct_literal_type(field_types: dict[str, Any], schema: Callable[[], dict[str, Any]]) -> types_pb2.LiteralType:
    lt = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT, annotation=_msgpack_annotation())
    # Field types first: they reject what cannot be expressed (a type containing itself) before the schema is built.
    for name, field_type in field_types.items():
        if getattr(field_type, "__module__", "").startswith("pandas"):  # flytekit cannot serialize one either
            raise UnsupportedType(
                f"field {name!r} is a pandas {type_name(field_type)}: a data frame inside a dataclass or pydantic model "
                "must be a StructuredDataset (StructuredDataset(dataframe=df)), as in flytekit"
            )
        lt.structure.dataclass_type[name].CopyFrom(codec_for(field_type).literal_type)
    lt.metadata.update(schema())
    return lt


class _BinaryStructCodec(Codec):
    """Common reading and writing of the msgpack binary and the old generic Struct."""

    def to_builtin(self, value: Any) -> Any:
        raise NotImplementedError

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        raise NotImplementedError

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        if not self.accepts(value):
            raise self.mismatch(f"{type(value).__name__} {value!r}"[:120])
        try:
            packed = msgpack.packb(self.to_builtin(value))
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # msgpack: e.g. a set inside
            raise self.mismatch(f"a {type(value).__name__} that cannot be serialized: {exc}"[:300]) from None
        binary = lit.scalar.binary
        binary.value = packed
        binary.tag = MSGPACK_TAG

    def decode(self, lit: literals_pb2.Literal) -> Any:
        scalar = lit.scalar
        kind = scalar.WhichOneof("value")
        if kind == "binary" and scalar.binary.tag == MSGPACK_TAG:
            try:
                data = msgpack.unpackb(scalar.binary.value, strict_map_key=False)
            except (ValueError, msgpack.UnpackException) as exc:
                raise self.mismatch(f"a msgpack binary that cannot be read ({exc})") from None
            return self.from_builtin(data, lenient=False)
        if kind == "generic":
            return self.from_builtin(json_format.MessageToDict(scalar.generic), lenient=True)
        raise self.mismatch(describe_literal(lit))


class UntypedDictCodec(_BinaryStructCodec):
    py_type = dict
    union_tag = "Typed Dict"

    def __init__(self) -> None:
        self.literal_type = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT, annotation=_msgpack_annotation())

    def to_builtin(self, value: Any) -> Any:
        return value

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if not isinstance(data, dict):
            raise self.mismatch(f"a {type(data).__name__} document")
        return data


_MAP_KEY_TYPES = (int, float, bool, str)


class KeyedDictCodec(_BinaryStructCodec):
    """``dict[K, V]`` with keys other than ``str``: Flyte maps have string keys, so flytekit sends msgpack."""

    union_tag = "Typed Dict"

    def __init__(self, py_type: Any) -> None:
        key_type = typing.get_args(py_type)[0]
        if key_type not in _MAP_KEY_TYPES and not (isinstance(key_type, type) and issubclass(key_type, enum.Enum)):
            raise UnsupportedType(
                f"{type_name(py_type)}: dictionary keys must be int, float, bool, str or an Enum, not {type_name(key_type)}"
            )
        codec_for(typing.get_args(py_type)[1])  # the value type must be expressible too
        self.py_type = py_type
        self.literal_type = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT, annotation=_msgpack_annotation())

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def to_builtin(self, value: Any) -> Any:
        try:
            return to_builtin(value, self.py_type)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)}: {exc}") from None

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        try:
            return from_builtin(data, self.py_type, lenient)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)}: {exc}") from None


class DataclassCodec(_BinaryStructCodec):
    union_tag = "Object-Dataclass-Transformer"

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        self.literal_type = _struct_literal_type(_field_types(py_type), lambda: _json_schema.dataclass_schema(py_type))

    def accepts(self, value: Any) -> bool:
        return type(value) is self.py_type

    def to_builtin(self, value: Any) -> Any:
        return to_builtin(value, self.py_type)

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        return from_builtin(data, self.py_type, lenient)


class PydanticCodec(_BinaryStructCodec):
    union_tag = "Pydantic Transformer"

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        field_types = {name: info.annotation for name, info in py_type.model_fields.items()}
        self.literal_type = _struct_literal_type(field_types, py_type.model_json_schema)

    def to_builtin(self, value: Any) -> Any:
        return json.loads(value.model_dump_json())

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        import pydantic

        try:
            return self.py_type.model_validate(data)
        except pydantic.ValidationError as exc:
            raise self.mismatch(f"data that fails validation: {exc}") from None


# --- field conversion ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def to_builtin(value: Any, py_type: Any) -> Any:
    """``value`` as msgpack-friendly builtins, following its declared type."""
    return _encoder(py_type)(value)


def from_builtin(data: Any, py_type: Any, lenient: bool = False) -> Any:
    """The value of ``py_type`` that ``data`` describes; ``lenient`` reads integers sent as floats."""
    return _decoder(py_type)(data, lenient)


def _bad(py_type: Any, data: Any) -> LiteralMismatch:
    return LiteralMismatch(f"expected {type_name(py_type)}, got {type(data).__name__} {data!r}"[:200])


def _checked(py_type: Any, check: Callable[[Any], bool], convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def encode(value: Any) -> Any:
        if not check(value):
            raise _bad(py_type, value)
        return convert(value)

    return encode


def _exact(py_type: type) -> Callable[[Any], Any]:
    def encode(value: Any) -> Any:
        if type(value) is not py_type:
            raise _bad(py_type, value)
        return value

    return encode


def _encode_float(value: Any) -> Any:
    if type(value) is not float and type(value) is not int:
        raise _bad(float, value)
    return value


def _encode_none(value: Any) -> Any:
    if value is not None:
        raise _bad(type(None), value)
    return value


def _identity(value: Any) -> Any:
    return value


_SIMPLE_ENCODERS: dict[Any, Callable[[Any], Any]] = {
    int: _exact(int),
    float: _encode_float,
    str: _exact(str),
    bool: _exact(bool),
    type(None): _encode_none,
    datetime.datetime: _checked(datetime.datetime, lambda v: isinstance(v, datetime.datetime), lambda v: v.isoformat()),
    datetime.date: _checked(datetime.date, lambda v: type(v) is datetime.date, lambda v: v.isoformat()),
    datetime.timedelta: _checked(
        datetime.timedelta, lambda v: isinstance(v, datetime.timedelta), lambda v: v.total_seconds()
    ),
}


@functools.lru_cache(maxsize=None)
def _encoder(py_type: Any) -> Callable[[Any], Any]:
    """The function turning a value of ``py_type`` into builtins; it raises LiteralMismatch on a wrong type."""
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if origin is list:
        item = _encoder(args[0])
        return _checked(py_type, lambda v: isinstance(v, list), lambda v: [item(x) for x in v])
    if origin is dict:
        key, item = _encoder(args[0]), _encoder(args[1])
        return _checked(py_type, lambda v: isinstance(v, dict), lambda v: {key(k): item(x) for k, x in v.items()})
    if origin in (typing.Union, types.UnionType):
        return lambda v: _encode_union(v, py_type, args)
    simple = _SIMPLE_ENCODERS.get(py_type)
    if simple is not None:
        return simple
    if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
        return _checked(py_type, lambda v: isinstance(v, py_type), lambda v: v.value)
    if dataclasses.is_dataclass(py_type):
        return _dataclass_encoder(py_type)
    if isinstance(py_type, type) and hasattr(py_type, "__flytelite_to_builtin__"):  # File, Directory, StructuredDataset
        # a parent class is taken too: a plain File where a File["csv"] is declared
        return _checked(py_type, lambda v: type(v) in py_type.__mro__ or isinstance(v, py_type), lambda v: v.__flytelite_to_builtin__())
    return _identity


def _dataclass_encoder(cls: type) -> Callable[[Any], Any]:
    fields = _field_types(cls)
    encoders: list[tuple[str, Callable[[Any], Any]]] = []  # filled on first use: a dataclass may refer to itself

    def encode(value: Any) -> Any:
        if not isinstance(value, cls):
            raise _bad(cls, value)
        if len(encoders) != len(fields):
            encoders[:] = [(name, _encoder(field_type)) for name, field_type in fields.items()]
        out = {}
        for name, field_encoder in encoders:
            try:
                out[name] = field_encoder(getattr(value, name))
            except LiteralMismatch as exc:
                raise LiteralMismatch(f"field '{cls.__name__}.{name}': {exc}") from None
        return out

    return encode


def _encode_union(value: Any, py_type: Any, args: tuple[Any, ...]) -> Any:
    for arg in args:
        if arg is type(None) and value is None:
            return None
        if arg is not type(None) and codec_for(arg).accepts(value):
            return _encoder(arg)(value)
    raise _bad(py_type, value)


@functools.lru_cache(maxsize=None)
def _decoder(py_type: Any) -> Callable[[Any, bool], Any]:
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if origin is list:
        return _list_decoder(py_type, _decoder(args[0]))
    if origin is dict:
        return _dict_decoder(py_type, _key_decoder(args[0]), _decoder(args[1]))
    if origin in (typing.Union, types.UnionType):
        return _union_decoder(py_type, args)
    if py_type is dict:
        return _typed_check(py_type, dict)
    if dataclasses.is_dataclass(py_type):
        return _dataclass_decoder(py_type)
    simple = _SIMPLE_DECODERS.get(py_type)
    if simple is not None:
        return simple
    if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
        return _enum_decoder(py_type)
    if isinstance(py_type, type) and hasattr(py_type, "__flytelite_from_builtin__"):
        return lambda data, lenient: _from_builtin_hook(py_type, data)
    raise LiteralMismatch(f"{type_name(py_type)} cannot appear inside a dataclass")


def _from_builtin_hook(py_type: type, data: Any) -> Any:
    try:
        return py_type.__flytelite_from_builtin__(data)
    except ValueError:
        raise _bad(py_type, data) from None


def _typed_check(py_type: Any, builtin: type) -> Callable[[Any, bool], Any]:
    def decode(data: Any, lenient: bool) -> Any:
        if type(data) is not builtin:
            raise _bad(py_type, data)
        return data

    return decode


def _decode_int(data: Any, lenient: bool) -> int:
    if type(data) is int:
        return data
    if lenient and type(data) is float and data.is_integer():
        return int(data)
    raise _bad(int, data)


def _decode_float(data: Any, lenient: bool) -> float:
    if type(data) in (float, int):
        return float(data)
    raise _bad(float, data)


def _decode_datetime(data: Any, lenient: bool) -> datetime.datetime:
    if not isinstance(data, str):
        raise _bad(datetime.datetime, data)
    return datetime.datetime.fromisoformat(data.replace("Z", "+00:00"))


def _decode_date(data: Any, lenient: bool) -> datetime.date:
    if not isinstance(data, str):
        raise _bad(datetime.date, data)
    return datetime.date.fromisoformat(data[:10])


def _decode_timedelta(data: Any, lenient: bool) -> datetime.timedelta:
    if type(data) not in (float, int):
        raise _bad(datetime.timedelta, data)
    return datetime.timedelta(seconds=data)


def _decode_none(data: Any, lenient: bool) -> None:
    if data is not None:
        raise _bad(type(None), data)
    return None


_SIMPLE_DECODERS: dict[Any, Callable[[Any, bool], Any]] = {
    int: _decode_int,
    float: _decode_float,
    str: _typed_check(str, str),
    bool: _typed_check(bool, bool),
    datetime.datetime: _decode_datetime,
    datetime.date: _decode_date,
    datetime.timedelta: _decode_timedelta,
    type(None): _decode_none,
}


def _list_decoder(py_type: Any, item: Callable[[Any, bool], Any]) -> Callable[[Any, bool], Any]:
    def decode(data: Any, lenient: bool) -> Any:
        if not isinstance(data, list):
            raise _bad(py_type, data)
        return [item(x, lenient) for x in data]

    return decode


def _key_decoder(key_type: Any) -> Callable[[Any, bool], Any]:
    decode_key = _decoder(key_type)
    if key_type is str:
        return decode_key

    def decode(data: Any, lenient: bool) -> Any:
        # The old generic Struct (JSON) turned every key into a string: read "3" back as 3.
        if lenient and isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                pass
        return decode_key(data, lenient)

    return decode


def _dict_decoder(
    py_type: Any, key: Callable[[Any, bool], Any], item: Callable[[Any, bool], Any]
) -> Callable[[Any, bool], Any]:
    def decode(data: Any, lenient: bool) -> Any:
        if not isinstance(data, dict):
            raise _bad(py_type, data)
        return {key(k, lenient): item(x, lenient) for k, x in data.items()}

    return decode


def _union_decoder(py_type: Any, args: tuple[Any, ...]) -> Callable[[Any, bool], Any]:
    decoders = [_decoder(arg) for arg in args]

    def decode(data: Any, lenient: bool) -> Any:
        for decoder in decoders:
            try:
                return decoder(data, lenient)
            except (LiteralMismatch, KeyError, TypeError, ValueError):
                continue
        raise _bad(py_type, data)

    return decode


def _enum_decoder(py_type: type[enum.Enum]) -> Callable[[Any, bool], Any]:
    def decode(data: Any, lenient: bool) -> Any:
        try:
            return py_type(data)
        except ValueError:
            raise _bad(py_type, data) from None

    return decode


def _dataclass_decoder(cls: type) -> Callable[[Any, bool], Any]:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    types_by_name = _field_types(cls)
    field_decoders: dict[str, Callable[[Any, bool], Any]] = {}  # filled on first use, then reused per row

    def decode(data: Any, lenient: bool) -> Any:
        if not isinstance(data, dict):
            raise _bad(cls, data)
        if not field_decoders:
            field_decoders.update((name, _decoder(types_by_name[name])) for name in fields)
        kwargs = {}
        for name, field in fields.items():
            if name in data:
                try:
                    kwargs[name] = field_decoders[name](data[name], lenient)
                except LiteralMismatch as exc:
                    raise LiteralMismatch(f"field '{cls.__name__}.{name}': {exc}") from None
            elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                raise LiteralMismatch(
                    f"{cls.__name__} needs field '{name}' ({type_name(types_by_name[name])}), "
                    f"but the data has only {sorted(data)}"
                )
        return cls(**kwargs)

    return decode
