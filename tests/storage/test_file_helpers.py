"""flytekit's file and folder helpers end to end, on disk and on the real servers (SeaweedFS, Azurite)."""

from __future__ import annotations

import re

from flyteidl.core import literals_pb2, types_pb2

import flytelite.io as fio

from .storage_helpers import HEX32


def _blob_uri(result) -> str:
    return result.outputs().literals["o0"].scalar.blob.uri


def test_new_remote_file_is_written_where_the_raw_prefix_is(storage):
    result = storage.execute("file_api_tasks", "remote_note", inputs=storage.inputs(text="hello"))
    uri = _blob_uri(result)
    assert re.fullmatch(re.escape(str(storage.raw)) + "/" + HEX32 + "/note.txt", uri), uri
    assert storage.read(uri) == b"hello"


def test_remote_path_puts_an_output_where_the_task_says(storage):
    where = fio.join(str(storage.data), "chosen", "out.txt")
    result = storage.execute("file_api_tasks", "placed", inputs=storage.inputs(text="there", where=where))
    assert _blob_uri(result) == where
    assert storage.read(where) == b"there"


def test_crawl_lists_every_file_of_an_input_folder(storage):
    for name in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
        storage.put(f"folder/{name}", name.encode())
    lit = literals_pb2.Literal()
    lit.scalar.blob.uri = fio.join(str(storage.data), "folder")
    lit.scalar.blob.metadata.type.dimensionality = types_pb2.BlobType.BlobDimensionality.MULTIPART
    result = storage.execute("file_api_tasks", "listing", inputs=storage.put("inputs.pb", storage.literal_map(folder=lit).SerializeToString()))
    listed = [item.scalar.primitive.string_value for item in result.outputs().literals["o0"].collection.literals]
    assert sorted(listed) == ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]
