"""The pandas DataFrame codec in-process: lazy import, fallbacks, mismatches, single-object datasets."""

from __future__ import annotations

import io
import subprocess
import sys
import typing

import pytest
from flyteidl.core import literals_pb2
from .storage_helpers import dataset

import flytelite.io as fio
from flytelite.types import BlobPaths, storing_blobs, LiteralMismatch, codec_for, literal_type, to_literal, to_python

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture(autouse=True)
def local_context(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


def test_pandas_is_not_imported_for_other_types() -> None:
    code = (
        "import sys, typing\n"
        "from flytelite import File, Directory, task\n"
        "from flytelite.types import literal_type\n"
        "class Opaque: pass\n"
        "for t in (int, File, Directory, Opaque, typing.Optional[File], list[Opaque], dict[str, float]):\n"
        "    literal_type(t)\n"
        "print('pandas' in sys.modules, 'pyarrow' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_parquet_is_loaded_only_when_a_frame_travels() -> None:
    # (pandas 3 imports pyarrow itself; its parquet module is what a frame's transfer loads)
    code = "import sys, pandas\nfrom flytelite.types import literal_type\nliteral_type(pandas.DataFrame)\nprint('pyarrow.parquet' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


def test_other_pandas_classes_are_pickled() -> None:
    assert literal_type(pd.Series).blob.format == "PythonPickle"


def test_optional_dataframe_variant_tag() -> None:
    variants = literal_type(typing.Optional[pd.DataFrame]).union_type.variants
    assert [v.structure.tag for v in variants] == ["StructuredDataset Transformer", "none"]
    frame = pd.DataFrame({"a": [1]})
    lit = to_literal(frame, typing.Optional[pd.DataFrame])
    pd.testing.assert_frame_equal(to_python(lit, typing.Optional[pd.DataFrame]), frame)
    assert to_python(to_literal(None, typing.Optional[pd.DataFrame]), typing.Optional[pd.DataFrame]) is None


def test_not_a_frame_is_a_mismatch() -> None:
    with pytest.raises(LiteralMismatch, match="expected DataFrame, got dict"):
        to_literal({"a": [1]}, pd.DataFrame)


def test_other_formats_and_literals_are_mismatches(tmp_path) -> None:
    with pytest.raises(LiteralMismatch, match="'avro' format at /x"):
        to_python(dataset("/x", fmt="avro"), pd.DataFrame)
    with pytest.raises(LiteralMismatch, match=r"at /x that is not readable as csv \(.*No such file.*/x/\.csv"):
        to_python(dataset("/x", fmt="csv"), pd.DataFrame)
    lit = literals_pb2.Literal()
    lit.scalar.primitive.integer = 3
    with pytest.raises(LiteralMismatch, match="expected DataFrame"):
        to_python(lit, pd.DataFrame)
    (tmp_path / "junk").write_bytes(b"not parquet")
    with pytest.raises(LiteralMismatch, match=f"at {tmp_path / 'junk'} that is not readable as parquet"):
        to_python(dataset(str(tmp_path / "junk")), pd.DataFrame)


def test_format_left_empty_is_read_as_parquet(tmp_path) -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    frame.to_parquet(tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(to_python(dataset(str(tmp_path / "f.parquet"), fmt=""), pd.DataFrame), frame)


def test_dataset_that_is_one_object_on_s3(s3_bucket: str) -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    uri = f"s3://{s3_bucket}/single/data.parquet"
    fio.write_bytes(uri, buffer.getvalue())
    pd.testing.assert_frame_equal(to_python(dataset(uri), pd.DataFrame), frame)


def test_missing_dataset_on_s3_names_the_uri(s3_bucket: str) -> None:
    uri = f"s3://{s3_bucket}/nothing-here"
    with pytest.raises(fio.StorageError, match=f"not found: {uri}"):
        to_python(dataset(uri), pd.DataFrame)


def test_codec_is_cached_per_class() -> None:
    assert codec_for(pd.DataFrame) is codec_for(pd.DataFrame)
