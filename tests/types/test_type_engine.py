"""The type engine: Python values <-> literals, and the messages a mismatch gives.

Wire shapes are pinned against flytekit by tests/interop; these tests pin behaviour: round trips,
what is accepted and rejected, and what the error says.
"""

import dataclasses
import datetime
import enum
import os
import re
from typing import Any, Optional, Union

import msgpack
import pydantic
import pytest
from flyteidl.core import literals_pb2

from flytelite import io as fio
from flytelite.runtime.context import ExecutionContext, use_context
from flytelite.types.files import Directory, File
from flytelite.types import (
    BlobPaths,
    storing_blobs,
    LiteralMismatch,
    UnsupportedType,
    codec_for,
    decode_map,
    encode_map,
    literal_type,
    to_literal,
    to_python,
)

Literal = literals_pb2.Literal
LiteralMap = literals_pb2.LiteralMap


# --- helpers and module-level types (annotations must resolve at module level) -----------------


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Inner:
    x: int
    y: Optional[float] = None


@dataclasses.dataclass
class Outer:
    name: str
    inner: Inner
    items: list[Inner]
    tags: dict[str, int]
    maybe: Optional[Inner] = None


@dataclasses.dataclass
class Times:
    when: datetime.datetime
    day: datetime.date
    span: datetime.timedelta
    color: Color


@dataclasses.dataclass
class Counts:
    a: int
    b: int
    label: str = "none"


@dataclasses.dataclass
class Row:
    id: int
    score: float
    name: str
    ok: bool


class Model(pydantic.BaseModel):
    name: str
    count: int
    when: datetime.datetime
    tags: list[str] = []


class Opaque:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is Opaque and other.value == self.value


class OtherOpaque:
    pass


@pytest.fixture(autouse=True)
def local_context(tmp_path):
    ctx = ExecutionContext(working_directory=str(tmp_path / "work"), raw_output_prefix=str(tmp_path / "raw"))
    with use_context(ctx), storing_blobs(BlobPaths(ctx.raw_output_prefix, ctx.working_directory)):
        yield ctx


def _prim(**kwargs: Any) -> Literal:
    lit = Literal()
    for field, value in kwargs.items():
        setattr(lit.scalar.primitive, field, value)
    return lit


def _map(**lits: Literal) -> LiteralMap:
    m = LiteralMap()
    for name, lit in lits.items():
        m.literals[name].CopyFrom(lit)
    return m


def _collection(lits: list[Literal]) -> Literal:
    lit = Literal()
    for item in lits:
        lit.collection.literals.add().CopyFrom(item)
    return lit


def _round_trip(value: Any, py_type: Any) -> Any:
    lit = to_literal(value, py_type)
    wire = Literal()
    wire.ParseFromString(lit.SerializeToString())
    return to_python(wire, py_type)


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "py_type, value",
    [
        (int, 0),
        (int, -(2**63)),
        (int, 2**63 - 1),
        (float, 0.0),
        (float, -1.5e300),
        (str, ""),
        (str, "héllo \u2603"),
        (bool, False),
        (bool, True),
        (datetime.timedelta, datetime.timedelta(days=2, microseconds=7)),
        (datetime.date, datetime.date(1999, 12, 31)),
        (type(None), None),
        (Color, Color.GREEN),
        (Optional[int], None),
        (Optional[int], 0),
        (Union[int, str], "x"),
        (Union[int, str], 3),
        (dict[str, list[Optional[int]]], {"a": [1, None, 0], "": [], "b": [None]}),
        (list[list[dict[str, float]]], [[{"a": 1.5, "b": 0.0}], [], [{}]]),
        (list[Color], [Color.RED, Color.GREEN]),
    ],
)
def test_round_trip(py_type, value):
    decoded = _round_trip(value, py_type)
    assert decoded == value
    assert type(decoded) is type(value)


