"""torch tensors and modules, numpy arrays: one file each under the raw output prefix, as flytekit writes them.

flytekit's formats: ``PyTorchTensor`` and ``PyTorchModule`` blobs hold ``torch.save`` of the value (a
module is pickled whole, not as a state dict), ``NumpyArray`` blobs hold ``np.save`` without pickles.
torch and numpy are imported here only, and this module only when a task's interface names their types.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from .. import io
from ._base import Codec, LiteralMismatch, UnsupportedType, blob_paths, describe_literal

SINGLE = types_pb2.BlobType.BlobDimensionality.SINGLE


class SingleBlobCodec(Codec):
    """A value stored as one file: subclasses say how to save it to a path and load it back."""

    blob_format: str
    suffix: str

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        self.literal_type = types_pb2.LiteralType(blob=types_pb2.BlobType(format=self.blob_format, dimensionality=SINGLE))

    def save(self, value: Any, local_path: str) -> None:
        raise NotImplementedError

    def load(self, local_path: str) -> Any:
        raise NotImplementedError

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        if not isinstance(value, self.py_type):
            raise self.mismatch(f"{type(value).__name__} {value!r}"[:160])
        uri = io.join(blob_paths().raw_prefix, secrets.token_hex(16), "data" + self.suffix)
        if io.is_remote(uri):
            local_path = _scratch_path(self.suffix)
            self.save(value, local_path)
            io.put_file(local_path, uri)
            os.unlink(local_path)
        else:  # local storage: save in place, with no copy
            local_path = io.to_local_path(uri)
            os.makedirs(os.path.dirname(local_path), exist_ok=True)
            self.save(value, local_path)
        blob = lit.scalar.blob
        blob.metadata.type.CopyFrom(self.literal_type.blob)
        blob.uri = uri

    def decode(self, lit: literals_pb2.Literal) -> Any:
        blob = lit.scalar.blob
        if lit.scalar.WhichOneof("value") != "blob" or blob.metadata.type.format != self.blob_format:
            raise self.mismatch(describe_literal(lit) + _format_note(lit))
        uri = blob.uri
        local_path = io.get_file(uri, _scratch_path(self.suffix)) if io.is_remote(uri) else io.to_local_path(uri)
        try:
            value = self.load(local_path)
        except (OSError, ValueError, RuntimeError, EOFError) as exc:  # missing, truncated or foreign content
            raise self.mismatch(f"a {self.blob_format} blob at {uri} that cannot be read ({exc})"[:400]) from None
        if not isinstance(value, self.py_type):
            raise self.mismatch(f"a {self.blob_format} blob holding {type(value).__name__}")
        return value


def _format_note(lit: literals_pb2.Literal) -> str:
    if lit.scalar.WhichOneof("value") == "blob":
        return f" of format {lit.scalar.blob.metadata.type.format!r}"
    return ""


def _scratch_path(suffix: str) -> str:
    folder = os.path.join(blob_paths().scratch_dir, "arrays")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, secrets.token_hex(8) + suffix)


class NumpyArrayCodec(SingleBlobCodec):
    blob_format = "NumpyArray"
    suffix = ".npy"
    union_tag = "Numpy Array"
    allow_pickle = False
    mmap_mode: str | None = None

    def with_options(self, options: dict[str, Any]) -> NumpyArrayCodec:
        """``Annotated[np.ndarray, kwtypes(allow_pickle=True, mmap_mode="r")]``, flytekit's options."""
        unknown = set(options) - {"allow_pickle", "mmap_mode"}
        if unknown:
            raise UnsupportedType(f"numpy.ndarray options are allow_pickle and mmap_mode, not {', '.join(sorted(unknown))}")
        codec = NumpyArrayCodec(self.py_type)
        codec.allow_pickle = bool(options.get("allow_pickle", False))
        codec.mmap_mode = options.get("mmap_mode")
        return codec

    def save(self, value: Any, local_path: str) -> None:
        import numpy

        try:
            numpy.save(local_path, value, allow_pickle=self.allow_pickle)
        except ValueError as exc:  # an object array: flytekit refuses it too without allow_pickle
            raise LiteralMismatch(
                "expected numpy.ndarray without Python objects, got one that needs pickling "
                f"(declare Annotated[np.ndarray, kwtypes(allow_pickle=True)] to allow it) ({exc})"
            ) from None

    def load(self, local_path: str) -> Any:
        import numpy

        return numpy.load(local_path, allow_pickle=self.allow_pickle, mmap_mode=self.mmap_mode)


class _TorchCodec(SingleBlobCodec):
    suffix = ".pt"
    weights_only: bool

    def load(self, local_path: str) -> Any:
        import pickle

        import torch

        # Like flytekit: onto the first GPU when there is one.
        map_location = "cuda:0" if torch.cuda.is_available() else "cpu"
        try:
            return torch.load(local_path, map_location=map_location, weights_only=self.weights_only)
        except pickle.UnpicklingError as exc:
            raise ValueError(str(exc).splitlines()[0]) from None


class TensorCodec(_TorchCodec):
    blob_format = "PyTorchTensor"
    union_tag = "PyTorch Tensor"
    weights_only = True  # a tensor needs no arbitrary unpickling

    def save(self, value: Any, local_path: str) -> None:
        import torch

        torch.save(value.cpu(), local_path)  # a GPU tensor is stored from the CPU; a CPU one is not copied


class ModuleCodec(_TorchCodec):
    """A whole pickled module, as flytekit writes it: reading one runs its pickle, like a PythonPickle blob."""

    blob_format = "PyTorchModule"
    union_tag = "PyTorch Module"
    weights_only = False

    def save(self, value: Any, local_path: str) -> None:
        import torch

        torch.save(value, local_path)
