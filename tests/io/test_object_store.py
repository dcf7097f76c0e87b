"""Round trips of every function against real servers: S3 (SeaweedFS) and Azure Blob (Azurite)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import obstore
import pytest

import flytelite.io as fio
from .trees import read_tree, write_tree


def _make_tree(root: Path, count: int) -> dict[str, bytes]:
    files = {f"d{i % 7}/sub{i % 3}/f{i}.bin": os.urandom(100 + i) for i in range(count)}
    return write_tree(root, {**files, "top.txt": b"top"})


@pytest.fixture(params=["s3", "azure"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    """A fresh bucket (container) on SeaweedFS or Azurite, the environment pointed at its server."""
    server = request.getfixturevalue(f"{request.param}_server")
    name = request.getfixturevalue("s3_bucket" if request.param == "s3" else "azure_container")
    return Bucket(server, name)


class Bucket:
    def __init__(self, server, name: str) -> None:
        self.server, self.name, self.uri = server, name, server.base_uri(name)

    def __str__(self) -> str:
        return self.uri


def test_bytes_round_trip_with_content_type(bucket: Bucket) -> None:
    uri = f"{bucket}/out/deck.html"
    fio.write_bytes(uri, b"<html></html>", content_type="text/html")
    assert fio.read_bytes(uri) == b"<html></html>"
    assert obstore.get(bucket.server.raw_store(bucket.name), "out/deck.html").attributes["Content-Type"] == "text/html"


def test_exists(bucket: Bucket) -> None:
    fio.write_bytes(f"{bucket}/folder/inner/x", b"x")
    assert fio.exists(f"{bucket}/folder/inner/x")
    assert fio.exists(f"{bucket}/folder")  # a prefix with objects counts, like a folder
    assert fio.exists(f"{bucket}/folder/")
    assert not fio.exists(f"{bucket}/fold")
    assert not fio.exists(f"{bucket}/folder/inner/y")


def test_small_file_round_trip(bucket: Bucket, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_bytes(b"hello")
    fio.put_file(str(tmp_path / "in.txt"), f"{bucket}/f/in.txt", content_type="text/plain")
    assert fio.get_file(f"{bucket}/f/in.txt", str(tmp_path / "new/out.txt")) == str(tmp_path / "new/out.txt")
    assert (tmp_path / "new/out.txt").read_bytes() == b"hello"


def test_multipart_file_round_trip(bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTELITE_IO_PART_SIZE_MB", "5")  # 21 MiB: five parts, the last one short
    data = os.urandom(21 << 20)
    (tmp_path / "big").write_bytes(data)
    uri = f"{bucket}/big/file.bin"
    fio.put_file(str(tmp_path / "big"), uri)
    fio.get_file(uri, str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data
    assert fio.read_bytes(uri) == data
    with fio.open_read(uri) as stream:
        stream.seek(6 << 20)
        assert stream.read(1000) == data[6 << 20 : (6 << 20) + 1000]
        assert stream.read() == data[(6 << 20) + 1000 :]


def test_download_streams_to_disk(bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """get_file does not hold the object in memory: peak memory grows far less than the file's size."""
    import resource

    monkeypatch.setenv("FLYTELITE_IO_PART_SIZE_MB", "5")
    size = 96 << 20
    with open(tmp_path / "big", "wb") as out:
        for _ in range(size >> 20):
            out.write(os.urandom(1 << 20))
    fio.put_file(str(tmp_path / "big"), f"{bucket}/big")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fio.get_file(f"{bucket}/big", str(tmp_path / "back"))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert (tmp_path / "back").stat().st_size == size
    assert grown_kib * 1024 < size / 2, f"peak memory grew by {grown_kib} KiB"


def test_folder_round_trip(bucket: Bucket, tmp_path: Path) -> None:
    files = _make_tree(tmp_path / "src", 200)
    fio.put_dir(str(tmp_path / "src"), f"{bucket}/dir/")
    fio.get_dir(f"{bucket}/dir", str(tmp_path / "back"))
    assert read_tree(tmp_path / "back") == files


def test_local_file_uris_mix_with_object_stores(bucket: Bucket, tmp_path: Path) -> None:
    fio.write_bytes(f"file://{tmp_path}/a.bin", b"abc")
    fio.put_file(f"{tmp_path}/a.bin", f"{bucket}/a.bin")
    assert fio.read_bytes(f"{bucket}/a.bin") == b"abc"


def test_obstore_is_not_imported_for_local_work() -> None:
    import subprocess

    code = "import sys, flytelite.io as f; f.read_bytes('/etc/hostname'); print('obstore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_progress_is_logged_for_long_transfers(
    bucket: Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from flytelite.io import _progress

    monkeypatch.setattr(_progress, "REPORT_EVERY_S", 0.0)
    _make_tree(tmp_path / "src", 20)
    with caplog.at_level(logging.INFO, logger="flytelite.io"):
        fio.put_dir(str(tmp_path / "src"), f"{bucket}/p")
    assert any(f"uploading {bucket}" in r.getMessage() and "files" in r.getMessage() for r in caplog.records)
