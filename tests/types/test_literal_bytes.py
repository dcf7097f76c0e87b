"""LiteralMaps at the byte level: the same bytes as protobuf, large lists converted in chunks."""

from __future__ import annotations

import pytest
from flyteidl.core import literals_pb2

from flytelite.types import _literal_bytes
from flytelite.types._literal_bytes import MalformedLiteral, literal_map_bytes, map_entries
from flytelite.types import decode_map_bytes, encode_literals, to_literal


def _protobuf_bytes(values: dict, types: dict) -> bytes:
    literal_map = literals_pb2.LiteralMap()
    for name, py_type in types.items():
        literal_map.literals[name].CopyFrom(to_literal(values[name], py_type))
    return literal_map.SerializeToString()


@pytest.mark.parametrize(
    "values,types",
    [
        ({"xs": list(range(-5, 20_000))}, {"xs": list[int]}),
        ({"xs": [], "n": 3}, {"xs": list[int], "n": int}),
        ({"xs": [[1, 2], [], [3]] * 5000}, {"xs": list[list[int]]}),
        ({"xs": ["a", "", "é" * 300] * 4000, "d": {"k": [1.5]}}, {"xs": list[str], "d": dict[str, list[float]]}),
    ],
    ids=["ints-over-chunks", "empty-list", "nested", "strings-and-a-map"],
)
def test_bytes_equal_protobuf_and_read_back(values, types):
    data = literal_map_bytes(encode_literals(values, types))
    assert literals_pb2.LiteralMap.FromString(data) == literals_pb2.LiteralMap.FromString(_protobuf_bytes(values, types))
    assert decode_map_bytes(data, types) == values
    assert decode_map_bytes(_protobuf_bytes(values, types), types) == values


def test_a_bad_element_in_a_later_chunk_names_where_it_is(monkeypatch):
    monkeypatch.setattr(_literal_bytes, "_CHUNK", 100)
    values = list(range(1000))
    values[550] = "x"
    with pytest.raises(TypeError, match=r"output 'xs': in list\[int\] element \(from index 500\): expected int, got str 'x'"):
        encode_literals({"xs": values}, {"xs": list[int]})
    good = literal_map_bytes(encode_literals({"xs": list(range(1000))}, {"xs": list[int]}))
    as_map = literals_pb2.LiteralMap.FromString(good)
    as_map.literals["xs"].collection.literals[750].scalar.primitive.string_value = "y"
    with pytest.raises(TypeError, match=r"input 'xs': in list\[int\] element \(from index 700\): expected int, got a string_value"):
        decode_map_bytes(as_map.SerializeToString(), {"xs": list[int]})


def test_a_list_literal_with_a_hash_takes_the_ordinary_path():
    lit = to_literal([1, 2, 3], list[int])
    lit.hash = "abc"
    data = literals_pb2.LiteralMap(literals={"xs": lit}).SerializeToString()
    assert decode_map_bytes(data, {"xs": list[int]}) == {"xs": [1, 2, 3]}


@pytest.mark.parametrize("garbage", [b"\xff\xff garbage", b"\x0a\x05\x0a\x01", b"\x0a\x10\x0a\x01x\x12\x0b\x12\x09\x0a\x07\x0a\x05\x0a\x03\x08"])
def test_malformed_bytes_raise_malformed_literal(garbage):
    with pytest.raises(MalformedLiteral):
        decode_map_bytes(garbage, {"x": list[int]})


def test_map_entries_locates_each_literal():
    literals = {"a": b"\x0a\x00", "b": b"", "long name": to_literal(list(range(100)), list[int]).SerializeToString()}
    data = literal_map_bytes(literals)
    spans = map_entries(data)
    assert list(spans) == list(literals)
    assert {name: data[start:end] for name, (start, end) in spans.items()} == literals


@pytest.mark.parametrize("text", ["", "plain", "é€😀" * 1000, "x" * 200_000])
def test_a_string_input_is_read_straight_from_the_bytes_as_protobuf_would(text, monkeypatch):
    data = _protobuf_bytes({"s": text}, {"s": str})
    monkeypatch.setattr(literals_pb2.Literal, "FromString", None)  # the protobuf path is not taken
    assert decode_map_bytes(data, {"s": str}) == {"s": text}


def test_a_string_literal_with_a_hash_or_of_another_primitive_takes_the_ordinary_path():
    lit = to_literal("text", str)
    lit.hash = "abc"
    data = literals_pb2.LiteralMap(literals={"s": lit}).SerializeToString()
    assert decode_map_bytes(data, {"s": str}) == {"s": "text"}
    data = _protobuf_bytes({"s": 5}, {"s": int})
    with pytest.raises(TypeError, match="input 's': expected str"):
        decode_map_bytes(data, {"s": str})


def test_a_string_that_is_not_utf8_is_a_malformed_literal():
    data = _protobuf_bytes({"s": "abc"}, {"s": str}).replace(b"abc", b"a\xffc")
    with pytest.raises(MalformedLiteral, match="not UTF-8"):
        decode_map_bytes(data, {"s": str})
