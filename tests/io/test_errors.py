"""Failures that retrying cannot fix: they fail at once, name the URI and say what to check."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from s3_server import S3Server

import flytelite.io as fio

from .permanent import permanent_failure


def test_unknown_scheme() -> None:
    error = permanent_failure(lambda: fio.read_bytes("xyz://host/a"))
    assert str(error).startswith("unknown scheme 'xyz' in xyz://host/a: supported are local paths")


def test_fsspec_protocol_is_used() -> None:
    fio.write_bytes("memory://flytelite-test/a/b.bin", b"via fsspec")
    assert fio.read_bytes("memory://flytelite-test/a/b.bin") == b"via fsspec"
    assert fio.exists("memory://flytelite-test/a/b.bin")
    assert "not found" in str(permanent_failure(lambda: fio.read_bytes("memory://flytelite-test/zzz")))


def test_missing_bucket(s3_env: dict[str, str]) -> None:
    error = permanent_failure(lambda: fio.write_bytes("s3://no-such-bucket-here/a", b"x"))
    assert f"bucket 'no-such-bucket-here' does not exist at {s3_env['AWS_ENDPOINT_URL']}" in str(error)
    assert "s3://no-such-bucket-here/a" in str(error)


def test_object_not_found(s3_bucket: str, tmp_path: Path) -> None:
    uri = f"s3://{s3_bucket}/missing.bin"
    for call in (lambda: fio.read_bytes(uri), lambda: fio.get_file(uri, str(tmp_path / "x")), lambda: fio.open_read(uri)):
        assert str(permanent_failure(call)).startswith(f"not found: {uri}")
    assert not (tmp_path / "x").exists()
    assert f"not found: s3://{s3_bucket}/nothing" in str(permanent_failure(lambda: fio.get_dir(f"s3://{s3_bucket}/nothing", str(tmp_path / "d"))))


def test_wrong_secret_is_named_but_not_shown(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-do-not-print-me")
    error = permanent_failure(lambda: fio.read_bytes(f"s3://{s3_bucket}/a"))
    assert f"s3://{s3_bucket}/a" in str(error) and "credentials were rejected" in str(error)
    assert "AWS_SECRET_ACCESS_KEY" in str(error)
    assert "wrong-secret-do-not-print-me" not in repr(error) + str(error.__cause__)


def test_unknown_access_key(s3_bucket: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unknown-key")
    error = permanent_failure(lambda: fio.write_bytes(f"s3://{s3_bucket}/a", b"x"))
    assert "credentials were rejected" in str(error) and s3_server.secret_key not in str(error)


def test_flyte_sandbox_variables_win(s3_bucket: str, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("FLYTE_AWS_ENDPOINT", s3_server.endpoint)
    monkeypatch.setenv("FLYTE_AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("FLYTE_AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    fio.write_bytes(f"s3://{s3_bucket}/sandbox", b"ok")
    assert fio.read_bytes(f"s3://{s3_bucket}/sandbox") == b"ok"


def test_missing_credentials(s3_bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_METADATA_ENDPOINT", "http://127.0.0.1:1")  # no instance role here
    # obstore asks the metadata service again until the retry budget is spent (by default 60 s, so a pod
    # with no credentials at all reports it after a minute), then gives up for good.
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "1")
    started = time.monotonic()
    with pytest.raises(fio.StorageError) as caught:
        fio.read_bytes(f"s3://{s3_bucket}/a")
    assert time.monotonic() - started < 5, "the lookup went on past the retry budget"
    error = caught.value
    assert not error.transient
    assert str(error).startswith(f"no credentials found for s3://{s3_bucket}/a: set AWS_ACCESS_KEY_ID")
    assert "FLYTE_AWS_ACCESS_KEY_ID" in str(error)


def test_unwritable_local_target(s3_bucket: str, tmp_path: Path) -> None:
    fio.write_bytes(f"s3://{s3_bucket}/a", b"x")
    (tmp_path / "a-file").write_bytes(b"")
    error = permanent_failure(lambda: fio.get_file(f"s3://{s3_bucket}/a", str(tmp_path / "a-file" / "x")))
    assert str(tmp_path / "a-file" / "x") in str(error)


def test_missing_local_source(s3_bucket: str, tmp_path: Path) -> None:
    error = permanent_failure(lambda: fio.put_file(str(tmp_path / "nope"), f"s3://{s3_bucket}/a"))
    assert str(tmp_path / "nope") in str(error)