def test_datetime_round_trip_is_utc():
    aware = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))
    decoded = _round_trip(aware, datetime.datetime)
    assert decoded == aware
    assert decoded.tzinfo == datetime.timezone.utc
    assert decoded.hour == 5
    naive = datetime.datetime(2024, 5, 6, 7, 8, 9)  # taken to be UTC already
    assert _round_trip(naive, datetime.datetime) == naive.replace(tzinfo=datetime.timezone.utc)


def test_date_travels_as_midnight_utc():
    lit = to_literal(datetime.date(2020, 2, 29), datetime.date)
    assert lit.scalar.primitive.datetime.ToDatetime() == datetime.datetime(2020, 2, 29)


def test_int_literal_accepted_for_float():
    assert to_python(_prim(integer=3), float) == 3.0
    assert type(to_python(_prim(integer=3), float)) is float
    assert to_literal(2, float).scalar.primitive.float_value == 2.0


def test_float_literal_rejected_for_int():
    with pytest.raises(LiteralMismatch, match=r"expected int, got a float_value literal 1\.5"):
        to_python(_prim(float_value=1.5), int)


@pytest.mark.parametrize("py_type, value", [(int, True), (int, 1.0), (float, True), (bool, 1), (str, 1), (int, "1")])
def test_primitive_values_of_wrong_type_rejected(py_type, value):
    with pytest.raises(TypeError) as info:
        encode_map({"o0": value}, {"o0": py_type})
    message = str(info.value)
    assert "output 'o0'" in message
    assert f"expected {py_type.__name__}" in message
    assert repr(value) in message


def test_datetime_and_date_are_not_interchangeable():
    with pytest.raises(LiteralMismatch, match="expected datetime, got date"):
        to_literal(datetime.date(2020, 1, 1), datetime.datetime)
    with pytest.raises(LiteralMismatch, match="expected date, got datetime"):
        to_literal(datetime.datetime(2020, 1, 1), datetime.date)


# --- decode_map / encode_map -------------------------------------------------------------------


def test_string_literal_for_int_input_names_input_type_and_value():
    with pytest.raises(TypeError) as info:
        decode_map(_map(n=_prim(string_value="abc")), {"n": int})
    message = str(info.value)
    assert message.startswith("input 'n': ")
    assert "expected int" in message
    assert "string_value" in message and "'abc'" in message


def test_missing_input_without_default():
    with pytest.raises(TypeError, match=r"input 'n' is missing and has no default \(expected int\)"):
        decode_map(_map(m=_prim(integer=1)), {"n": int, "m": int})


def test_default_used_when_missing():
    values = decode_map(_map(m=_prim(integer=1)), {"n": int, "m": int, "o": Optional[str]}, {"n": 7, "o": None})
    assert values == {"n": 7, "m": 1, "o": None}


def test_literal_present_wins_over_default():
    assert decode_map(_map(n=_prim(integer=0)), {"n": int}, {"n": 7}) == {"n": 0}


def test_encode_map_missing_output():
    with pytest.raises(TypeError, match=r"output 'o1' is missing \(expected str\)"):
        encode_map({"o0": 1}, {"o0": int, "o1": str})


def test_encode_map_keeps_declared_names():
    m = encode_map({"a": 1, "b": "x"}, {"a": int, "b": str})
    assert set(m.literals) == {"a", "b"}
    assert m.literals["a"].scalar.primitive.integer == 1
    assert m.literals["b"].scalar.primitive.string_value == "x"


# --- enums, unions -----------------------------------------------------------------------------


def test_enum_value_not_in_enum():
    with pytest.raises(TypeError) as info:
        decode_map(_map(c=_prim(string_value="blue")), {"c": Color})
    message = str(info.value)
    assert "input 'c'" in message and "expected Color" in message
    assert "'blue'" in message and "'red'" in message and "'green'" in message


def test_enum_needs_member_not_its_value():
    with pytest.raises(LiteralMismatch, match="expected Color, got str 'red'"):
        to_literal("red", Color)


def test_enum_with_int_values_unsupported():
    class Numbers(enum.Enum):
        ONE = 1

    with pytest.raises(UnsupportedType, match="string values"):
        literal_type(Numbers)


