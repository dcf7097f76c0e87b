"""``StructuredDataset``: a table that travels as a Flyte structured dataset, as flytekit's does.

``StructuredDataset(dataframe=df)`` wraps a pandas DataFrame for writing; ``StructuredDataset(uri=...,
file_format="parquet")`` points at a table already stored. An input arrives unread:
``sd.open(pandas.DataFrame).all()`` reads it, only the declared columns when the annotation names
some (``Annotated[StructuredDataset, kwtypes(a=int)]``). ``Annotated[StructuredDataset, "csv"]``
writes CSV instead of parquet.

This module imports neither pandas nor pyarrow; its codec (``_dataframes``) does, when a table is
written or read.
"""

from __future__ import annotations

import collections
from typing import Any

from flyteidl.core import literals_pb2

from ._base import codec_for, pydantic_style, self_converting_schema

PARQUET = "parquet"
CSV = "csv"


def kwtypes(**columns: type) -> collections.OrderedDict[str, type]:
    """Column names and types, for ``Annotated[StructuredDataset, kwtypes(a=int, b=str)]``."""
    return collections.OrderedDict(columns)


class StructuredDataset:
    """A table: a data frame to write, or a stored one (``uri``) to read with ``open(...).all()``."""

    def __init__(self, dataframe: Any = None, uri: str | None = None, file_format: str = "", **_metadata: Any) -> None:
        self.dataframe = dataframe
        self.uri = uri
        self.file_format = file_format
        self._columns: list[str] = []  # the columns an input's annotation asks for; empty: all of them
        self._literal: literals_pb2.StructuredDataset | None = None  # an input's literal, passed through unchanged
        self._frame_type: type | None = None

    def open(self, dataframe_type: type) -> StructuredDataset:
        """Choose the class ``all()`` returns (``pandas.DataFrame``)."""
        self._frame_type = dataframe_type
        return self

    def all(self) -> Any:
        """The whole table as the class given to ``open()``."""
        if self._frame_type is None:
            raise ValueError("no data frame type set: call open(pandas.DataFrame) first, as in sd.open(pd.DataFrame).all()")
        if self.dataframe is not None:
            if not isinstance(self.dataframe, self._frame_type):
                raise TypeError(f"this StructuredDataset holds a {type(self.dataframe).__name__}, not a {self._frame_type.__name__}")
            return self.dataframe
        if not self.uri:
            raise ValueError("this StructuredDataset has neither a dataframe nor a uri to read")
        # the codec reads it (it imports pandas; this module does not)
        return codec_for(StructuredDataset).read(self.uri, self.file_format, self._columns, self._frame_type)

    def iter(self) -> Any:
        """The table in parts; flytekit's pandas readers give it whole, and so does this."""
        yield self.all()

    # --- as a dataclass or pydantic field: {"uri": ..., "file_format": ...}, as flytekit writes it ---

    def __flytelite_to_builtin__(self) -> dict[str, Any]:
        lit = literals_pb2.Literal()
        codec_for(StructuredDataset).encode(self, lit)
        stored = lit.scalar.structured_dataset
        return {"uri": stored.uri, "file_format": stored.metadata.structured_dataset_type.format}

    @classmethod
    def __flytelite_from_builtin__(cls, data: Any) -> StructuredDataset:
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict) or not isinstance(data.get("uri"), str):
            raise ValueError(f"expected {{'uri': ..., 'file_format': ...}} for a StructuredDataset, got {data!r}"[:200])
        return cls(uri=data["uri"], file_format=data.get("file_format") or "")

    @classmethod
    def __flytelite_json_schema__(cls) -> dict[str, Any]:
        optional_string = [{"type": "string"}, {"type": "null"}]
        return {
            "type": "object",
            "title": cls.__name__,
            "properties": {
                "uri": {"anyOf": optional_string, "default": None},
                "file_format": {"anyOf": optional_string, "default": ""},
            },
            "additionalProperties": False,
        }

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        return self_converting_schema(cls.__flytelite_from_builtin__, "StructuredDataset")

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: Any) -> dict[str, Any]:
        return pydantic_style(cls.__flytelite_json_schema__())

    def __repr__(self) -> str:
        shown = "dataframe=..." if self.dataframe is not None else f"uri={self.uri!r}"
        return f"StructuredDataset({shown}, file_format={self.file_format!r})"
