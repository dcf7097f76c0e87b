"""JSON schemas of dataclasses: the ``metadata`` of their ``LiteralType``.

flytekit writes mashumaro's schema (nested dataclasses inlined, no ``$defs``); this builds the same
document for the field types flytelite supports, so registered interfaces compare equal.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
from typing import Any

from ._base import codec_for

_SIMPLE = {
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.timedelta: {"type": "number", "format": "time-delta"},
}


def dataclass_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in dataclasses.fields(cls):
        if not field.init:
            continue
        prop = field_schema(hints[field.name])
        if field.default is not dataclasses.MISSING:
            prop["default"] = codec_for(hints[field.name]).to_builtin(field.default)  # a datetime as its ISO text
        elif field.default_factory is dataclasses.MISSING:
            required.append(field.name)
        properties[field.name] = prop
    schema: dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def field_schema(py_type: Any) -> dict[str, Any]:
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    simple = _SIMPLE.get(py_type) if origin is None else None  # List[Annotated[...]] may be unhashable
    if simple is not None:
        return dict(simple)
    if origin is list:
        return {"type": "array", "items": field_schema(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": field_schema(args[1]), "propertyNames": field_schema(args[0])}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [field_schema(arg) for arg in args]}
    if py_type is dict:
        return {"type": "object"}
    if dataclasses.is_dataclass(py_type):
        return dataclass_schema(py_type)
    if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
        return {"enum": [member.value for member in py_type]}
    if hasattr(py_type, "__flytelite_json_schema__"):
        return py_type.__flytelite_json_schema__()
    return {}