def test_union_value_with_no_matching_variant():
    with pytest.raises(TypeError) as info:
        encode_map({"o0": 1.5}, {"o0": Union[int, str]})
    assert "output 'o0'" in str(info.value) and "Union[int, str]" in str(info.value) and "1.5" in str(info.value)


def test_union_literal_with_no_matching_variant():
    with pytest.raises(TypeError, match=r"input 'u': expected Union\[int, bool\], got a string_value literal 'zz'"):
        decode_map(_map(u=_prim(string_value="zz")), {"u": Union[int, bool]})


def test_union_literal_carries_tag_and_decodes_by_it():
    lit = to_literal("x", Optional[str])
    assert lit.scalar.union.type.structure.tag == "str"
    assert lit.scalar.union.value.scalar.primitive.string_value == "x"
    none = to_literal(None, Optional[str])
    assert none.scalar.union.type.structure.tag == "none"
    assert to_python(none, Optional[str]) is None


def test_union_reads_untagged_literal():
    assert to_python(_prim(integer=5), Optional[int]) == 5


def test_optional_dataclass_round_trip():
    assert _round_trip(Inner(1, 2.5), Optional[Inner]) == Inner(1, 2.5)
    assert _round_trip(None, Optional[Inner]) is None


# --- lists and dicts ---------------------------------------------------------------------------


def test_list_with_one_bad_element_deep_inside():
    value = {"a": [1, 2], "b": [3, "four", 5]}
    with pytest.raises(TypeError) as info:
        encode_map({"o0": value}, {"o0": dict[str, list[int]]})
    message = str(info.value)
    assert "output 'o0'" in message and "key 'b'" in message and "element" in message
    assert "expected int, got str 'four'" in message


def test_list_literal_with_one_bad_element_deep_inside():
    inner = _collection([_prim(integer=1), _prim(integer=2), _prim(string_value="x")])
    outer = _collection([_collection([_prim(integer=0)]), inner])
    with pytest.raises(TypeError) as info:
        decode_map(_map(xs=outer), {"xs": list[list[int]]})
    message = str(info.value)
    assert "input 'xs'" in message and "element" in message and "string_value literal 'x'" in message


def test_dict_with_non_str_key():
    with pytest.raises(TypeError, match=r"output 'o0': expected dict\[str, int\], got a key 1 that is not a string"):
        encode_map({"o0": {"a": 1, 1: 2}}, {"o0": dict[str, int]})


def test_list_value_that_is_not_a_list():
    with pytest.raises(LiteralMismatch, match=r"expected list\[int\], got tuple \(1, 2\)"):
        to_literal((1, 2), list[int])


def test_map_literal_for_list_rejected():
    lit = to_literal({"a": 1}, dict[str, int])
    with pytest.raises(LiteralMismatch, match=r"expected list\[int\], got a map literal"):
        to_python(lit, list[int])


def test_nested_generics_round_trip():
    value = {"a": [1, None, -3], "empty": []}
    lit = to_literal(value, dict[str, list[Optional[int]]])
    assert lit.map.literals["a"].collection.literals[1].scalar.union.type.structure.tag == "none"
    assert _round_trip(value, dict[str, list[Optional[int]]]) == value
    deep = [[{"x": 1.0, "y": -0.0}], [], [{"z": 1e-300}]]
    assert _round_trip(deep, list[list[dict[str, float]]]) == deep


def test_large_int_list_exact():
    values = [(i * 2654435761) % (2**63) - 2**62 for i in range(200_000)]
    values[5] = 0
    values[-1] = 2**63 - 1
    values[-2] = -(2**63)
    decoded = _round_trip(values, list[int])
    assert decoded == values
    assert all(type(v) is int for v in decoded)


def test_list_int_with_zero_elements():
    values = [0, 1, 0, -1, 0]
    assert _round_trip(values, list[int]) == values
    assert _round_trip([0] * 1000, list[int]) == [0] * 1000


