"""The fallback for any other Python type: a cloudpickle file under the raw output prefix."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from .. import io
from ._base import Codec, blob_paths, describe_literal, short_repr

PICKLE_FORMAT = "PythonPickle"


class PickleCodec(Codec):
    union_tag = "FlytePickle"

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.instance_of)

    def __init__(self, py_type: Any) -> None:
        self.py_type = py_type
        self.instance_of = object if py_type is Any else py_type  # typing.Any cannot be an isinstance target
        lt = types_pb2.LiteralType(blob=types_pb2.BlobType(format=PICKLE_FORMAT))
        lt.metadata.update({"python_class_name": str(py_type)})
        self.literal_type = lt

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        import cloudpickle

        if not isinstance(value, self.instance_of):
            raise self.mismatch(f"{type(value).__name__} {value!r}"[:160])
        data = cloudpickle.dumps(value)
        # flytekit's layout: <raw prefix>/<random hex>/<md5 of the pickle>
        uri = io.join(blob_paths().raw_prefix, secrets.token_hex(16), hashlib.md5(data).hexdigest())
        io.write_bytes(uri, data)
        blob = lit.scalar.blob
        blob.metadata.type.format = PICKLE_FORMAT
        blob.uri = uri

    def decode(self, lit: literals_pb2.Literal) -> Any:
        import cloudpickle

        blob = lit.scalar.blob
        if lit.scalar.WhichOneof("value") != "blob":
            return self.decode_other(lit)  # an Any field's value, handed on from a dataclass
        if blob.metadata.type.format != PICKLE_FORMAT:
            raise self.mismatch(describe_literal(lit))
        value = cloudpickle.loads(io.read_bytes(blob.uri))
        if not isinstance(value, self.instance_of):
            raise self.mismatch(f"a pickle of {type(value).__name__}")
        return value


_PLAIN = (type(None), bool, int, float, str, bytes)


def _plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_plain(key) and _plain(item) for key, item in value.items())
    return False


class AnyCodec(PickleCodec):
    """``typing.Any``: a pickle as a task's input or output; inside a dataclass, the value itself, as
    flytekit 1.16 writes it (msgpack of plain data; other objects are refused when encoded, as there)."""

    def __init__(self) -> None:
        super().__init__(Any)

    def to_builtin(self, value: Any) -> Any:
        if not _plain(value):
            raise self.mismatch(
                f"{type(value).__name__} {short_repr(value)}: inside a dataclass an Any field holds plain data "
                "(None, bool, int, float, str, bytes, lists and dicts of them)"
            )
        return value

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        return data
