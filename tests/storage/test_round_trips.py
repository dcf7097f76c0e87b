"""Files, folders, pickles, data frames, checkpoints and decks through the real ``flytelite execute``,
with inputs, output prefix and raw prefix on disk (``local``) or all on a server: SeaweedFS (``s3``) or
Azurite (``azure``)."""

from __future__ import annotations

import hashlib
import io

import pytest
from .storage_helpers import (
    MULTIPART,
    SINGLE,
    Storage,
    assert_under_raw,
    blob,
    dataset,
    get_object,
    string_output,
)

import flytelite.io as fio

TREE = {"top.txt": "top", "a/one.txt": "one", "a/b/two.txt": "two", "c/d/e/three.txt": "three"}


def test_file_input_is_read_by_the_task(storage: Storage, where: str) -> None:
    uri = storage.put("in/hello.txt", b"hello from storage")
    result = storage.execute("storage_tasks", "read_file", inputs=storage.inputs(f=blob(uri)))
    before, after, content = string_output(result).split("|")
    assert content == "hello from storage"
    assert before == "False"  # nothing fetched before the task touched the file
    assert after == ("False" if where == "local" else "True")  # a local file is used where it is


def test_remote_file_input_streams_without_a_download(remote: Storage) -> None:
    uri = remote.put("in/stream.txt", b"streamed")
    result = remote.execute("storage_tasks", "stream_file", inputs=remote.inputs(f=blob(uri)))
    assert string_output(result) == "False|streamed"


def test_file_output_is_uploaded_under_the_raw_prefix(storage: Storage) -> None:
    result = storage.execute("storage_tasks", "write_file", inputs=storage.inputs(name="report.txt", text="the report"))
    out = result.outputs().literals["o0"].scalar.blob
    assert out.metadata.type.dimensionality == SINGLE and out.metadata.type.format == ""
    assert_under_raw(out.uri, storage.raw, "/report.txt")
    assert storage.read(out.uri) == b"the report"
    assert len(storage.raw_keys()) == 1


def test_directory_output_then_input(storage: Storage, where: str) -> None:
    made = storage.execute("storage_tasks", "write_dir")
    out = made.outputs().literals["o0"].scalar.blob
    assert out.metadata.type.dimensionality == MULTIPART
    assert_under_raw(out.uri, storage.raw)
    for relative, text in TREE.items():
        assert storage.read(f"{out.uri}/{relative}") == text.encode()
    assert len(storage.raw_keys()) == len(TREE)

    storage.next_out("2")  # the next attempt's own output prefix
    result = storage.execute("storage_tasks", "read_dir", inputs=storage.inputs(d=blob(out.uri, MULTIPART)))
    found = {k: v.scalar.primitive.string_value for k, v in result.outputs().literals["o0"].map.literals.items()}
    assert found.pop("<downloaded before>") == "False"
    assert found == TREE


def test_remote_file_and_folder_pass_through_without_copying(remote: Storage) -> None:
    uri = remote.put("elsewhere/kept.txt", b"kept")
    result = remote.execute("storage_tasks", "passthrough", inputs=remote.inputs(uri=uri))
    assert result.outputs().literals["o0"].scalar.blob.uri == uri
    remote.next_out("dir")
    result = remote.execute("storage_tasks", "passthrough_dir", inputs=remote.inputs(uri=f"{remote.base_uri()}/run/data/elsewhere"))
    assert result.outputs().literals["o0"].scalar.blob.uri == f"{remote.base_uri()}/run/data/elsewhere"
    assert remote.raw_keys() == []  # nothing copied


def test_pickle_output_then_input(storage: Storage) -> None:
    made = storage.execute("storage_tasks", "make_opaque", inputs=storage.inputs(n=5))
    lit = made.outputs().literals["o0"]
    assert lit.scalar.blob.metadata.type.format == "PythonPickle"
    # flytekit's layout: <raw>/<random hex>/<md5 of the pickle>
    data = storage.read(lit.scalar.blob.uri)
    assert_under_raw(lit.scalar.blob.uri, storage.raw, "/" + hashlib.md5(data).hexdigest())

    storage.next_out("2")
    result = storage.execute("storage_tasks", "read_opaque", inputs=storage.inputs(o=lit))
    assert result.outputs().literals["o0"].scalar.primitive.integer == 10