def test_list_int_rejects_zero_valued_literal_of_other_kind():
    # ``integer`` of a string literal reads as 0: the fast path must still see it is not an int.
    for wrong in (_prim(string_value=""), _prim(boolean=False), _prim(float_value=0.0), Literal()):
        lit = _collection([_prim(integer=5), wrong, _prim(integer=0)])
        with pytest.raises(LiteralMismatch, match=r"in list\[int\] element: expected int"):
            to_python(lit, list[int])


def test_list_int_rejects_nonzero_literal_of_other_kind():
    lit = _collection([_prim(integer=5), _prim(string_value="7")])
    with pytest.raises(LiteralMismatch, match="string_value literal '7'"):
        to_python(lit, list[int])


def test_list_float_with_int_literals():
    lit = _collection([_prim(float_value=1.5), _prim(integer=2), _prim(integer=0), _prim(float_value=0.0)])
    decoded = to_python(lit, list[float])
    assert decoded == [1.5, 2.0, 0.0, 0.0]
    assert all(type(v) is float for v in decoded)
    assert _round_trip([1, 2.5, 0], list[float]) == [1.0, 2.5, 0.0]


def test_list_float_rejects_string_literal():
    lit = _collection([_prim(float_value=1.5), _prim(string_value="")])
    with pytest.raises(LiteralMismatch, match=r"in list\[float\] element: expected float"):
        to_python(lit, list[float])


def test_list_bool_with_false_values():
    values = [False, True, False, False]
    assert _round_trip(values, list[bool]) == values
    lit = _collection([_prim(boolean=True), _prim(integer=0)])
    with pytest.raises(LiteralMismatch, match="expected bool, got a integer literal 0"):
        to_python(lit, list[bool])
    with pytest.raises(LiteralMismatch, match="expected bool, got int 0"):
        to_literal([True, 0], list[bool])


def test_list_str_with_empty_strings():
    values = ["", "a", "", ""]
    assert _round_trip(values, list[str]) == values
    lit = _collection([_prim(string_value="a"), _prim(integer=0)])
    with pytest.raises(LiteralMismatch, match="expected str, got a integer literal 0"):
        to_python(lit, list[str])


def test_list_of_bools_rejected_for_int_list():
    with pytest.raises(LiteralMismatch, match="expected int, got bool False"):
        to_literal([1, False], list[int])


# --- dataclasses, untyped dicts, pydantic ------------------------------------------------------


def test_dataclass_containing_dataclass_round_trip():
    value = Outer("o", Inner(1, 2.5), [Inner(2), Inner(3, 0.0)], {"k": 4}, Inner(5))
    assert _round_trip(value, Outer) == value
    lit = to_literal(value, Outer)
    assert lit.scalar.binary.tag == "msgpack"
    assert msgpack.unpackb(lit.scalar.binary.value)["inner"] == {"x": 1, "y": 2.5}


def test_dataclass_optional_fields():
    assert _round_trip(Inner(1), Inner) == Inner(1, None)
    decoded = _round_trip(Outer("o", Inner(1), [], {}, None), Outer)
    assert decoded.maybe is None and decoded.items == [] and decoded.tags == {}


def test_list_of_dataclasses():
    values = [Inner(i, i / 2) for i in range(50)]
    assert _round_trip(values, list[Inner]) == values


def test_dataclass_with_time_and_enum_fields():
    value = Times(
        when=datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc),
        day=datetime.date(2024, 2, 29),
        span=datetime.timedelta(hours=1, microseconds=500),
        color=Color.RED,
    )
    decoded = _round_trip(value, Times)
    assert decoded == value
    assert isinstance(decoded.color, Color) and type(decoded.day) is datetime.date
    data = msgpack.unpackb(to_literal(value, Times).scalar.binary.value)
    assert data["when"] == "2024-01-02T03:04:05.000006+00:00"
    assert data["day"] == "2024-02-29" and data["color"] == "red"


def test_dataclass_field_missing_in_data():
    lit = Literal()
    lit.scalar.binary.value = msgpack.packb({"b": 1})
    lit.scalar.binary.tag = "msgpack"
    with pytest.raises(TypeError) as info:
        decode_map(_map(c=lit), {"c": Counts})
    message = str(info.value)
    assert "input 'c'" in message and "Counts needs field 'a' (int)" in message and "['b']" in message


