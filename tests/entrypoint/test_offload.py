"""Black-box: offloading of large outputs (_F_L_MIN_SIZE_MB / _F_L_MAX_SIZE_MB)."""

from __future__ import annotations

import base64
import hashlib
import json

from flyteidl.core import literals_pb2, types_pb2
from google.protobuf import json_format


def _flytekit_hash(lit: literals_pb2.Literal) -> str:
    document = json.dumps(json_format.MessageToDict(lit), sort_keys=True, separators=(",", ":"))
    return base64.b64encode(hashlib.sha256(document.encode()).digest()).decode()


def test_every_output_offloaded_with_min_0(ep):
    ep.write_inputs(a=20, b=22)
    result = ep.execute("ok_tasks", "add", env={"_F_L_MIN_SIZE_MB": "0"})
    assert result.returncode == 0, result.describe()
    assert result.files() == ["o0_offloaded_metadata.pb", "outputs.pb"]
    stored = literals_pb2.Literal()
    stored.ParseFromString((ep.out / "o0_offloaded_metadata.pb").read_bytes())
    assert stored.scalar.primitive.integer == 42
    pointer = result.outputs().literals["o0"]
    assert pointer.WhichOneof("value") == "offloaded_metadata"
    meta = pointer.offloaded_metadata
    assert meta.uri == str(ep.out / "o0_offloaded_metadata.pb")
    assert meta.size_bytes == stored.ByteSize() > 0
    assert meta.inferred_type.simple == types_pb2.SimpleType.INTEGER
    assert pointer.hash and pointer.hash == _flytekit_hash(stored)


def test_only_outputs_over_the_minimum_are_offloaded(ep):
    ep.write_inputs(n=1024 * 1024 + 10)
    result = ep.execute("ok_tasks", "big_string", env={"_F_L_MIN_SIZE_MB": "1", "_F_L_MAX_SIZE_MB": "2"})
    pointer = result.outputs().literals["o0"]
    assert pointer.offloaded_metadata.size_bytes > 1024 * 1024
    stored = literals_pb2.Literal.FromString((ep.out / "o0_offloaded_metadata.pb").read_bytes())
    assert stored.scalar.primitive.string_value == "x" * (1024 * 1024 + 10)
    assert pointer.offloaded_metadata.inferred_type.simple == types_pb2.SimpleType.STRING


def test_small_output_stays_inline(ep):
    ep.write_inputs(n=10)
    result = ep.execute("ok_tasks", "big_string", env={"_F_L_MIN_SIZE_MB": "1"})
    assert result.files() == ["outputs.pb"]
    assert result.outputs().literals["o0"].scalar.primitive.string_value == "x" * 10


def test_offloaded_output_feeds_the_next_task(ep, tmp_path):
    # what an upstream task offloads is what a downstream task reads
    ep.write_inputs(n=5)
    first = ep.execute("ok_tasks", "big_string", env={"_F_L_MIN_SIZE_MB": "0"})
    upstream = first.outputs()
    assert upstream.literals["o0"].WhichOneof("value") == "offloaded_metadata"
    ep.out = tmp_path / "second"
    ep.write_inputs(ep.literal_map(s=upstream.literals["o0"]))
    second = ep.execute("ok_tasks", "upper")
    assert second.outputs().literals["o0"].scalar.primitive.string_value == "XXXXX"