def test_dataframe_output_then_input(storage: Storage) -> None:
    pytest.importorskip("pyarrow")
    made = storage.execute("storage_tasks", "make_frame", inputs=storage.inputs(n=4))
    lit = made.outputs().literals["o0"]
    sd = lit.scalar.structured_dataset
    assert sd.metadata.structured_dataset_type.format == "parquet"
    assert_under_raw(sd.uri, storage.raw)
    assert storage.raw_keys() == [sd.uri[len(str(storage.raw)) + 1 :] + "/00000"]  # flytekit's layout
    assert storage.read(sd.uri + "/00000")[:4] == b"PAR1"

    storage.next_out("2")
    result = storage.execute("storage_tasks", "sum_frame", inputs=storage.inputs(df=lit))
    rows, total, columns, _ = string_output(result).split("|")
    assert (rows, total, columns) == ("4", "6", "i,s,f")


def test_dataframe_input_from_a_folder_of_parquet_files(storage: Storage) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    for part, rows in enumerate(([0, 1], [2, 3, 4], [5])):
        buffer = io.BytesIO()
        frame = pd.DataFrame({"i": rows, "s": [f"r{r}" for r in rows], "f": [r / 2 for r in rows]})
        frame.to_parquet(buffer)
        storage.put(f"parts/{part:05d}", buffer.getvalue())
    storage.put("parts/_SUCCESS", b"")  # a marker some writers leave: not data
    result = storage.execute("storage_tasks", "sum_frame", inputs=storage.inputs(df=dataset(fio.join(str(storage.data), "parts"))))
    rows, total, columns, _ = string_output(result).split("|")
    assert (rows, total, columns) == ("6", "15", "i,s,f")


def _checkpoint_uri(storage: Storage, where: str, name: str) -> str:
    return str(storage.tmp_path / "checkpoints" / name) if where == "local" else f"{storage.base_uri()}/run/checkpoints/{name}"


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("bytes", "read:step=7"),
        ("file", "read:step=8"),
        ("folder", "restored:" + ",".join(sorted(f"{k}={v}" for k, v in TREE.items()))),
    ],
)
def test_checkpoint_seen_by_the_retried_attempt(storage: Storage, where: str, mode: str, expected: str) -> None:
    first, second = _checkpoint_uri(storage, where, "attempt-1"), _checkpoint_uri(storage, where, "attempt-2")
    never = _checkpoint_uri(storage, where, "attempt-0")  # a previous checkpoint that was never written
    inputs = storage.inputs(mode=mode)
    storage.next_out("0")
    failed = storage.execute(
        "storage_tasks", "resume", inputs=inputs, options=["--checkpoint-path", first, "--prev-checkpoint", never]
    )
    error = failed.error()
    assert (error.origin, error.kind, error.code) == (1, 1, "USER:Recoverable"), failed.describe()
    assert fio.exists(first)

    storage.next_out("1")
    retried = storage.execute(
        "storage_tasks", "resume", inputs=inputs, options=["--checkpoint-path", second, "--prev-checkpoint", first]
    )
    assert string_output(retried) == expected


def test_deck_is_uploaded_as_html(remote: Storage) -> None:
    result = remote.execute("storage_tasks", "decked", inputs=remote.inputs(a=2))
    assert result.outputs().literals["o0"].scalar.primitive.integer == 6
    assert sorted(result.files()) == ["deck.html", "outputs.pb"]
    got = get_object(remote.server, f"{remote.out}/deck.html")
    assert got.attributes["Content-Type"] == "text/html"
    assert b"<html" in bytes(got.bytes()).lower()


def test_outputs_name_the_raw_prefix_layout(remote: Storage) -> None:
    """Two stored outputs of one attempt: each under a random folder of its own."""
    result = remote.execute("storage_tasks", "file_and_pickle", inputs=remote.inputs(n=3))
    literals = result.outputs().literals
    file_uri, pickle_uri = literals["o0"].scalar.blob.uri, literals["o1"].scalar.blob.uri
    assert_under_raw(file_uri, remote.raw, "/first.txt")
    assert file_uri.split("/")[-2] != pickle_uri.split("/")[-2]
    assert_under_raw(pickle_uri, remote.raw, "/" + pickle_uri.split("/")[-1])