def test_dataclass_field_default_used_when_missing():
    lit = Literal()
    lit.scalar.binary.value = msgpack.packb({"a": 1, "b": 2})
    lit.scalar.binary.tag = "msgpack"
    assert to_python(lit, Counts) == Counts(1, 2, "none")


def test_dataclass_field_of_wrong_type_in_data():
    lit = Literal()
    lit.scalar.binary.value = msgpack.packb({"a": 1, "b": "two"})
    lit.scalar.binary.tag = "msgpack"
    with pytest.raises(LiteralMismatch, match=r"field 'Counts.b': expected int, got str 'two'"):
        to_python(lit, Counts)


def test_dataclass_value_of_other_class_rejected():
    with pytest.raises(TypeError, match=r"output 'o0': expected Counts, got Inner"):
        encode_map({"o0": Inner(1)}, {"o0": Counts})


def test_dataclass_field_of_wrong_type_rejected_when_encoding():
    # Caught here, not by whoever reads the output; the message names the output and the field.
    with pytest.raises(TypeError) as info:
        encode_map({"o0": Counts(1, "two")}, {"o0": Counts})
    message = str(info.value)
    assert "output 'o0'" in message and "Counts.b" in message and "expected int" in message


def test_dataclass_datetime_field_of_wrong_type_rejected_when_encoding():
    value = Times(when="2024-01-01", day=datetime.date(2024, 1, 1), span=datetime.timedelta(0), color=Color.RED)
    with pytest.raises(TypeError) as info:
        encode_map({"o0": value}, {"o0": Times})
    assert "output 'o0'" in str(info.value) and "Times.when" in str(info.value)


def test_dataclass_nested_field_of_wrong_type_rejected_when_encoding():
    with pytest.raises(TypeError) as info:
        encode_map({"o0": Outer("o", Inner(1), [3], {}, None)}, {"o0": Outer})
    assert "output 'o0'" in str(info.value) and "Outer.items" in str(info.value)


def test_old_generic_struct_ints_arrive_as_floats():
    lit = Literal()
    lit.scalar.generic.update({"a": 1.0, "b": 2, "label": "x"})
    assert to_python(lit, Counts) == Counts(1, 2, "x")
    decoded = to_python(lit, Counts)
    assert type(decoded.a) is int and type(decoded.b) is int


def test_old_generic_struct_nested_and_list():
    lit = Literal()
    lit.scalar.generic.update(
        {"name": "o", "inner": {"x": 3.0}, "items": [{"x": 4.0, "y": 0.5}], "tags": {"k": 9.0}, "maybe": None}
    )
    assert to_python(lit, Outer) == Outer("o", Inner(3), [Inner(4, 0.5)], {"k": 9}, None)


def test_old_generic_struct_fractional_float_for_int_rejected():
    lit = Literal()
    lit.scalar.generic.update({"a": 1.5, "b": 2})
    with pytest.raises(LiteralMismatch, match=r"field 'Counts.a': expected int, got float 1\.5"):
        to_python(lit, Counts)


def test_msgpack_is_strict_about_ints():
    # Only the old JSON shape is lenient: a msgpack float for an int field is an error.
    lit = Literal()
    lit.scalar.binary.value = msgpack.packb({"a": 1.0, "b": 2})
    lit.scalar.binary.tag = "msgpack"
    with pytest.raises(LiteralMismatch, match=r"Counts.a': expected int, got float 1\.0"):
        to_python(lit, Counts)


def test_binary_with_other_tag_rejected():
    lit = Literal()
    lit.scalar.binary.value = b"{}"
    lit.scalar.binary.tag = "json"
    with pytest.raises(LiteralMismatch, match="binary literal tagged 'json'"):
        to_python(lit, Counts)


def test_untyped_dict_round_trip():
    value = {"a": 1, "b": [1.5, "x", None, True], "c": {"nested": {"deep": []}}, "": 0}
    assert _round_trip(value, dict) == value
    lit = to_literal(value, dict)
    assert lit.scalar.binary.tag == "msgpack"
    assert literal_type(dict).annotation.annotations["cache-key-metadata"]["serialization-format"] == "msgpack"


