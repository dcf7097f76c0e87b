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
SPECIAL_TYPES = {cases.FILE: File, cases.DIRECTORY: Directory, cases.PICKLE: cases.Opaque}


def _read(message_type, name):
    message = message_type()
    with open(os.path.join(GOLDEN, name), "rb") as f:
        message.ParseFromString(f.read())
    return message


def _our_type(python_type):
    return SPECIAL_TYPES.get(python_type, python_type) if isinstance(python_type, cases.Special) else python_type


def _our_value(python_type, value):
    if python_type in (cases.FILE, cases.DIRECTORY):
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
