"""``pandas.DataFrame`` as a Flyte structured dataset in parquet, the way flytekit writes it.

The LiteralType of a bare ``pd.DataFrame`` is ``structured_dataset_type{}`` (no columns, no format);
a value is written as one parquet file ``<raw prefix>/<random hex>/00000`` and travels as
``scalar.structured_dataset{uri: <raw prefix>/<random hex>, metadata.structured_dataset_type{format:
"parquet"}}``. Reading takes a folder of parquet files (any number of them) or a single file.

This module is imported only for an annotation that is a pandas class, so pandas is already loaded;
pyarrow is imported only when a frame is written or read. All transfers go through ``flytelite.io``.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from .. import io
from ._base import Codec, blob_paths, describe_literal

PARQUET = "parquet"
FIRST_PART = "00000"  # flytekit's name for the single file it writes under the dataset's folder


def dataframe_codec(py_type: type) -> Codec | None:
    """The codec of a pandas DataFrame class; ``None`` for other pandas classes, or without pyarrow
    (the frame is then pickled like any other object)."""
    import pandas

    if not issubclass(py_type, pandas.DataFrame) or importlib.util.find_spec("pyarrow") is None:
        return None
    return DataFrameCodec(py_type)


def _scratch(name: str) -> str:
    folder = os.path.join(blob_paths().scratch_dir, "dataframes", secrets.token_hex(8))
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


def read_parquet(path: str) -> Any:
    """A pandas DataFrame of a parquet file, or of every parquet file under a folder (read as one
    dataset, like flytekit's ``pd.read_parquet(uri)``; ``_SUCCESS`` markers and hidden files are skipped)."""
    import pandas

    return pandas.read_parquet(path)


class DataFrameCodec(Codec):
    union_tag = "StructuredDataset Transformer"

    def __init__(self, py_type: type) -> None:
        self.py_type = py_type
        self.literal_type = types_pb2.LiteralType(structured_dataset_type=types_pb2.StructuredDatasetType())

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        if not isinstance(value, self.py_type):
            raise self.mismatch(f"{type(value).__name__} {value!r}"[:160])
        uri = io.join(blob_paths().raw_prefix, secrets.token_hex(16))
        local = _scratch(FIRST_PART)
        try:
            # flytekit's options: microsecond timestamps, and an error rather than silent truncation
            value.to_parquet(local, coerce_timestamps="us", allow_truncated_timestamps=False)
            io.put_file(local, io.join(uri, FIRST_PART))
        finally:
            if os.path.exists(local):
                os.remove(local)
        dataset = lit.scalar.structured_dataset
        dataset.uri = uri
        dataset.metadata.structured_dataset_type.format = PARQUET

    def decode(self, lit: literals_pb2.Literal) -> Any:
        scalar = lit.scalar
        if lit.WhichOneof("value") != "scalar" or scalar.WhichOneof("value") != "structured_dataset":
            raise self.mismatch(describe_literal(lit))
        dataset = scalar.structured_dataset
        fmt = dataset.metadata.structured_dataset_type.format
        if fmt not in ("", PARQUET):
            raise self.mismatch(f"a structured dataset in {fmt!r} format at {dataset.uri} (only parquet is read)")
        local = self._local_copy(dataset.uri)
        try:
            return read_parquet(local)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
            raise self.mismatch(f"a structured dataset at {dataset.uri} that is not readable as parquet ({exc})") from None

    @staticmethod
    def _local_copy(uri: str) -> str:
        if not io.is_remote(uri):
            return io.to_local_path(uri)
        folder = _scratch("dataset")
        try:
            return io.get_dir(uri, folder)
        except io.StorageError as folder_error:
            if folder_error.transient:
                raise
            try:  # a dataset may also be a single parquet object
                return io.get_file(uri, _scratch(os.path.basename(uri.rstrip("/")) or "data"))
            except io.StorageError:
                raise folder_error from None
