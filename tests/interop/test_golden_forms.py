"""Inputs in every form the backend hands a task, against the literals flytekit 1.16 wrote and read
(golden_forms/, written by generate_input_forms.py; the cases are in input_forms.py)."""

from __future__ import annotations

import json
import os
import sys

import msgpack
import pytest
from flyteidl.core import literals_pb2

sys.path.insert(0, os.path.dirname(__file__))
import input_forms  # noqa: E402

from flytelite import Directory, File  # noqa: E402
from flytelite.types import BlobPaths, storing_blobs, to_literal, to_python  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(__file__), "golden_forms")
with open(os.path.join(GOLDEN, "manifest.json")) as manifest_file:
    MANIFEST = json.load(manifest_file)

ATTRIBUTE = {name: (t, v) for name, t, v in input_forms.attribute_cases(File, Directory)}
STRUCT = {name: (t, sent, v) for name, t, sent, v in input_forms.struct_cases(File, Directory)}
OLD_FORMAT = {name: (t, v) for name, t, v in input_forms.old_format_cases(File)}
BARE_UNION = {name: (union, variant, v) for name, union, variant, v in input_forms.bare_union_cases(File)}

# Where flytekit refuses a form and flytelite reads it, and why that is safe.
READ_WHERE_FLYTEKIT_REFUSES = {
    # flytekit's SimpleTransformer asserts the msgpack value's Python type is exactly float; an int widens
    # without loss, as flytelite's float codec reads an integer literal too.
    ("attribute", "float_holding_int"),
    # A bare int or float literal for Union[int, float]: flytekit's int and float transformers both claim it
    # and it refuses the input as ambiguous; flytelite takes the variant whose own literal it is.
    ("bare_union", "float_to_union_int_float"),
    ("bare_union", "int_to_union_int_float"),
}


@pytest.fixture(autouse=True)
def local_blobs(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


def _golden(file_name: str) -> literals_pb2.Literal:
    with open(os.path.join(GOLDEN, file_name), "rb") as f:
        return literals_pb2.Literal.FromString(f.read())


def _same(expected, got) -> bool:
    return got == expected and type(got) is type(expected)


def _read_by_flytekit(section: str) -> list[str]:
    return sorted(name for name, entry in MANIFEST[section].items() if entry.get("flytekit_reads"))


def test_every_case_was_generated():
    assert sorted(MANIFEST["attribute"]) == sorted(ATTRIBUTE)
    assert sorted(MANIFEST["struct"]) == sorted(STRUCT)
    assert sorted(MANIFEST["old_format"]) == sorted(OLD_FORMAT)
    assert sorted(MANIFEST["bare_union"]) == sorted(BARE_UNION)


def test_the_forms_flytekit_refuses_are_the_known_ones():
    refused = {(section, name) for section in ("attribute", "struct", "old_format", "bare_union", "pydantic_attribute")
               for name, entry in MANIFEST[section].items() if not entry.get("flytekit_reads")}
    assert refused == READ_WHERE_FLYTEKIT_REFUSES


# --- attribute access: a Binary tagged msgpack holding only holder.v -------------------------------


@pytest.mark.parametrize("name", sorted(ATTRIBUTE))
def test_reads_the_attribute_literal_the_backend_resolves(name):
    t, value = ATTRIBUTE[name]
    golden = _golden(MANIFEST["attribute"][name]["file"])
    assert golden.scalar.binary.tag == "msgpack"
    got = to_python(golden, t)
    expected = float(value) if name == "float_holding_int" else value
    assert _same(expected, got), (got, expected)


def _resolved_attribute(holder_literal: literals_pb2.Literal) -> bytes:
    """What the backend does with ``holder.v``: unpack the document, take ``v``, pack it again."""
    return msgpack.packb(msgpack.unpackb(holder_literal.scalar.binary.value, strict_map_key=False)["v"])


@pytest.mark.parametrize("name", sorted(ATTRIBUTE))
def test_our_dataclass_document_resolves_to_flytekits_attribute_bytes(name):
    t, value = ATTRIBUTE[name]
    holder = input_forms.holder(name, t)
    ours = to_literal(holder(v=value), holder)
    assert _resolved_attribute(ours) == _golden(MANIFEST["attribute"][name]["file"]).scalar.binary.value


@pytest.mark.skipif(input_forms.pydantic is None, reason="pydantic is not installed")
@pytest.mark.parametrize("name", input_forms.PYDANTIC_ATTRIBUTE_NAMES)
def test_reads_a_pydantic_attribute_and_writes_the_same_bytes(name):
    t, value = ATTRIBUTE[name]
    golden = _golden(MANIFEST["pydantic_attribute"][name]["file"])
    assert _same(value, to_python(golden, t))
    model = input_forms.pydantic_holder(name, t)
    assert _resolved_attribute(to_literal(model(v=value), model)) == golden.scalar.binary.value


def test_an_attribute_of_the_wrong_type_is_a_clear_error():
    golden = _golden(MANIFEST["attribute"]["str"]["file"])
    with pytest.raises(Exception, match="expected int, got str"):
        to_python(golden, int)


# --- FlyteConsole: files and folders as Struct {"path": uri} --------------------------------------


@pytest.mark.parametrize("name", sorted(STRUCT))
def test_reads_a_console_struct_for_a_file_or_folder(name):
    t, sent, value = STRUCT[name]
    golden = _golden(MANIFEST["struct"][name]["file"])
    assert golden.scalar.WhichOneof("value") == "generic"
    assert _same(value, to_python(golden, t))


# --- FLYTE_USE_OLD_DC_FORMAT=true: the JSON Struct, written and read ------------------------------


@pytest.mark.parametrize("name", sorted(OLD_FORMAT))
def test_old_format_literal_equals_flytekits(name, monkeypatch):
    t, value = OLD_FORMAT[name]
    monkeypatch.setenv("FLYTE_USE_OLD_DC_FORMAT", "true")
    assert to_literal(value, t) == _golden(MANIFEST["old_format"][name]["file"])


@pytest.mark.parametrize("name", sorted(OLD_FORMAT))
def test_reads_flytekits_old_format_literal(name):
    t, value = OLD_FORMAT[name]
    assert to_python(_golden(MANIFEST["old_format"][name]["file"]), t) == value


def test_without_the_variable_the_msgpack_shape_is_written(monkeypatch):
    t, value = OLD_FORMAT["point"]
    monkeypatch.setenv("FLYTE_USE_OLD_DC_FORMAT", "false")
    assert to_literal(value, t).scalar.WhichOneof("value") == "binary"


# --- a bare literal of one variant given to a Union input ------------------------------------------


@pytest.mark.parametrize("name", sorted(BARE_UNION))
def test_reads_a_bare_variant_literal_for_a_union(name):
    union, variant, value = BARE_UNION[name]
    golden = _golden(MANIFEST["bare_union"][name]["file"])
    assert golden.scalar.WhichOneof("value") != "union"
    assert golden == to_literal(value, variant)  # the variant's own literal, as flytekit writes it
    assert _same(value, to_python(golden, union))