def test_untyped_dict_old_generic_struct():
    lit = Literal()
    lit.scalar.generic.update({"a": 1, "b": "x"})
    assert to_python(lit, dict) == {"a": 1.0, "b": "x"}


def test_untyped_dict_with_unserializable_value_names_output():
    with pytest.raises(TypeError, match="output 'o0'"):
        encode_map({"o0": {"a": {1, 2}}}, {"o0": dict})


def test_pydantic_model_round_trip():
    value = Model(name="m", count=3, when=datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc), tags=["a"])
    decoded = _round_trip(value, Model)
    assert decoded == value and type(decoded) is Model


def test_pydantic_model_invalid_data_rejected():
    lit = Literal()
    lit.scalar.binary.value = msgpack.packb({"name": "m", "count": "many", "when": "2024-01-01T00:00:00Z"})
    lit.scalar.binary.tag = "msgpack"
    with pytest.raises(LiteralMismatch, match="fails validation"):
        to_python(lit, Model)


# --- files and folders -------------------------------------------------------------------------


def test_local_file_is_copied_under_raw_prefix(tmp_path, local_context):
    source = tmp_path / "report.csv"
    source.write_bytes(b"a,b\n1,2\n")
    lit = to_literal(File(str(source)), File)
    uri = lit.scalar.blob.uri
    raw = local_context.raw_output_prefix
    assert re.fullmatch(re.escape(raw) + r"/[0-9a-f]{32}/report\.csv", uri), uri
    assert lit.scalar.blob.metadata.type.dimensionality == 0 and lit.scalar.blob.metadata.type.format == ""
    with open(uri, "rb") as f:
        assert f.read() == b"a,b\n1,2\n"
    decoded = to_python(lit, File)
    assert isinstance(decoded, File) and decoded.path == uri
    assert open(decoded, "rb").read() == b"a,b\n1,2\n"


def test_two_uploads_get_different_prefixes(tmp_path):
    source = tmp_path / "x.bin"
    source.write_bytes(b"x")
    first, second = (to_literal(File(str(source)), File).scalar.blob.uri for _ in range(2))
    assert first != second and os.path.basename(first) == os.path.basename(second) == "x.bin"


def test_str_path_accepted_as_file(tmp_path):
    source = tmp_path / "x.txt"
    source.write_text("hi")
    assert to_literal(str(source), File).scalar.blob.uri.endswith("/x.txt")


def test_remote_file_passes_through():
    lit = to_literal(File("s3://bucket/some/key.parquet"), File)
    assert lit.scalar.blob.uri == "s3://bucket/some/key.parquet"


def test_local_directory_is_copied_under_raw_prefix(tmp_path, local_context):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("A")
    (folder / "sub" / "b.txt").write_text("B")
    lit = to_literal(Directory(str(folder)), Directory)
    uri = lit.scalar.blob.uri
    assert re.fullmatch(re.escape(local_context.raw_output_prefix) + r"/[0-9a-f]{32}", uri), uri
    assert lit.scalar.blob.metadata.type.dimensionality == 1
    assert open(os.path.join(uri, "sub", "b.txt")).read() == "B"
    assert to_python(lit, Directory) == Directory(uri)


def test_file_literal_for_directory_rejected():
    lit = to_literal(File("s3://b/k"), File)
    with pytest.raises(LiteralMismatch, match="expected Directory, got a blob literal"):
        to_python(lit, Directory)


def test_remote_file_downloads_lazily_from_s3(s3_bucket):
    uri = f"s3://{s3_bucket}/in/data.txt"
    fio.write_bytes(uri, b"from s3")
    decoded = to_python(to_literal(File(uri), File), File)
    assert decoded.remote and decoded._local is None  # decoding does not download
    with open(decoded) as f:
        assert f.read() == "from s3"
    local = os.fspath(decoded)
    assert os.path.basename(local) == "data.txt"
    fio.write_bytes(uri, b"changed later")
    assert os.fspath(decoded) == local and open(local).read() == "from s3"  # downloaded once


