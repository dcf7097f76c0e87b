"""Untyped dicts, dataclasses and pydantic models: msgpack inside a ``Binary`` scalar.

Since flytekit 1.14 these travel as ``scalar.binary{value: msgpack, tag: "msgpack"}``; before, as a
``generic`` protobuf Struct (JSON numbers, so integers arrive as floats). Both are read; the new
shape is written, or the old one when ``FLYTE_USE_OLD_DC_FORMAT=true`` (as flytekit does).

A dataclass's fields are converted by their own codecs (``Codec.to_builtin`` / ``from_builtin``): one
table decides what a type looks like as a literal, inside a document and in ``flytelite run``'s JSON.
A field whose codec has no document form is refused when the dataclass's codec is built, naming it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import typing
from typing import Any, Callable

import msgpack
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format

from . import _json_schema
from ._base import MSGPACK_TAG, Codec, LiteralMismatch, UnsupportedType, codec_for, type_name

OLD_FORMAT_VARIABLE = "FLYTE_USE_OLD_DC_FORMAT"  # "true": write the pre-1.14 JSON Struct, as flytekit does


def _msgpack_annotation() -> types_pb2.TypeAnnotation:
    annotation = types_pb2.TypeAnnotation()
    annotation.annotations.update({"cache-key-metadata": {"serialization-format": MSGPACK_TAG}})
    return annotation


def is_pydantic_model(py_type: type) -> bool:
    module = __import__("sys").modules.get("pydantic")
    return module is not None and issubclass(py_type, module.BaseModel)


def _field_codecs(owner: type, field_types: dict[str, Any], check_documents: bool) -> dict[str, Codec]:
    """The codec of each field; ``check_documents``: refuse a field that has no form inside the document."""
    codecs = {}
    for name, field_type in field_types.items():
        if getattr(field_type, "__module__", "").startswith("pandas"):  # flytekit cannot serialize one either
            raise UnsupportedType(
                f"field {name!r} is a pandas {type_name(field_type)}: a data frame inside a dataclass or pydantic model "
                "must be a StructuredDataset (StructuredDataset(dataframe=df)), as in flytekit"
            )
        codec = codecs[name] = codec_for(field_type)
        gap = codec.document_gap() if check_documents else None
        if gap:
            raise UnsupportedType(
                f"field '{owner.__name__}.{name}' ({type_name(field_type)}) cannot be carried inside a dataclass: {gap}; "
                "make it its own task input or output, or give its codec to_builtin/from_builtin"
            )
    return codecs


def _struct_literal_type(field_codecs: dict[str, Codec], schema: Callable[[], dict[str, Any]]) -> types_pb2.LiteralType:
    lt = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT, annotation=_msgpack_annotation())
    for name, codec in field_codecs.items():
        lt.structure.dataclass_type[name].CopyFrom(codec.literal_type)
    lt.metadata.update(schema())
    return lt


def writes_old_format() -> bool:
    return os.environ.get(OLD_FORMAT_VARIABLE, "").lower() in ("true", "t", "1")  # flytekit's str2bool


class _BinaryStructCodec(Codec):
    """Common reading and writing of the msgpack binary and the old generic Struct."""

    reads_struct = True
    old_format_metadata: dict[str, str] = {}  # the Literal's metadata beside the old Struct

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        if not self.accepts(value):
            raise self.mismatch(f"{type(value).__name__} {value!r}"[:120])
        data = self.to_builtin(value)
        if writes_old_format():
            self.encode_struct(data, lit)
            return
        try:
            packed = msgpack.packb(data)
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # msgpack: e.g. a set inside
            raise self.mismatch(f"a {type(value).__name__} that cannot be serialized: {exc}"[:300]) from None
        binary = lit.scalar.binary
        binary.value = packed
        binary.tag = MSGPACK_TAG

    def encode_struct(self, data: Any, lit: literals_pb2.Literal) -> None:
        try:
            text = json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise self.mismatch(f"data that JSON cannot hold: {exc}"[:300]) from None
        json_format.Parse(text, lit.scalar.generic)
        lit.metadata.update(self.old_format_metadata)

    def decode(self, lit: literals_pb2.Literal) -> Any:
        return self.decode_other(lit)


class UntypedDictCodec(_BinaryStructCodec):
    py_type = dict
    union_tag = "Typed Dict"
    old_format_metadata = {"format": "json"}

    def __init__(self) -> None:
        self.literal_type = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT, annotation=_msgpack_annotation())

    def to_builtin(self, value: Any) -> Any:
        self.require(value, dict)
        return value

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if not isinstance(data, dict):
            raise self.mismatch(f"a {type(data).__name__} document")
        return data


_MAP_KEY_TYPES = (int, float, bool, str)


class KeyedDictCodec(_BinaryStructCodec):
    """``dict[K, V]`` with keys other than ``str``: Flyte maps have string keys, so flytekit sends msgpack."""

    union_tag = "Typed Dict"
    old_format_metadata = {"format": "json"}

    def __init__(self, py_type: Any) -> None:
        key_type = typing.get_args(py_type)[0]
        if key_type not in _MAP_KEY_TYPES and not (isinstance(key_type, type) and issubclass(key_type, enum.Enum)):
            raise UnsupportedType(
                f"{type_name(py_type)}: dictionary keys must be int, float, bool, str or an Enum, not {type_name(key_type)}"
            )
        self.key_codec, self.value_codec = codec_for(key_type), codec_for(typing.get_args(py_type)[1])
        gap = self.value_codec.document_gap()
        if gap:
            raise UnsupportedType(f"{type_name(py_type)} travels as one msgpack document, and {gap}")
        self.py_type = py_type
        self.literal_type = types_pb2.LiteralType(simple=types_pb2.SimpleType.STRUCT, annotation=_msgpack_annotation())

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict)

    def to_builtin(self, value: Any) -> Any:
        self.require(value, dict)
        key, item = self.key_codec.to_builtin, self.value_codec.to_builtin
        try:
            return {key(k): item(v) for k, v in value.items()}
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)}: {exc}") from None

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        self.require(data, dict)
        item = self.value_codec.from_builtin
        try:
            return {self._key(k, lenient): item(v, lenient) for k, v in data.items()}
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(self.py_type)}: {exc}") from None

    def _key(self, data: Any, lenient: bool) -> Any:
        # The old generic Struct (JSON) turned every key into a string: read "3" back as 3.
        if lenient and isinstance(data, str) and self.key_codec.py_type is not str:
            try:
                data = json.loads(data)
            except ValueError:
                pass
        return self.key_codec.from_builtin(data, lenient)


class DataclassCodec(_BinaryStructCodec):
    union_tag = "Object-Dataclass-Transformer"

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        self.fields = {f.name: f for f in dataclasses.fields(py_type) if f.init}
        hints = typing.get_type_hints(py_type)
        self.field_codecs = _field_codecs(py_type, {name: hints[name] for name in self.fields}, check_documents=True)
        self.literal_type = _struct_literal_type(self.field_codecs, lambda: _json_schema.dataclass_schema(py_type))

    def accepts(self, value: Any) -> bool:
        return type(value) is self.py_type

    def to_builtin(self, value: Any) -> Any:
        self.require(value, self.py_type)
        out = {}
        for name, codec in self.field_codecs.items():
            try:
                out[name] = codec.to_builtin(getattr(value, name))
            except LiteralMismatch as exc:
                raise LiteralMismatch(f"field '{self.py_type.__name__}.{name}': {exc}") from None
        return out

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        self.require(data, dict)
        kwargs = {}
        for name, codec in self.field_codecs.items():
            if name in data:
                try:
                    kwargs[name] = codec.from_builtin(data[name], lenient)
                except LiteralMismatch as exc:
                    raise LiteralMismatch(f"field '{self.py_type.__name__}.{name}': {exc}") from None
            elif self.fields[name].default is dataclasses.MISSING and self.fields[name].default_factory is dataclasses.MISSING:
                raise LiteralMismatch(
                    f"{self.py_type.__name__} needs field '{name}' ({type_name(codec.py_type)}), "
                    f"but the data has only {sorted(data)}"
                )
        return self.py_type(**kwargs)


class PydanticCodec(_BinaryStructCodec):
    union_tag = "Pydantic Transformer"

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        field_types = {name: info.annotation for name, info in py_type.model_fields.items()}
        # pydantic converts its own fields (its serializers, with File's and StructuredDataset's hooks)
        field_codecs = _field_codecs(py_type, field_types, check_documents=False)
        self.literal_type = _struct_literal_type(field_codecs, py_type.model_json_schema)

    def to_builtin(self, value: Any) -> Any:
        self.require(value, self.py_type)
        return json.loads(value.model_dump_json())

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        import pydantic

        try:
            return self.py_type.model_validate(data)
        except pydantic.ValidationError as exc:
            raise self.mismatch(f"data that fails validation: {exc}") from None
