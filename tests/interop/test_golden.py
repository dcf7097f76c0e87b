"""Our type engine against the bytes flytekit 1.16 wrote (golden files; see README.md here)."""

from __future__ import annotations

import os
import sys

import pytest
from flyteidl.core import interface_pb2, literals_pb2, types_pb2

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402  (module name must be "cases": pickled class names include it)

from flytelite import Directory, File, task  # noqa: E402
from flytelite.types import BlobPaths, storing_blobs, literal_type, to_literal, to_python  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
SPECIAL_TYPES = {cases.FILE: File, cases.FILE_CSV: File["csv"], cases.DIRECTORY: Directory, cases.PICKLE: cases.Opaque}


def _read(message_type, name):
    message = message_type()
    with open(os.path.join(GOLDEN, name), "rb") as f:
        message.ParseFromString(f.read())
    return message


def _our_type(python_type):
    return SPECIAL_TYPES.get(python_type, python_type) if isinstance(python_type, cases.Special) else python_type


def _our_value(python_type, value):
    if python_type in (cases.FILE, cases.FILE_CSV, cases.DIRECTORY):
        return SPECIAL_TYPES[python_type](value)
    return value


@pytest.fixture(autouse=True)
def local_context(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


@pytest.mark.parametrize("name", [c[0] for c in cases.CASES])
def test_literal_type_matches_flytekit(name):
    python_type, _ = cases.CASES_BY_NAME[name]
    expected = _read(types_pb2.LiteralType, f"{name}.literal_type.pb")
    assert literal_type(_our_type(python_type)) == expected


@pytest.mark.parametrize("name", [c[0] for c in cases.CASES if c[0] not in cases.RANDOM_URI_CASES])
def test_literal_matches_flytekit(name):
    python_type, value = cases.CASES_BY_NAME[name]
    expected = _read(literals_pb2.Literal, f"{name}.literal.pb")
    assert to_literal(_our_value(python_type, value), _our_type(python_type)) == expected


@pytest.mark.parametrize("name", [c[0] for c in cases.CASES])
def test_reads_flytekit_literal(name):
    python_type, value = cases.CASES_BY_NAME[name]
    golden = _read(literals_pb2.Literal, f"{name}.literal.pb")
    if name in cases.RANDOM_URI_CASES:
        golden.scalar.blob.uri = _rewrite_pickle(golden.scalar.blob.uri, value)
    decoded = to_python(golden, _our_type(python_type))
    assert decoded == _our_value(python_type, value)
    assert type(decoded) is type(_our_value(python_type, value))


def _rewrite_pickle(uri, value):
    # The golden pickle lived in the generator's temporary folder: store the same value where the
    # golden URI's shape says (<raw>/<hex>/<md5>) under this test's folder and read it from there.
    ours = to_literal(value, cases.Opaque)
    assert ours.scalar.blob.metadata == _read(literals_pb2.Literal, "pickle.literal.pb").scalar.blob.metadata
    assert len(ours.scalar.blob.uri.split("/")[-2]) == len(uri.split("/")[-2]) == 32
    return ours.scalar.blob.uri


@pytest.mark.parametrize("name", cases.OLD_FORMAT_CASES)
def test_reads_pre_1_14_struct_shape(name):
    python_type, value = cases.CASES_BY_NAME[name]
    old = _read(literals_pb2.Literal, f"{name}.old.literal.pb")
    assert old.scalar.WhichOneof("value") == "generic"
    assert to_python(old, python_type) == value


def test_pickle_literal_shape_matches_flytekit():
    ours = to_literal(cases.Opaque([1]), cases.Opaque)
    golden = _read(literals_pb2.Literal, "pickle.literal.pb")
    assert ours.scalar.blob.metadata == golden.scalar.blob.metadata
    assert to_python(ours, cases.Opaque) == cases.Opaque([1])


def add(a: int, b: int = 3) -> int:
    return a + b


def pair(x: list[float], name: str) -> tuple[int, str]:
    return len(x), name


def named(x: int) -> cases.typing.NamedTuple("Result", total=int, label=str):
    return x, "n"


@pytest.mark.parametrize("fn,golden", [(add, "interface_add.pb"), (pair, "interface_tuple.pb"), (named, "interface_namedtuple.pb")])
def test_typed_interface_matches_flytekit(fn, golden):
    assert task(fn).interface == _read(interface_pb2.TypedInterface, golden)


# --- pandas DataFrame as a parquet structured dataset (pandas and pyarrow are optional) ----------


def _golden_frame():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    return pd, pd.DataFrame(cases.DATAFRAME_COLUMNS)


def test_dataframe_literal_type_matches_flytekit():
    pd, _ = _golden_frame()
    assert literal_type(pd.DataFrame) == _read(types_pb2.LiteralType, "dataframe.literal_type.pb")


def test_dataframe_literal_shape_matches_flytekit(tmp_path):
    pd, df = _golden_frame()
    import pyarrow.parquet as pq

    golden = _read(literals_pb2.Literal, "dataframe.literal.pb")
    ours = to_literal(df, pd.DataFrame)
    assert ours.scalar.structured_dataset.metadata == golden.scalar.structured_dataset.metadata
    # <raw prefix>/<random 32 hex>, a folder holding the single file 00000
    assert ours.scalar.structured_dataset.uri.startswith(str(tmp_path / "raw") + "/")
    assert len(ours.scalar.structured_dataset.uri.split("/")[-1]) == len(golden.scalar.structured_dataset.uri.split("/")[-1]) == 32
    assert os.listdir(ours.scalar.structured_dataset.uri) == ["00000"]
    # The same parquet schema (column types and the pandas index metadata), versions aside.
    mine = pq.read_schema(os.path.join(ours.scalar.structured_dataset.uri, "00000"))
    theirs = pq.read_schema(os.path.join(GOLDEN, "dataframe.00000.parquet"))
    assert mine.remove_metadata() == theirs.remove_metadata()
    assert mine.pandas_metadata["index_columns"] == theirs.pandas_metadata["index_columns"]
    assert mine.pandas_metadata["columns"] == theirs.pandas_metadata["columns"]
    pd.testing.assert_frame_equal(to_python(ours, pd.DataFrame), df)


def test_reads_flytekit_dataframe(tmp_path):
    pd, df = _golden_frame()
    import shutil

    golden = _read(literals_pb2.Literal, "dataframe.literal.pb")
    folder = tmp_path / "flytekit-dataset"
    folder.mkdir()
    shutil.copyfile(os.path.join(GOLDEN, "dataframe.00000.parquet"), folder / "00000")
    golden.scalar.structured_dataset.uri = str(folder)  # it lived in the generator's temporary folder
    pd.testing.assert_frame_equal(to_python(golden, pd.DataFrame), df)


# --- torch and numpy (golden/<name>.blob is the file flytekit wrote) ---------------------------------


def _array_value(name):
    import numpy
    import torch

    torch.manual_seed(0)
    return {
        "torch_tensor": (torch.Tensor, torch.arange(12, dtype=torch.float32).reshape(3, 4)),
        "torch_module": (torch.nn.Module, torch.nn.Linear(3, 2)),
        "numpy_array": (numpy.ndarray, numpy.arange(12, dtype=numpy.float32).reshape(3, 4)),
    }[name]


def _same_array(name, expected, got):
    import numpy
    import torch

    if name == "torch_module":
        pairs = zip(expected.state_dict().values(), got.state_dict().values())
        return type(got) is type(expected) and all(torch.equal(a, b) for a, b in pairs)
    if name == "torch_tensor":
        return type(got) is torch.Tensor and torch.equal(got, expected)
    return type(got) is numpy.ndarray and got.dtype == expected.dtype and numpy.array_equal(got, expected)


@pytest.mark.parametrize("name", sorted(cases.ARRAY_CASES))
def test_array_literal_type_and_blob_metadata_match_flytekit(name):
    py_type, value = _array_value(name)
    assert literal_type(py_type) == _read(types_pb2.LiteralType, f"{name}.literal_type.pb")
    ours = to_literal(value, py_type)
    golden = _read(literals_pb2.Literal, f"{name}.literal.pb")
    assert ours.scalar.blob.metadata == golden.scalar.blob.metadata
    assert _same_array(name, value, to_python(ours, py_type))


@pytest.mark.parametrize("name", sorted(cases.ARRAY_CASES))
def test_reads_flytekit_array_blob(name):
    py_type, value = _array_value(name)
    golden = _read(literals_pb2.Literal, f"{name}.literal.pb")
    golden.scalar.blob.uri = os.path.join(GOLDEN, f"{name}.blob")
    assert _same_array(name, value, to_python(golden, py_type))


def test_numpy_blob_has_flytekit_bytes():
    import numpy

    py_type, value = _array_value("numpy_array")
    ours = to_literal(value, numpy.ndarray)
    with open(ours.scalar.blob.uri, "rb") as mine, open(os.path.join(GOLDEN, "numpy_array.blob"), "rb") as theirs:
        assert mine.read() == theirs.read()


# --- a pydantic model with file and folder fields ---------------------------------------------------


def _report_model():
    import pydantic

    class Report(pydantic.BaseModel):
        name: str
        data: File
        folder: Directory

    return Report


def test_pydantic_model_with_files_matches_flytekit():
    from google.protobuf import json_format

    report = _report_model()
    theirs = _read(types_pb2.LiteralType, "pydantic_files.literal_type.pb")
    ours = literal_type(report)
    assert ours.structure == theirs.structure and ours.annotation == theirs.annotation
    their_schema, our_schema = (json_format.MessageToDict(t.metadata) for t in (theirs, ours))
    assert our_schema["required"] == their_schema["required"]
    assert sorted(our_schema["properties"]) == sorted(their_schema["properties"])
    value = report(name="r", data=File("s3://my-bucket/data/report.csv"), folder=Directory("s3://my-bucket/data/images"))
    assert to_literal(value, report) == _read(literals_pb2.Literal, "pydantic_files.literal.pb")


def test_reads_flytekit_pydantic_model_with_files():
    report = _report_model()
    back = to_python(_read(literals_pb2.Literal, "pydantic_files.literal.pb"), report)
    assert back.data == File("s3://my-bucket/data/report.csv") and back.folder == Directory("s3://my-bucket/data/images")


def test_pydantic_file_field_of_the_wrong_shape_is_a_clear_error():
    from flytelite.types import LiteralMismatch
    import msgpack

    report = _report_model()
    lit = _read(literals_pb2.Literal, "pydantic_files.literal.pb")
    lit.scalar.binary.value = msgpack.packb({"name": "r", "data": 5, "folder": {"path": "s3://b/d"}})
    with pytest.raises(LiteralMismatch, match=r"(?s)expected Report, got data that fails validation.*data.*expected a File, a path or"):
        to_python(lit, report)


# --- @task(pickle_untyped=True): unannotated inputs and return are typing.Any, pickled --------------


def untyped(a, b: int):
    return {"a": a, "b": b}


def test_untyped_interface_matches_flytekit():
    assert task(pickle_untyped=True)(untyped).interface == _read(interface_pb2.TypedInterface, "interface_untyped.pb")


def test_untyped_values_travel_as_pickles():
    assert task(pickle_untyped=True)(untyped)(a=cases.Opaque(1), b=2) == {"a": cases.Opaque(1), "b": 2}
    lit = to_literal(cases.Opaque(1), cases.typing.Any)
    assert lit.scalar.blob.metadata.type.format == "PythonPickle"
    assert to_python(lit, cases.typing.Any) == cases.Opaque(1)


def test_without_pickle_untyped_an_unannotated_input_is_refused_naming_the_way_out():
    from flytelite.types import UnsupportedType

    with pytest.raises(UnsupportedType, match=r"input 'a' needs a type annotation \(or @task\(pickle_untyped=True\) to pickle it\)"):
        task(untyped)
