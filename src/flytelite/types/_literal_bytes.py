"""LiteralMaps read and written at the byte level, so a large collection is never one protobuf tree.

A parsed ``LiteralMap`` holds about 120 bytes of protobuf objects per element of a list, alive
beside the Python list being built: 8x the list's own size for 200,000 integers. Here the map's
entries are located in the serialized bytes, and a list literal is parsed and converted a chunk of
elements at a time; outputs are serialized chunk by chunk and joined. The bytes are exactly those
``SerializeToString`` gives (entries in the order of the interface), and every other literal takes
the ordinary path.
"""

from __future__ import annotations

from typing import Any, Iterator

from flyteidl.core import literals_pb2
from google.protobuf.message import DecodeError

from .. import io
from ..io import FlyteliteError
from ._base import LiteralMismatch, type_name
from ._builtins import ListCodec, StrCodec

_CHUNK = 8192  # elements converted per protobuf message: bounds memory, keeps per-message overhead small
_LENGTH_DELIMITED = 2
_LITERAL_COLLECTION = 2  # Literal.collection
_TO_STRING_VALUE = (1, 1, 3)  # Literal.scalar, Scalar.primitive, Primitive.string_value


class MalformedLiteral(FlyteliteError, ValueError):
    """Bytes that are not a well-formed protobuf message."""


def _read_varint(data: Any, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise MalformedLiteral("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise MalformedLiteral("varint longer than 10 bytes")


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


def fields(data: Any, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """``(field number, wire type, value start, value end)`` of each field in ``data[start:end]``."""
    pos = start
    while pos < end:
        tag, pos = _read_varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value_start = pos
            _, pos = _read_varint(data, pos)
        elif wire == _LENGTH_DELIMITED:
            size, value_start = _read_varint(data, pos)
            pos = value_start + size
        elif wire in (1, 5):
            value_start, pos = pos, pos + (8 if wire == 1 else 4)
        else:
            raise MalformedLiteral(f"unsupported wire type {wire}")
        if pos > end or number == 0:
            raise MalformedLiteral("field runs past the end of its message")
        yield number, wire, value_start, pos


def map_entries(data: Any) -> dict[str, tuple[int, int]]:
    """Name -> ``(start, end)`` of each literal of a serialized ``LiteralMap``."""
    entries: dict[str, tuple[int, int]] = {}
    for number, wire, start, end in fields(data, 0, len(data)):
        if number != 1 or wire != _LENGTH_DELIMITED:
            raise MalformedLiteral(f"a LiteralMap has no field {number}")
        name, span = "", (end, end)  # a missing value is an empty Literal
        for entry_number, _, value_start, value_end in fields(data, start, end):
            if entry_number == 1:
                name = bytes(data[value_start:value_end]).decode("utf-8")
            elif entry_number == 2:
                span = (value_start, value_end)
        entries[name] = span
    return entries


def _only_collection(data: Any, start: int, end: int) -> tuple[int, int] | None:
    """The span of the collection when the literal holds nothing else (no hash, no metadata)."""
    found = list(fields(data, start, end))
    if len(found) == 1 and found[0][0] == _LITERAL_COLLECTION and found[0][1] == _LENGTH_DELIMITED:
        return found[0][2], found[0][3]
    return None


def _only_string(data: Any, start: int, end: int) -> str | None:
    """The text of a literal that holds a string and nothing else, decoded straight from the bytes.

    Parsed into a protobuf first, a large string would be held three times at once (bytes, message, str).
    """
    for number in _TO_STRING_VALUE:
        found = list(fields(data, start, end))
        if len(found) != 1 or found[0][0] != number or found[0][1] != _LENGTH_DELIMITED:
            return None
        start, end = found[0][2], found[0][3]
    try:
        return str(memoryview(data)[start:end], "utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedLiteral(f"a string that is not UTF-8: {exc}") from None


def _chunk_spans(data: Any, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    """``(first element index, start, end)`` of runs of up to ``_CHUNK`` elements of a collection."""
    chunk_start, count, first, pos = start, 0, 0, start
    while pos < end:
        if data[pos] == 0x0A and pos + 1 < end and data[pos + 1] < 0x80:  # the common case: a short element
            pos += 2 + data[pos + 1]
        else:
            _, pos = _read_varint(data, pos)
            size, pos = _read_varint(data, pos)
            pos += size
        count += 1
        if count == _CHUNK:
            yield first, chunk_start, pos
            first, chunk_start, count = first + count, pos, 0
    if pos != end:
        raise MalformedLiteral("collection element runs past the end of the collection")
    if count:
        yield first, chunk_start, end


def _parse(message_type: Any, data: Any, start: int, end: int) -> Any:
    try:
        return message_type.FromString(memoryview(data)[start:end])  # a view: no copy of a large literal
    except DecodeError as exc:
        raise MalformedLiteral(f"not a {message_type.__name__}: {exc}") from None


def decode_literal(codec: Any, data: Any, start: int, end: int) -> Any:
    """The value of the literal at ``data[start:end]``; lists are parsed a chunk at a time.

    An offloaded literal (``offloaded_metadata``, written by an upstream task) is read from its URI.
    """
    if type(codec) is StrCodec and (text := _only_string(data, start, end)) is not None:
        return text
    collection = _only_collection(data, start, end) if isinstance(codec, ListCodec) else None
    if collection is None:
        lit = _parse(literals_pb2.Literal, data, start, end)
        if lit.WhichOneof("value") == "offloaded_metadata":
            stored = io.read_bytes(lit.offloaded_metadata.uri)
            return decode_literal(codec, stored, 0, len(stored))
        return codec.decode(lit)
    values: list[Any] = []
    for first, chunk_start, chunk_end in _chunk_spans(data, *collection):
        chunk = _parse(literals_pb2.LiteralCollection, data, chunk_start, chunk_end)
        try:
            values.extend(codec.item.decode_many(chunk.literals))
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(codec.py_type)} element (from index {first}): {exc}") from None
    return values


def encode_literal(codec: Any, value: Any) -> bytes:
    """The serialized literal of ``value``; lists are built a chunk at a time."""
    if not isinstance(codec, ListCodec) or not isinstance(value, list):
        lit = literals_pb2.Literal()
        codec.encode(value, lit)
        return lit.SerializeToString()
    parts = []
    for first in range(0, len(value), _CHUNK):
        chunk = literals_pb2.LiteralCollection()
        try:
            codec.item.encode_many(value[first : first + _CHUNK], chunk.literals)
        except LiteralMismatch as exc:
            raise LiteralMismatch(f"in {type_name(codec.py_type)} element (from index {first}): {exc}") from None
        parts.append(chunk.SerializeToString())
    return _length_delimited(_LITERAL_COLLECTION, b"".join(parts))


def literal_map_bytes(literals: dict[str, bytes]) -> bytes:
    """A serialized ``LiteralMap`` of serialized literals, in the given order."""
    return b"".join(
        _length_delimited(1, _length_delimited(1, name.encode("utf-8")) + _length_delimited(2, lit)) for name, lit in literals.items()
    )
