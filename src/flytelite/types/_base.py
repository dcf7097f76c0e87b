"""The leaf of the type engine: what every codec needs, and nothing that finds codecs.

A :class:`Codec` converts one Python type to and from its Flyte literals. Codecs import this module
only; the registry (``_registry``) builds them and installs the lookup that ``codec_for`` here
delegates to, so a codec of a container or a dataclass can find its elements' codecs without
importing the registry back.

Codecs that store blobs (files, pickles, data frames) write them under :func:`blob_paths`, which the
conversion functions set from what their caller hands them.
"""

from __future__ import annotations

import contextlib
import os
import typing
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from flyteidl.core import literals_pb2, types_pb2

from ..io import FlyteliteError
from ..support.records import Record

Literal = literals_pb2.Literal
LiteralType = types_pb2.LiteralType


class LiteralMismatch(FlyteliteError):
    """A value or literal does not fit the declared type (the message says both)."""


class UnsupportedType(FlyteliteError, TypeError):
    """A Python type that cannot be expressed as a Flyte type."""


class InterfaceMismatch(FlyteliteError, TypeError):
    """Values that do not fit a task's declared inputs or outputs: the message names the input or output.

    Raised where the engine converts named values (:func:`converting`): the user's data or code is at
    fault. A ``TypeError`` too, as it was before it had a class of its own.
    """


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

    def require(self, value: Any, kind: type | tuple[type, ...]) -> None:
        """Raise a mismatch naming ``value`` unless it is a ``kind``."""
        if not isinstance(value, kind):
            raise self.mismatch(f"{type(value).__name__} {short_repr(value)}")

    # --- the value inside a msgpack document: a dataclass field, or an attribute the backend resolved ---

    def to_builtin(self, value: Any) -> Any:
        """``value`` as msgpack-friendly builtins, its form inside a dataclass document."""
        raise UnsupportedType(f"{type_name(self.py_type)} has no form inside a dataclass document")

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        """The value that ``to_builtin`` gave ``data`` for; ``lenient`` reads JSON's floats as integers."""
        raise UnsupportedType(f"{type_name(self.py_type)} has no form inside a dataclass document")

    def document_gap(self) -> str | None:
        """Why a value of this type cannot travel inside a dataclass document; ``None`` when it can."""
        if type(self).to_builtin is Codec.to_builtin or type(self).from_builtin is Codec.from_builtin:
            return f"{type_name(self.py_type)} has no form inside a dataclass document"
        return None

    def decode_other(self, lit: Literal) -> Any:
        """A literal not of this type's own shape, as the backend also sends it: a ``Binary`` tagged
        msgpack holding just the value (an attribute of a dataclass output, Flyte RFC 5741), or, for the
        types FlyteConsole sends as JSON, a ``Struct``."""
        scalar = lit.scalar
        kind = scalar.WhichOneof("value") if lit.WhichOneof("value") == "scalar" else None
        if kind == "binary" and scalar.binary.tag == MSGPACK_TAG and self.document_gap() is None:
            return self.from_builtin(unpack_msgpack(scalar.binary.value, self), lenient=False)
        if kind == "generic" and self.reads_struct and self.document_gap() is None:
            from google.protobuf import json_format

            return self.from_builtin(json_format.MessageToDict(scalar.generic), lenient=True)
        raise self.mismatch(describe_literal(lit))

    reads_struct = False  # whether a FlyteConsole JSON ``Struct`` is read (dataclasses, dicts, files)


MSGPACK_TAG = "msgpack"


def unpack_msgpack(data: bytes, codec: Codec) -> Any:
    import msgpack

    try:
        return msgpack.unpackb(data, strict_map_key=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise codec.mismatch(f"a msgpack binary that cannot be read ({exc})") from None



def short_repr(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _registry_not_loaded(py_type: Any) -> Codec:
    raise RuntimeError("the codec registry is not loaded (flytelite.types loads it on import)")


_lookup: Callable[[Any], Codec] = _registry_not_loaded


def install_lookup(lookup: Callable[[Any], Codec]) -> None:
    """Called once by the registry, which ``flytelite.types`` imports: how ``codec_for`` finds a codec."""
    global _lookup
    _lookup = lookup


def codec_for(py_type: Any) -> Codec:
    """The codec of a Python type annotation; raises :class:`UnsupportedType` if there is none."""
    return _lookup(py_type)


def self_converting_schema(validate: Callable[[Any], Any], ref: str) -> Any:
    """The pydantic core schema of a class that converts itself to builtins (``__flytelite_to_builtin__``)
    and back (``validate``): how ``File`` and ``StructuredDataset`` fields of a pydantic model travel.
    ``ref`` names its JSON schema in the model's ``$defs``, as flytekit's classes are named there."""
    from pydantic_core import core_schema

    serialize = core_schema.plain_serializer_function_ser_schema(lambda value: value.__flytelite_to_builtin__(), when_used="json")
    return core_schema.no_info_plain_validator_function(validate, serialization=serialize, ref=ref)


def pydantic_style(schema: dict[str, Any]) -> dict[str, Any]:
    """A dataclass field's JSON schema (mashumaro's style) as pydantic writes the same class: every
    property titled after its name, no ``additionalProperties: false``, no ``propertyNames``."""
    out = {key: value for key, value in schema.items() if key != "additionalProperties"}
    out["properties"] = {
        name: {"title": name.replace("_", " ").title(), **_without_property_names(prop)} for name, prop in schema["properties"].items()
    }
    return out


def _without_property_names(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {key: _without_property_names(value) for key, value in schema.items() if key != "propertyNames"}
    if isinstance(schema, list):
        return [_without_property_names(item) for item in schema]
    return schema


# --- where blobs go -----------------------------------------------------------------------------


class BlobPaths(Record):
    """Where codecs put what they store: uploads under ``raw_prefix``, local copies under ``scratch_dir``."""

    __slots__ = ("raw_prefix", "scratch_dir")

    def __init__(self, raw_prefix: str, scratch_dir: str) -> None:
        self.raw_prefix, self.scratch_dir = raw_prefix, scratch_dir


_BLOB_PATHS: ContextVar[BlobPaths | None] = ContextVar("flytelite_blob_paths", default=None)
_fallback: BlobPaths | None = None


def blob_paths() -> BlobPaths:
    """The paths set by the conversion running now; outside one, a private local folder."""
    paths = _BLOB_PATHS.get()
    return paths if paths is not None else _local_blob_paths()


def _local_blob_paths() -> BlobPaths:
    global _fallback
    if _fallback is None:
        from ..support.scratch import make_working_directory

        folder = make_working_directory()
        _fallback = BlobPaths(os.path.join(folder, "raw"), folder)
    return _fallback


@contextlib.contextmanager
def storing_blobs(paths: BlobPaths | None) -> Iterator[None]:
    """Codecs called inside the block store under ``paths`` (``None`` keeps what is set)."""
    if paths is None:
        yield
        return
    token = _BLOB_PATHS.set(paths)
    try:
        yield
    finally:
        _BLOB_PATHS.reset(token)
