"""StructuredDataset as flytekit users write it, against what flytekit 1.16 wrote (golden/sd_*, ...).

Each case's golden/<name>.part is the one file flytekit stored under the dataset's uri (its name is the
manifest's ``stored_part``: ``00000`` for parquet, ``.csv`` for CSV).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import typing

import msgpack
import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")
pydantic = pytest.importorskip("pydantic")

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402

from flytelite import StructuredDataset, kwtypes  # noqa: E402
from flytelite.types import BlobPaths, LiteralMismatch, UnsupportedType, literal_type, storing_blobs, to_literal, to_python  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
MANIFEST = json.load(open(os.path.join(GOLDEN, "manifest.json")))["cases"]
COLUMNS = kwtypes(**{name: cases.DATASET_COLUMN_TYPES[name] for name in cases.DATASET_SUBSET})


@dataclasses.dataclass
class Table:
    name: str
    data: StructuredDataset


class TableModel(pydantic.BaseModel):
    name: str
    data: StructuredDataset


def _frame():
    return pd.DataFrame(cases.DATASET_COLUMNS)


# name -> (our annotation, our value), as generate_golden.dataset_cases() builds flytekit's
DATASET_CASES = {
    "sd_columns": (typing.Annotated[StructuredDataset, COLUMNS], lambda: StructuredDataset(dataframe=_frame())),
    "sd_csv": (typing.Annotated[StructuredDataset, "csv"], lambda: StructuredDataset(dataframe=_frame())),
    "sd_plain": (StructuredDataset, lambda: StructuredDataset(dataframe=_frame())),
    "dataframe_columns": (typing.Annotated[pd.DataFrame, COLUMNS], _frame),
    "dataclass_sd": (Table, lambda: Table(name="t", data=StructuredDataset(dataframe=_frame()))),
    "pydantic_sd": (TableModel, lambda: TableModel(name="t", data=StructuredDataset(dataframe=_frame()))),
}
STRUCTS = ("dataclass_sd", "pydantic_sd")


def _read(message_type, name):
    message = message_type()
    with open(os.path.join(GOLDEN, name), "rb") as f:
        message.ParseFromString(f.read())
    return message


def _expected_frame(name):
    frame = _frame()
    return frame[list(cases.DATASET_SUBSET)] if name in ("sd_columns", "dataframe_columns") else frame


def _stored(lit):
    """The uri, format and metadata of a dataset literal, or of the dataset field of a struct literal."""
    if lit.scalar.WhichOneof("value") == "binary":
        data = msgpack.unpackb(lit.scalar.binary.value)["data"]
        return data["uri"], data["file_format"], None
    stored = lit.scalar.structured_dataset
    return stored.uri, stored.metadata.structured_dataset_type.format, stored.metadata


@pytest.fixture(autouse=True)
def local_context(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


@pytest.mark.parametrize("name", sorted(DATASET_CASES))
def test_literal_type_matches_flytekit(name):
    theirs = _read(types_pb2.LiteralType, f"{name}.literal_type.pb")
    ours = literal_type(DATASET_CASES[name][0])
    if name == "pydantic_sd":  # pydantic writes its own schema document: compare the shape flytekit reads
        assert ours.structure == theirs.structure and ours.annotation == theirs.annotation
        their_schema, our_schema = (json_format.MessageToDict(t.metadata) for t in (theirs, ours))
        assert our_schema["required"] == their_schema["required"]
        # both refer to a named $defs entry; flytekit's also carries its class docstring as a description
        their_schema["$defs"]["StructuredDataset"].pop("description")
        assert our_schema == their_schema
    else:
        assert ours == theirs


@pytest.mark.parametrize("name", sorted(DATASET_CASES))
def test_written_as_flytekit_writes_it(name, tmp_path):
    py_type, value = DATASET_CASES[name]
    golden = _read(literals_pb2.Literal, f"{name}.literal.pb")
    ours = to_literal(value(), py_type)
    uri, file_format, metadata = _stored(ours)
    their_uri, their_format, their_metadata = _stored(golden)
    assert file_format == their_format and metadata == their_metadata
    if name in STRUCTS:  # everything but the random uri is the same msgpack document
        mine, theirs = (msgpack.unpackb(lit.scalar.binary.value) for lit in (ours, golden))
        mine["data"]["uri"] = theirs["data"]["uri"]
        assert mine == theirs
    # <raw prefix>/<random 32 hex>, a folder holding the one file flytekit writes
    assert uri.startswith(str(tmp_path / "raw") + "/") and len(uri.split("/")[-1]) == len(their_uri.split("/")[-1]) == 32
    part = MANIFEST[name]["stored_part"]
    assert os.listdir(uri) == [part]
    if part == ".csv":
        with open(os.path.join(uri, part), "rb") as mine, open(os.path.join(GOLDEN, f"{name}.part"), "rb") as theirs:
            assert mine.read() == theirs.read()
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(os.path.join(uri, part)), pd.read_parquet(os.path.join(GOLDEN, f"{name}.part")))


def _golden_literal_with_its_file(name, tmp_path):
    """The golden literal, its uri pointed at a folder holding the file flytekit wrote."""
    golden = _read(literals_pb2.Literal, f"{name}.literal.pb")
    folder = tmp_path / f"flytekit-{name}"
    folder.mkdir()
    shutil.copyfile(os.path.join(GOLDEN, f"{name}.part"), folder / MANIFEST[name]["stored_part"])
    if name in STRUCTS:
        data = msgpack.unpackb(golden.scalar.binary.value)
        data["data"]["uri"] = str(folder)
        golden.scalar.binary.value = msgpack.packb(data)
    else:
        golden.scalar.structured_dataset.uri = str(folder)
    return golden


@pytest.mark.parametrize("name", sorted(DATASET_CASES))
def test_reads_what_flytekit_wrote(name, tmp_path):
    py_type, _ = DATASET_CASES[name]
    back = to_python(_golden_literal_with_its_file(name, tmp_path), py_type)
    if name == "dataframe_columns":
        frame = back
    else:
        dataset = back.data if name in STRUCTS else back
        assert isinstance(dataset, StructuredDataset)
        frame = dataset.open(pd.DataFrame).all()
    pd.testing.assert_frame_equal(frame, _expected_frame(name))


def test_an_input_reads_only_the_columns_its_annotation_declares(tmp_path):
    """flytekit's column subsetting: a task declaring fewer columns than were written gets only those."""
    written = to_literal(StructuredDataset(dataframe=_frame()), StructuredDataset)
    only_b = to_python(written, typing.Annotated[StructuredDataset, kwtypes(b=str)]).open(pd.DataFrame).all()
    assert list(only_b.columns) == ["b"]
    assert list(to_python(written, StructuredDataset).open(pd.DataFrame).all().columns) == ["a", "b", "c"]


