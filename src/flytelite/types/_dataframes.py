"""Tables as Flyte structured datasets, the way flytekit writes them: ``pandas.DataFrame`` and
``StructuredDataset``, in parquet or CSV, with the column subsets of their annotations.

The LiteralType is ``structured_dataset_type{columns, format}`` from the annotation
(``Annotated[StructuredDataset, kwtypes(a=int), "csv"]``; bare: no columns, no format). A frame is
written under ``<raw prefix>/<random hex>/`` as one file, ``00000`` (parquet) or ``.csv`` (CSV), and
travels as ``scalar.structured_dataset{uri: <that folder>, metadata{columns, format}}``. Reading
takes only the declared columns, or all when the annotation declares none, as flytekit does.

pandas is imported only for an annotation that names it or when a table is read; pyarrow only when
parquet is written or read. All transfers go through ``flytelite.io``.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import secrets
import typing
from typing import Any

from flyteidl.core import literals_pb2, types_pb2

from .. import io
from ._base import Codec, UnsupportedType, blob_paths, short_repr, type_name
from .datasets import CSV, PARQUET, StructuredDataset

PARQUET_PART = "00000"  # flytekit's name for the single parquet file it writes under the dataset's folder
CSV_PART = ".csv"  # and for the CSV one

_COLUMN_TYPES = {
    int: types_pb2.SimpleType.INTEGER,
    float: types_pb2.SimpleType.FLOAT,
    bool: types_pb2.SimpleType.BOOLEAN,
    str: types_pb2.SimpleType.STRING,
    datetime.datetime: types_pb2.SimpleType.DATETIME,
    datetime.timedelta: types_pb2.SimpleType.DURATION,
}


def is_table_class(py_type: Any) -> bool:
    """A StructuredDataset or a pandas DataFrame class (pandas is not imported to tell)."""
    if not isinstance(py_type, type):
        return False
    if issubclass(py_type, StructuredDataset):
        return True
    return getattr(py_type, "__module__", "").startswith("pandas") and py_type.__name__ == "DataFrame"


def dataset_codec(py_type: type, annotations: tuple[Any, ...] = ()) -> Codec | None:
    """The codec of a table class with its ``Annotated`` extras; ``None`` for a pandas DataFrame
    without pyarrow (the frame is then pickled like any other object)."""
    if not issubclass(py_type, StructuredDataset) and importlib.util.find_spec("pyarrow") is None:
        return None
    columns: dict[str, Any] = {}
    file_format = ""
    for extra in annotations:
        if isinstance(extra, str):
            file_format = extra
        elif isinstance(extra, dict):
            columns = dict(extra)
    return DatasetCodec(py_type, columns, file_format)


def _column_literal_type(name: str, py_type: Any) -> types_pb2.LiteralType:
    simple = _COLUMN_TYPES.get(py_type)
    if simple is not None:
        return types_pb2.LiteralType(simple=simple)
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if origin is list:
        return types_pb2.LiteralType(collection_type=_column_literal_type(name, args[0]))
    if origin is dict:
        return types_pb2.LiteralType(map_value_type=_column_literal_type(name, args[1]))
    supported = ", ".join(t.__name__ for t in _COLUMN_TYPES)
    raise UnsupportedType(f"column {name!r} of type {type_name(py_type)}: a column may be {supported}, or a list or dict of those")


def _flat_columns(columns: dict[str, Any], parent: str = "") -> dict[str, Any]:
    """Nested column dicts become dotted names, as flytekit flattens them."""
    flat: dict[str, Any] = {}
    for name, column_type in columns.items():
        key = f"{parent}.{name}" if parent else name
        if isinstance(column_type, dict):
            flat.update(_flat_columns(column_type, key))
        else:
            flat[key] = column_type
    return flat


def _scratch(name: str) -> str:
    folder = os.path.join(blob_paths().scratch_dir, "dataframes", secrets.token_hex(8))
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, name)


class DatasetCodec(Codec):
    union_tag = "StructuredDataset Transformer"

    def __init__(self, py_type: type, columns: dict[str, Any], file_format: str) -> None:
        self.py_type = py_type
        self.file_format = file_format
        dataset_type = types_pb2.StructuredDatasetType(format=file_format)
        for name, column_type in _flat_columns(columns).items():
            dataset_type.columns.add(name=name, literal_type=_column_literal_type(name, column_type))
        self.literal_type = types_pb2.LiteralType(structured_dataset_type=dataset_type)
        self.column_names = [column.name for column in dataset_type.columns]
        self.wraps_frames = issubclass(py_type, StructuredDataset)

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        if not isinstance(value, self.py_type):
            if is_table_class(type(value)):  # a frame's repr is its rows: name the class only
                hint = " (wrap a data frame as StructuredDataset(dataframe=df))" if self.wraps_frames else ""
                raise self.mismatch(f"a {type(value).__name__}{hint}")
            raise self.mismatch(f"{type(value).__name__} {value!r}"[:160])
        dataset = value if self.wraps_frames else StructuredDataset(dataframe=value)
        stored = lit.scalar.structured_dataset
        if dataset._literal is not None and dataset.dataframe is None:  # an input handed on: the same literal
            stored.CopyFrom(dataset._literal)
            return
        stored.metadata.structured_dataset_type.CopyFrom(self.literal_type.structured_dataset_type)
        if dataset.dataframe is None:
            self._encode_stored(dataset, stored)
        else:
            file_format = self.file_format or PARQUET
            stored.uri = _write_frame(dataset.dataframe, dataset.uri, file_format)
            stored.metadata.structured_dataset_type.format = file_format

    def _encode_stored(self, dataset: StructuredDataset, stored: literals_pb2.StructuredDataset) -> None:
        if not dataset.uri:
            raise self.mismatch("a StructuredDataset with neither a dataframe nor a uri")
        uri = dataset.uri
        if not io.is_remote(uri):
            local = io.to_local_path(uri)
            if not os.path.exists(local):
                raise self.mismatch(f"{dataset!r}: nothing exists at {os.path.abspath(local)}")
            target = io.join(blob_paths().raw_prefix, secrets.token_hex(16), os.path.basename(local.rstrip("/")))
            (io.put_dir if os.path.isdir(local) else io.put_file)(local, target)
            uri = target
        stored.uri = uri
        if not self.file_format:
            stored.metadata.structured_dataset_type.format = dataset.file_format

    def decode(self, lit: literals_pb2.Literal) -> Any:
        if lit.scalar.WhichOneof("value") != "structured_dataset":
            return self.decode_other(lit)  # e.g. {"uri", "file_format"}: a field handed on from a dataclass
        stored = lit.scalar.structured_dataset
        dataset_type = stored.metadata.structured_dataset_type
        return self._value(stored.uri, dataset_type.format, [c.name for c in dataset_type.columns], stored)

    def _value(self, uri: str, file_format: str, incoming_columns: list[str], stored: Any = None) -> Any:
        columns = self.column_names or incoming_columns
        if self.wraps_frames:
            dataset = self.py_type(uri=uri, file_format=file_format)
            dataset._columns = columns
            dataset._literal = stored
            return dataset
        try:
            return read_table(uri, file_format, columns, self.py_type)
        except ValueError as exc:
            raise self.mismatch(str(exc)) from None

    def to_builtin(self, value: Any) -> Any:
        lit = literals_pb2.Literal()
        self.encode(value, lit)
        stored = lit.scalar.structured_dataset
        return {"uri": stored.uri, "file_format": stored.metadata.structured_dataset_type.format}

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        if isinstance(data, self.py_type):
            return data
        if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
            raise self.mismatch(f"{short_repr(data)}, not {{'uri': ..., 'file_format': ...}}")
        return self._value(data["uri"], data.get("file_format") or "", [])

    def read(self, uri: str, file_format: str, columns: list[str], frame_type: type) -> Any:
        """The stored table as ``frame_type``, for ``StructuredDataset.all()`` (which cannot import this module)."""
        return read_table(uri, file_format, columns, frame_type)


def _write_frame(frame: Any, uri: str | None, file_format: str) -> str:
    if file_format not in (PARQUET, CSV):
        raise UnsupportedType(f"structured dataset format {file_format!r}: flytelite writes {PARQUET!r} and {CSV!r}")
    uri = uri or io.join(blob_paths().raw_prefix, secrets.token_hex(16))
    part = PARQUET_PART if file_format == PARQUET else CSV_PART
    local = _scratch(part)
    try:
        if file_format == PARQUET:
            # flytekit's options: microsecond timestamps, and an error rather than silent truncation
            frame.to_parquet(local, coerce_timestamps="us", allow_truncated_timestamps=False)
        else:
            frame.to_csv(local, index=False)
        io.put_file(local, io.join(uri, part))
    finally:
        if os.path.exists(local):
            os.remove(local)
    return uri


def read_table(uri: str, file_format: str, columns: list[str], frame_type: type) -> Any:
    """The table at ``uri`` as a pandas DataFrame, only ``columns`` when some are named.

    Raises ValueError naming the uri when it cannot be read as a table of that format."""
    import pandas

    if not (isinstance(frame_type, type) and issubclass(frame_type, pandas.DataFrame)):
        raise TypeError(f"a StructuredDataset opens as a pandas.DataFrame here, not {type_name(frame_type)}")
    if file_format not in ("", PARQUET, CSV):
        raise ValueError(f"a structured dataset in {file_format!r} format at {uri} (parquet and csv are read)")
    try:
        if file_format == CSV:
            return pandas.read_csv(_local_file(io.join(uri, CSV_PART)), usecols=columns or None)
        return pandas.read_parquet(_local_copy(uri), columns=columns or None)
    except (OSError, ValueError, KeyError) as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise ValueError(f"a structured dataset at {uri} that is not readable as {file_format or PARQUET} ({exc})") from None


def _local_file(uri: str) -> str:
    return io.to_local_path(uri) if not io.is_remote(uri) else io.get_file(uri, _scratch(os.path.basename(uri)))


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
