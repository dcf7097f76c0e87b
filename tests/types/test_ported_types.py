"""Types that flytekit code uses and flytelite once refused: non-string dict keys, iterators, unions of lists."""

from __future__ import annotations

import dataclasses
import enum
from typing import Iterator, List, Union

import msgpack
import pydantic
import pytest
from flyteidl.core import literals_pb2

from flytelite.types import decode_map, encode_map, literal_type, to_literal, to_python


class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


@dataclasses.dataclass
class Histogram:
    counts: dict[int, str]
    weights: dict[float, list[int]]


class Ranking(pydantic.BaseModel):
    by_rank: dict[int, str]


@pytest.mark.parametrize(
    "py_type, value",
    [
        (dict[int, str], {1: "a", -2: "b"}),
        (dict[int, list[float]], {3: [1.5, 2.0]}),
        (dict[bool, int], {True: 1, False: 0}),
        (dict[Level, int], {Level.LOW: 1}),
        (Histogram, Histogram({1: "x"}, {0.5: [1, 2]})),
        (Ranking, Ranking(by_rank={1: "gold", 2: "silver"})),
    ],
)
def test_non_string_keys_round_trip_as_msgpack(py_type, value):
    lit = to_literal(value, py_type)
    assert lit.scalar.binary.tag == "msgpack"
    assert to_python(lit, py_type) == value


def test_int_keys_stay_ints_inside_the_msgpack_document():
    lit = to_literal({1: "a"}, dict[int, str])
    assert msgpack.unpackb(lit.scalar.binary.value, strict_map_key=False) == {1: "a"}
    assert literal_type(dict[int, str]).simple == 9  # STRUCT
    assert literal_type(dict[int, str]).annotation.annotations["cache-key-metadata"]["serialization-format"] == "msgpack"


def test_wrong_key_type_names_the_input_and_the_key():
    with pytest.raises(TypeError, match=r"input 'm'.*dict\[int, str\].*'one'"):
        encode_map({"m": {"one": "a"}}, {"m": dict[int, str]}, what="input")


def test_a_map_literal_for_int_keys_is_a_clear_mismatch():
    lit = to_literal({"a": "b"}, dict[str, str])
    with pytest.raises(TypeError, match=r"input 'm'.*expected dict\[int, str\], got a map literal"):
        decode_map(_literal_map({"m": lit}), {"m": dict[int, str]}, what="input")


def test_iterator_output_is_collected_into_a_list_and_read_back_as_an_iterator():
    def numbers() -> Iterator[int]:
        yield from (1, 2, 3)

    lit = to_literal(numbers(), Iterator[int])
    assert [item.scalar.primitive.integer for item in lit.collection.literals] == [1, 2, 3]
    assert literal_type(Iterator[int]) == literal_type(list[int])
    back = to_python(lit, Iterator[int])
    assert iter(back) is back and list(back) == [1, 2, 3]


def test_iterator_of_wrong_elements_names_the_element():
    with pytest.raises(TypeError, match=r"output 'o0'.*Iterator\[int\] element.*str 'x'"):
        encode_map({"o0": iter([1, "x"])}, {"o0": Iterator[int]}, what="output")


@pytest.mark.parametrize("value", [["a", "b"], [1, 2]])
def test_union_of_lists_tries_each_variant(value):
    py_type = Union[List[int], List[str]]
    lit = to_literal(value, py_type)
    assert lit.scalar.union.type.structure.tag == "Typed List"
    assert to_python(lit, py_type) == value


def test_union_of_lists_decodes_by_the_stored_type_not_just_the_tag():
    lit = to_literal([], List[str])
    union_lit = to_literal(["x"], Union[List[int], List[str]])
    union_lit.scalar.union.value.CopyFrom(lit)  # an empty list, stored as List[str]
    assert to_python(union_lit, Union[List[int], List[str]]) == []
    assert to_python(union_lit, Union[List[str], List[int]]) == []


def test_union_value_no_variant_takes_says_what_arrived():
    with pytest.raises(TypeError, match=r"input 'u'.*got list \[1.5\]"):
        encode_map({"u": [1.5]}, {"u": Union[List[int], List[str]]}, what="input")


def _literal_map(literals: dict[str, literals_pb2.Literal]) -> literals_pb2.LiteralMap:
    out = literals_pb2.LiteralMap()
    for name, lit in literals.items():
        out.literals[name].CopyFrom(lit)
    return out


def test_flytekit_file_names_are_the_same_classes():
    import flytelite

    assert flytelite.FlyteFile is flytelite.File and flytelite.FlyteDirectory is flytelite.Directory
    lit = to_literal(flytelite.FlyteFile("s3://bucket/key.csv"), flytelite.FlyteFile)
    assert lit.scalar.blob.uri == "s3://bucket/key.csv"


def test_typed_files_carry_their_format_like_flytekit(tmp_path):
    from flytelite.types import BlobPaths
    from flytelite.types.files import CSVFile, Directory, File, PNGImageFile

    assert File["csv"] is CSVFile and File[".csv"] is CSVFile and PNGImageFile.file_format == "png"
    assert literal_type(CSVFile).blob.format == "csv" and literal_type(File).blob.format == ""
    local = tmp_path / "report.csv"
    local.write_text("a,b\n")
    lit = to_literal(File(str(local)), CSVFile, BlobPaths(str(tmp_path / "raw"), str(tmp_path)))
    assert lit.scalar.blob.metadata.type.format == "csv"
    back = to_python(lit, CSVFile)
    assert type(back) is CSVFile and open(back).read() == "a,b\n"
    with pytest.raises(TypeError, match=r"output 'o0'.*expected File\[csv\], got Directory"):
        encode_map({"o0": Directory("s3://bucket/folder")}, {"o0": CSVFile})
