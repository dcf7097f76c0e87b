from __future__ import annotations

import os
from pathlib import Path

import pytest

import flytelite.io as fio
from .trees import read_tree, write_tree


def _make_tree(root: Path) -> dict[str, bytes]:
    return write_tree(root, {"a.txt": b"a", "sub/b.bin": os.urandom(1000), "sub/deeper/c": b"", "sub/deeper/d.txt": b"d" * 10})


@pytest.mark.parametrize("scheme", ["", "file://"])
def test_bytes_and_files_round_trip(tmp_path: Path, scheme: str) -> None:
    target = f"{scheme}{tmp_path}/out/nested/data.bin"
    fio.write_bytes(target, b"payload", content_type="application/octet-stream")
    assert fio.read_bytes(target) == b"payload"
    assert fio.exists(target) and not fio.exists(f"{scheme}{tmp_path}/missing")

    assert fio.get_file(target, str(tmp_path / "copy.bin")) == str(tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == b"payload"
    fio.put_file(str(tmp_path / "copy.bin"), f"{scheme}{tmp_path}/up/copy.bin")
    assert (tmp_path / "up/copy.bin").read_bytes() == b"payload"


def test_folder_round_trip(tmp_path: Path) -> None:
    files = _make_tree(tmp_path / "src")
    fio.put_dir(str(tmp_path / "src"), f"file://{tmp_path}/remote")
    assert fio.get_dir(str(tmp_path / "remote"), str(tmp_path / "back")) == str(tmp_path / "back")
    assert read_tree(tmp_path / "back") == files


def test_open_read_streams(tmp_path: Path) -> None:
    data = os.urandom(3 << 20)
    (tmp_path / "f").write_bytes(data)
    with fio.open_read(f"file://{tmp_path}/f") as stream:
        assert stream.read(10) == data[:10]
        assert stream.read() == data[10:]


def test_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    with pytest.raises(TypeError):
        fio.write_bytes(str(target), "not bytes")  # type: ignore[arg-type]  # fails inside the write
    assert list(tmp_path.iterdir()) == []


def test_unwritable_local_prefix(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(fio.StorageError) as caught:
        fio.write_bytes(str(tmp_path / "a-file" / "x.bin"), b"data")  # a file where a folder should be
    assert not caught.value.transient and "a-file" in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(fio.StorageError) as caught:
        fio.read_bytes(str(tmp_path / "nope"))
    assert not caught.value.transient and str(tmp_path / "nope") in str(caught.value)


def test_helpers() -> None:
    assert fio.join("s3://b/", "/x/", "y") == "s3://b/x/y"
    assert fio.is_remote("s3://b/x") and not fio.is_remote("file:///x") and not fio.is_remote("/x")
    assert fio.to_local_path("file:///tmp/x") == "/tmp/x"