# --- pickle fallback ---------------------------------------------------------------------------


def test_pickle_round_trip(local_context):
    lit = to_literal(Opaque({"k": [1, 2]}), Opaque)
    assert lit.scalar.blob.metadata.type.format == "PythonPickle"
    assert lit.scalar.blob.uri.startswith(local_context.raw_output_prefix + "/")
    assert literal_type(Opaque).metadata["python_class_name"] == str(Opaque)
    assert _round_trip(Opaque({"k": [1, 2]}), Opaque) == Opaque({"k": [1, 2]})


def test_pickle_of_wrong_class_rejected():
    lit = to_literal(OtherOpaque(), OtherOpaque)
    with pytest.raises(LiteralMismatch, match="expected Opaque, got a pickle of OtherOpaque"):
        to_python(lit, Opaque)


def test_pickle_value_of_wrong_class_rejected():
    with pytest.raises(TypeError, match="output 'o0': expected Opaque, got OtherOpaque"):
        encode_map({"o0": OtherOpaque()}, {"o0": Opaque})


# --- unsupported types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "py_type, words",
    [
        (tuple, "tuple is not a Flyte type"),
        (set, "set is not a Flyte type"),
        (list, "list is not a Flyte type"),
        (set[int], r"set\[int\] cannot be expressed"),
        (tuple[int, str], r"tuple\[int, str\] cannot be expressed"),
        (dict[tuple[int, int], str], "keys must be int, float, bool, str or an Enum"),
        (list[set[int]], r"set\[int\] cannot be expressed"),
    ],
)
def test_unsupported_types(py_type, words):
    with pytest.raises(UnsupportedType, match=words):
        literal_type(py_type)


def test_codecs_are_cached():
    assert codec_for(list[int]) is codec_for(list[int])
    assert codec_for(Optional[Inner]) is codec_for(Optional[Inner])


def test_int_out_of_range_names_output():
    with pytest.raises(TypeError, match="output 'o0'"):
        encode_map({"o0": 2**64}, {"o0": int})
    with pytest.raises(TypeError, match="output 'o0'"):
        encode_map({"o0": [1, 2**64]}, {"o0": list[int]})


def test_str_protobuf_cannot_hold_names_output():
    with pytest.raises(TypeError, match="output 'o0': expected str"):
        encode_map({"o0": "bad \ud800"}, {"o0": str})


def test_empty_list_and_dict_are_collection_and_map_literals():
    # flytekit writes Literal(collection=LiteralCollection(literals=[])): the oneof is set, with no items.
    assert to_literal([], list[int]).SerializeToString() == b"\x12\x00"
    assert to_literal({}, dict[str, int]).SerializeToString() == b"\x1a\x00"
    assert to_literal([], list[int]).WhichOneof("value") == "collection"
    assert to_literal({}, dict[str, int]).WhichOneof("value") == "map"
    assert _round_trip([], list[int]) == [] and _round_trip({}, dict[str, str]) == {}
    assert _round_trip([[], [1]], list[list[int]]) == [[], [1]]
    assert to_python(to_literal([], Optional[list[int]]), Optional[list[int]]) == []


def test_dataclass_union_field_with_no_matching_variant_rejected_when_encoding():
    with pytest.raises(TypeError) as info:
        encode_map({"o0": Inner(1, "2.5")}, {"o0": Inner})
    assert "Inner.y" in str(info.value) and "Optional[float]" in str(info.value)


@dataclasses.dataclass
class Node:
    value: int
    children: list["Node"] = dataclasses.field(default_factory=list)
    parent: Optional["Node"] = None


def test_a_self_referential_dataclass_is_a_clear_unsupported_type():
    with pytest.raises(UnsupportedType, match="Node refers to itself: recursive types cannot be expressed"):
        literal_type(Node)
    with pytest.raises(UnsupportedType, match="Node refers to itself"):
        encode_map({"o0": Node(1)}, {"o0": Node})
