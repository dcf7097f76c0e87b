"""Types of issue 20 items 4-11 and issue 18 bug 2 (type_cases.py) against flytekit 1.16's LiteralTypes and
literals (golden_forms/types.*, written by generate_input_forms.py), both ways."""

from __future__ import annotations

import json
import os
import sys
import types
import typing

import pytest
from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format

sys.path.insert(0, os.path.dirname(__file__))
import type_cases  # noqa: E402

from flytelite import Directory, File  # noqa: E402
from flytelite.types import BlobPaths, LiteralMismatch, literal_type, storing_blobs, to_literal, to_python  # noqa: E402
from flytelite.types.datasets import StructuredDataset, kwtypes  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "golden_forms")
with open(os.path.join(GOLDEN, "manifest.json")) as manifest_file:
    MANIFEST = json.load(manifest_file)["types"]
KIT = types.SimpleNamespace(File=File, Directory=Directory, StructuredDataset=StructuredDataset, kwtypes=kwtypes)
CASES = {name: (t, value) for name, t, value in type_cases.cases(KIT)}
# flytekit describes StructuredDataset in its pydantic schema with its docstring's prose; flytelite writes none.
SCHEMA_DIFFERENCES = {"pydantic_files_schema": ("$defs", "StructuredDataset", "description")}


@pytest.fixture(autouse=True)
def local_blobs(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


def _read(message_type, file_name):
    with open(os.path.join(GOLDEN, file_name), "rb") as f:
        return message_type.FromString(f.read())


def _without(lt: types_pb2.LiteralType, path: tuple[str, ...]) -> types_pb2.LiteralType:
    schema = json_format.MessageToDict(lt.metadata)
    inner = schema
    for key in path[:-1]:
        inner = inner[key]
    inner.pop(path[-1], None)
    out = types_pb2.LiteralType()
    out.CopyFrom(lt)
    out.metadata.Clear()
    out.metadata.update(schema)
    return out


@pytest.mark.parametrize("name", sorted(n for n in CASES if "literal_type_file" in MANIFEST[n]))
def test_literal_type_matches_flytekit(name):
    t, _ = CASES[name]
    theirs = _read(types_pb2.LiteralType, MANIFEST[name]["literal_type_file"])
    ours = literal_type(t)
    if name in SCHEMA_DIFFERENCES:
        theirs, ours = _without(theirs, SCHEMA_DIFFERENCES[name]), _without(ours, SCHEMA_DIFFERENCES[name])
    assert ours == theirs


def _expected(name, value):
    return File(value) if name == "pathlike" else value  # flytekit reads os.PathLike back as a FlyteFile


@pytest.mark.parametrize("name", sorted(n for n in CASES if MANIFEST[n].get("flytekit_reads")))
def test_reads_flytekits_literal_and_writes_the_same(name):
    t, value = CASES[name]
    theirs = _read(literals_pb2.Literal, MANIFEST[name]["file"])
    got = to_python(theirs, t)
    assert got == _expected(name, value) and type(got) is type(_expected(name, value))
    assert to_literal(value, t) == theirs


def test_an_object_in_an_any_field_is_refused_when_written_as_flytekit_does():
    assert "can not serialize 'Opaque'" in MANIFEST["any_object_in_dataclass"]["flytekit_write_error"]
    t, value = CASES["any_object_in_dataclass"]
    with pytest.raises(LiteralMismatch, match=r"field 'AnyBox\.a'.*Opaque.*plain data"):
        to_literal(value, t)


def test_a_literal_value_outside_the_choices_is_refused():
    with pytest.raises(LiteralMismatch, match="'medium', which is none of 'fast', 'slow'"):
        to_literal("medium", typing.Literal["fast", "slow"])
    with pytest.raises(LiteralMismatch, match="none of"):
        to_literal(type_cases.Choice(mode="medium"), type_cases.Choice)
