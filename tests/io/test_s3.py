"""Round trips of every function against a real S3 server (SeaweedFS)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import obstore
import pytest
from obstore.store import S3Store

import flytelite.io as fio
from .trees import read_tree, write_tree


def _make_tree(root: Path, count: int) -> dict[str, bytes]:
    files = {f"d{i % 7}/sub{i % 3}/f{i}.bin": os.urandom(100 + i) for i in range(count)}
    return write_tree(root, {**files, "top.txt": b"top"})


def _raw_store(bucket: str, env: dict[str, str]) -> S3Store:
    """A client independent of flytelite, to check what it wrote."""
    return S3Store(
        bucket,
        endpoint=env["AWS_ENDPOINT_URL"],
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )


def test_bytes_round_trip_with_content_type(s3_bucket: str, s3_env: dict[str, str]) -> None:
    uri = f"s3://{s3_bucket}/out/deck.html"
    fio.write_bytes(uri, b"<html></html>", content_type="text/html")
    assert fio.read_bytes(uri) == b"<html></html>"
    assert obstore.get(_raw_store(s3_bucket, s3_env), "out/deck.html").attributes["Content-Type"] == "text/html"


def test_exists(s3_bucket: str) -> None:
    fio.write_bytes(f"s3://{s3_bucket}/folder/inner/x", b"x")
    assert fio.exists(f"s3://{s3_bucket}/folder/inner/x")
    assert fio.exists(f"s3://{s3_bucket}/folder")  # a prefix with objects counts, like a folder
    assert fio.exists(f"s3://{s3_bucket}/folder/")
    assert not fio.exists(f"s3://{s3_bucket}/fold")
    assert not fio.exists(f"s3://{s3_bucket}/folder/inner/y")


def test_small_file_round_trip(s3_bucket: str, tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_bytes(b"hello")
    fio.put_file(str(tmp_path / "in.txt"), f"s3://{s3_bucket}/f/in.txt", content_type="text/plain")
    assert fio.get_file(f"s3://{s3_bucket}/f/in.txt", str(tmp_path / "new/out.txt")) == str(tmp_path / "new/out.txt")
    assert (tmp_path / "new/out.txt").read_bytes() == b"hello"


def test_multipart_file_round_trip(s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTELITE_IO_PART_SIZE_MB", "5")  # 21 MiB: five parts, the last one short
    data = os.urandom(21 << 20)
    (tmp_path / "big").write_bytes(data)
    uri = f"s3://{s3_bucket}/big/file.bin"
    fio.put_file(str(tmp_path / "big"), uri)
    fio.get_file(uri, str(tmp_path / "back"))
    assert (tmp_path / "back").read_bytes() == data
    assert fio.read_bytes(uri) == data
    with fio.open_read(uri) as stream:
        stream.seek(6 << 20)
        assert stream.read(1000) == data[6 << 20 : (6 << 20) + 1000]
        assert stream.read() == data[(6 << 20) + 1000 :]


def test_download_streams_to_disk(s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """get_file does not hold the object in memory: peak memory grows far less than the file's size."""
    import resource

    monkeypatch.setenv("FLYTELITE_IO_PART_SIZE_MB", "5")
    size = 96 << 20
    with open(tmp_path / "big", "wb") as out:
        for _ in range(size >> 20):
            out.write(os.urandom(1 << 20))
    fio.put_file(str(tmp_path / "big"), f"s3://{s3_bucket}/big")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fio.get_file(f"s3://{s3_bucket}/big", str(tmp_path / "back"))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert (tmp_path / "back").stat().st_size == size
    assert grown_kib * 1024 < size / 2, f"peak memory grew by {grown_kib} KiB"


def test_folder_round_trip(s3_bucket: str, tmp_path: Path) -> None:
    files = _make_tree(tmp_path / "src", 200)
    fio.put_dir(str(tmp_path / "src"), f"s3://{s3_bucket}/dir/")
    fio.get_dir(f"s3://{s3_bucket}/dir", str(tmp_path / "back"))
    assert read_tree(tmp_path / "back") == files


def test_local_file_uris_mix_with_s3(s3_bucket: str, tmp_path: Path) -> None:
    fio.write_bytes(f"file://{tmp_path}/a.bin", b"abc")
    fio.put_file(f"{tmp_path}/a.bin", f"s3://{s3_bucket}/a.bin")
    assert fio.read_bytes(f"s3://{s3_bucket}/a.bin") == b"abc"


def test_obstore_is_not_imported_for_local_work() -> None:
    import subprocess

    code = "import sys, flytelite.io as f; f.read_bytes('/etc/hostname'); print('obstore' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_progress_is_logged_for_long_transfers(
    s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from flytelite.io import _progress

    monkeypatch.setattr(_progress, "REPORT_EVERY_S", 0.0)
    _make_tree(tmp_path / "src", 20)
    with caplog.at_level(logging.INFO, logger="flytelite.io"):
        fio.put_dir(str(tmp_path / "src"), f"s3://{s3_bucket}/p")
    assert any("uploading s3://" in r.getMessage() and "files" in r.getMessage() for r in caplog.records)
