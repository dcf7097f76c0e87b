"""Whole interfaces converted: Python values <-> literals and serialized ``LiteralMap``s.

Each function takes ``blobs``, where codecs that store files, pickles or data frames put them; without
it they use a private local folder.
"""

from __future__ import annotations

from typing import Any

from flyteidl.core import literals_pb2

from ..io import FlyteliteError
from ..support.exceptions import raised_by_flytelite
from ._base import BlobPaths, InterfaceMismatch, Literal, LiteralMismatch, LiteralType, codec_for, storing_blobs, type_name
from ._literal_bytes import decode_literal, encode_literal, literal_map_bytes, map_entries


def literal_type(py_type: Any) -> LiteralType:
    """The ``LiteralType`` of a Python type annotation."""
    return codec_for(py_type).literal_type


def to_literal(value: Any, py_type: Any, blobs: BlobPaths | None = None) -> Literal:
    """A new ``Literal`` holding ``value`` as ``py_type``."""
    lit = Literal()
    if blobs is None:  # no context to enter: a dynamic's fan-out calls this once per constant
        codec_for(py_type).encode(value, lit)
        return lit
    with storing_blobs(blobs):
        codec_for(py_type).encode(value, lit)
    return lit


def to_python(lit: Literal, py_type: Any, blobs: BlobPaths | None = None) -> Any:
    """The Python value of ``lit`` read as ``py_type``."""
    with storing_blobs(blobs):
        return codec_for(py_type).decode(lit)


_THE_VALUES_FAULT = Exception  # when raised by code other than flytelite's
_THE_MACHINES_FAULT = (OSError, MemoryError)


class converting:  # lower case: it reads as a phrase, ``with converting("input 'a'"):``
    """Convert the value named ``label`` (``"input 'a'"``): what goes wrong is an :class:`InterfaceMismatch`.

    A :class:`LiteralMismatch` is the engine's own finding. An exception raised by code the value's
    type runs (a dataclass's ``__post_init__`` with an exception class of its own, a registered codec,
    numpy or pyarrow refusing the data) means the value is at fault, and the cause stays chained so
    that the error document shows the user's frames. These pass unchanged, each classified by its
    class: flytelite's own (a storage failure, malformed bytes); any raised by flytelite's frames
    alone (:func:`~flytelite.support.exceptions.raised_by_flytelite`: a ``TypeError`` there is
    flytelite's failure, the builtin's class says nothing of who is at fault); and ``OSError`` and
    ``MemoryError``, the machine's failures, not the value's. (A class, not a generator: no frame of
    ``contextlib`` in a traceback.)
    """

    def __init__(self, label: str) -> None:
        self.label = label

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, LiteralMismatch):
            raise InterfaceMismatch(f"{self.label}: {exc}") from None
        if exc is None or isinstance(exc, FlyteliteError):
            return
        if isinstance(exc, _THE_VALUES_FAULT) and not isinstance(exc, _THE_MACHINES_FAULT) and not raised_by_flytelite(exc):
            raise InterfaceMismatch(f"{self.label}: {type(exc).__name__}: {exc}") from exc


def encode_literals(
    values: dict[str, Any], types_by_name: dict[str, Any], what: str = "output", blobs: BlobPaths | None = None
) -> dict[str, bytes]:
    """Each value serialized as a ``Literal`` of its declared type, by name (in declaration order)."""
    out = {}
    with storing_blobs(blobs):
        for name, py_type in types_by_name.items():
            if name not in values:
                raise InterfaceMismatch(f"{what} '{name}' is missing (expected {type_name(py_type)})")
            with converting(f"{what} '{name}'"):
                out[name] = encode_literal(codec_for(py_type), values[name])
    return out


_MISSING = object()


def decode_map_bytes(
    data: bytes,
    types_by_name: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    what: str = "input",
    blobs: BlobPaths | None = None,
) -> dict[str, Any]:
    """Python values of a serialized ``LiteralMap``; names absent from it take their default.

    Raises ``MalformedLiteral`` (a ``ValueError``) for bytes that are not a LiteralMap.
    """
    defaults = defaults or {}
    entries = map_entries(data)
    out: dict[str, Any] = {}
    with storing_blobs(blobs):
        for name, py_type in types_by_name.items():
            if name in entries:
                with converting(f"{what} '{name}'"):
                    out[name] = decode_literal(codec_for(py_type), data, *entries[name])
            elif defaults.get(name, _MISSING) is not _MISSING:
                out[name] = defaults[name]
            else:
                raise InterfaceMismatch(f"{what} '{name}' is missing and has no default (expected {type_name(py_type)})")
    return out


def encode_map(
    values: dict[str, Any], types_by_name: dict[str, Any], what: str = "output", blobs: BlobPaths | None = None
) -> literals_pb2.LiteralMap:
    """A ``LiteralMap`` of ``values``, each converted by its declared type."""
    return literals_pb2.LiteralMap.FromString(literal_map_bytes(encode_literals(values, types_by_name, what, blobs)))


def decode_map(
    literal_map: literals_pb2.LiteralMap,
    types_by_name: dict[str, Any],
    defaults: dict[str, Any] | None = None,
    what: str = "input",
    blobs: BlobPaths | None = None,
) -> dict[str, Any]:
    """Python values of a ``LiteralMap``; names absent from the map take their default."""
    return decode_map_bytes(literal_map.SerializeToString(), types_by_name, defaults, what, blobs)


def from_json_data(data: Any, py_type: Any) -> Any:
    """A value of ``py_type`` from JSON-decoded data: a dataclass from a dict, a pydantic model validated."""
    return codec_for(py_type).from_builtin(data, lenient=False)