def test_an_input_handed_on_keeps_its_literal():
    written = to_literal(StructuredDataset(dataframe=_frame()), typing.Annotated[StructuredDataset, COLUMNS])
    dataset = to_python(written, StructuredDataset)
    assert to_literal(dataset, StructuredDataset) == written


def test_a_stored_table_by_uri_is_uploaded_and_keeps_its_format(tmp_path):
    local = tmp_path / "table.csv"
    folder = tmp_path / "table"
    folder.mkdir()
    _frame().to_csv(folder / ".csv", index=False)
    lit = to_literal(StructuredDataset(uri=str(folder), file_format="csv"), StructuredDataset)
    assert lit.scalar.structured_dataset.metadata.structured_dataset_type.format == "csv"
    assert lit.scalar.structured_dataset.uri.startswith(str(tmp_path / "raw") + "/")
    pd.testing.assert_frame_equal(to_python(lit, StructuredDataset).open(pd.DataFrame).all(), _frame())
    with pytest.raises(LiteralMismatch, match=r"expected StructuredDataset, got StructuredDataset\(uri=.*nothing exists at"):
        to_literal(StructuredDataset(uri=str(local)), StructuredDataset)


# --- bad input ---------------------------------------------------------------------------------------


def test_a_data_frame_where_a_structured_dataset_is_declared_says_how_to_wrap_it():
    with pytest.raises(LiteralMismatch, match=r"^expected StructuredDataset, got a DataFrame \(wrap a data frame as StructuredDataset\(dataframe=df\)\)$"):
        to_literal(_frame(), StructuredDataset)


def test_a_literal_of_the_wrong_shape_names_the_expected_type_and_what_arrived():
    integer = literals_pb2.Literal()
    integer.scalar.primitive.integer = 3
    with pytest.raises(LiteralMismatch, match=r"^expected StructuredDataset, got a integer literal 3$"):
        to_python(integer, typing.Annotated[StructuredDataset, COLUMNS])


def test_a_table_that_is_not_what_its_format_says_is_a_mismatch(tmp_path):
    folder = tmp_path / "not-parquet"
    folder.mkdir()
    (folder / "00000").write_text("a,b\n1,2\n")
    lit = literals_pb2.Literal()
    lit.scalar.structured_dataset.uri = str(folder)
    lit.scalar.structured_dataset.metadata.structured_dataset_type.format = "parquet"
    with pytest.raises(LiteralMismatch, match=r"expected DataFrame, got a structured dataset at .*not-parquet that is not readable as parquet"):
        to_python(lit, pd.DataFrame)
    lit.scalar.structured_dataset.metadata.structured_dataset_type.format = "avro"
    with pytest.raises(LiteralMismatch, match=r"in 'avro' format .*parquet and csv are read"):
        to_python(lit, pd.DataFrame)


def test_a_declared_column_missing_from_the_table_is_a_mismatch():
    written = to_literal(_frame(), pd.DataFrame)
    with pytest.raises(LiteralMismatch, match=r"not readable as parquet"):
        to_python(written, typing.Annotated[pd.DataFrame, kwtypes(zzz=int)])


def test_unsupported_annotations_fail_when_the_type_is_built():
    @dataclasses.dataclass
    class WithFrame:
        frame: pd.DataFrame

    with pytest.raises(UnsupportedType, match=r"field 'frame' is a pandas DataFrame.*must be a StructuredDataset"):
        literal_type(WithFrame)
    with pytest.raises(UnsupportedType, match=r"column 'x' of type set\[int\]: a column may be int, float, bool, str"):
        literal_type(typing.Annotated[StructuredDataset, kwtypes(x=set[int])])
    with pytest.raises(UnsupportedType, match=r"format 'avro'"):
        to_literal(StructuredDataset(dataframe=_frame()), typing.Annotated[StructuredDataset, "avro"])
