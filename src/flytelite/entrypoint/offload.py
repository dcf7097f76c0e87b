"""Offloading of large output literals (``_F_L_MIN_SIZE_MB`` / ``_F_L_MAX_SIZE_MB``).

An output of at least the minimum size is stored beside ``outputs.pb`` as
``<name>_offloaded_metadata.pb`` and replaced in the map by a literal pointing at it, with the same
hash flytekit computes (sha256 of the literal's sorted-key JSON, base64) so cache keys agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Callable, Mapping

from flyteidl.core import interface_pb2, literals_pb2
from google.protobuf import json_format

from ..io import FlyteliteError

_MB = 1024 * 1024


class OutputTooLarge(FlyteliteError, ValueError):
    """An output over ``_F_L_MAX_SIZE_MB``: the task's data is at fault."""


def literal_hash(lit: literals_pb2.Literal) -> str:
    document = json.dumps(json_format.MessageToDict(lit), sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(document.encode("utf-8")).digest()).decode("ascii")


def offload_large_literals(
    output_literals: dict[str, bytes],
    output_types: Mapping[str, interface_pb2.Variable],
    output_uri: Callable[[str], str],
    min_mb: int,
    max_mb: int,
) -> dict[str, bytes]:
    """Replace large literals in ``output_literals``; returns ``{file name: serialized literal}`` to store."""
    to_store: dict[str, bytes] = {}
    for name, data in output_literals.items():
        size = len(data)
        if size >= max_mb * _MB:
            raise OutputTooLarge(f"output '{name}' is {size} bytes, over the limit of {max_mb} MB (_F_L_MAX_SIZE_MB)")
        if size < min_mb * _MB:
            continue
        filename = f"{name}_offloaded_metadata.pb"
        to_store[filename] = data
        lit = literals_pb2.Literal.FromString(data)
        pointer = literals_pb2.Literal(hash=lit.hash or literal_hash(lit))
        pointer.offloaded_metadata.uri = output_uri(filename)
        pointer.offloaded_metadata.size_bytes = size
        pointer.offloaded_metadata.inferred_type.CopyFrom(output_types[name].type)
        output_literals[name] = pointer.SerializeToString()
    return to_store
