"""The type engine: Python values <-> Flyte literals, wire-compatible with what flytekit 1.16 writes.

Each Python type gets a :class:`Codec` once (:func:`codec_for`) that knows the type's ``LiteralType``
and how to fill a ``Literal`` in place or read one. Codecs of containers hold the codecs of their
elements, so a ``list[int]`` of 200,000 elements is converted by one loop over protobuf messages, and
large lists are read and written a chunk at a time at the byte level (``_literal_bytes``).

Every mismatch raises :class:`LiteralMismatch`; the map conversions turn it into an
:class:`InterfaceMismatch` (a ``TypeError``) naming the input or output, the expected type and what arrived. Codecs that store blobs put them
where the caller's :class:`BlobPaths` says.

The modules behind this surface are private: ``_base`` (the leaf every codec imports),
``_builtins``, ``_registry`` (finds and caches codecs; optional kinds are imported on first use),
``_structured`` (dataclasses, pydantic, untyped dicts), ``files`` (File and Directory), ``_pickled``, ``_dataframes``,
``_literal_bytes`` and ``_conversions``; the public ``files`` (File, Directory), ``datasets``
(StructuredDataset, kwtypes) and ``annotations`` (HashMethod, BatchSize).
"""

from __future__ import annotations

from . import _registry  # noqa: F401 - installs the codec lookup behind codec_for
from ._registry import register_codec
from ._base import (
    BlobPaths,
    Codec,
    InterfaceMismatch,
    LiteralMismatch,
    UnsupportedType,
    blob_paths,
    codec_for,
    describe_literal,
    storing_blobs,
    type_name,
)
from ._conversions import (
    converting,
    decode_map,
    decode_map_bytes,
    encode_literals,
    encode_map,
    from_json_data,
    literal_type,
    to_literal,
    to_python,
)
from ._literal_bytes import MalformedLiteral, literal_map_bytes, map_entries

__all__ = [
    "BlobPaths",
    "Codec",
    "InterfaceMismatch",
    "LiteralMismatch",
    "MalformedLiteral",
    "UnsupportedType",
    "blob_paths",
    "codec_for",
    "converting",
    "decode_map",
    "decode_map_bytes",
    "describe_literal",
    "storing_blobs",
    "encode_literals",
    "encode_map",
    "from_json_data",
    "literal_map_bytes",
    "literal_type",
    "map_entries",
    "register_codec",
    "to_literal",
    "to_python",
    "type_name",
]
