"""Our type engine against the bytes flytekit 1.16 wrote (golden files; see README.md here)."""

from __future__ import annotations

import os
import sys

import pytest
from flyteidl.core import interface_pb2, literals_pb2, types_pb2

sys.path.insert(0, os.path.dirname(__file__))
import cases  # noqa: E402  (module name must be "cases": pickled class names include it)

from flytelite import Directory, File, task  # noqa: E402
from flytelite.context import ExecutionContext, use_context  # noqa: E402
from flytelite.type_engine import literal_type, to_literal, to_python  # noqa: E402

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
    with use_context(ExecutionContext(working_directory=str(tmp_path), raw_output_prefix=str(tmp_path / "raw"))):
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
