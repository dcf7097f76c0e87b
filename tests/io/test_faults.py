"""Transient failures: a proxy that drops connections, and a server that goes away mid-transfer."""

from __future__ import annotations

import os
import socket
import struct
import tempfile
import threading
import time
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from hanging_server import HangingServer
from s3_server import S3Server, start_s3_server

import flytelite.io as fio


class DroppingProxy:
    """A TCP proxy on 127.0.0.1 that resets the first ``drop`` connections (all when ``drop`` < 0),
    cuts the first ``cut`` forwarded connections after ``cut_after`` bytes of response, and cuts every
    request longer than ``request_limit`` bytes (small requests pass)."""

    def __init__(self, target_port: int, drop: int = 0, cut: int = 0, cut_after: int = 0, request_limit: int | None = None) -> None:
        self.target_port, self.drop, self.cut, self.cut_after = target_port, drop, cut, cut_after
        self.request_limit = request_limit
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.drop < 0 or self.drop > 0:
                self.drop -= 1 if self.drop > 0 else 0
                _reset(client)
                continue
            limit = None
            if self.cut > 0:
                self.cut -= 1
                limit = self.cut_after
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=_pipe, args=(client, upstream, self.request_limit), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client, limit), daemon=True).start()


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
    sock.close()


def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
    forwarded = 0
    try:
        while data := source.recv(65536):
            if limit is not None and forwarded + len(data) > limit:
                sink.sendall(data[: limit - forwarded])
                break
            sink.sendall(data)
            forwarded += len(data)
    except OSError:
        pass
    for sock in (source, sink):  # shutdown also wakes the thread blocked in recv on the other direction
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


@pytest.fixture
def proxy_env(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    """Makes a proxy in front of the S3 server and points the environment at it."""
    proxies: list[DroppingProxy] = []

    def make(**faults: int) -> DroppingProxy:
        proxy = DroppingProxy(int(s3_env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1]), **faults)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def test_dropped_connections_are_retried(s3_bucket: str, proxy_env, tmp_path: Path) -> None:
    proxy = proxy_env(drop=2)
    fio.write_bytes(f"s3://{s3_bucket}/a", b"survives")
    assert fio.read_bytes(f"s3://{s3_bucket}/a") == b"survives"
    assert proxy.connections >= 3


def test_body_cut_mid_download_resumes(s3_bucket: str, s3_env: dict[str, str], proxy_env, tmp_path: Path) -> None:
    data = os.urandom(8 << 20)
    fio.write_bytes(f"s3://{s3_bucket}/big", data)
    proxy_env(cut=2, cut_after=3 << 20)
    fio.get_file(f"s3://{s3_bucket}/big", str(tmp_path / "big"))
    assert (tmp_path / "big").read_bytes() == data


def test_always_dropping_fails_transient_in_bounded_time(s3_bucket: str, proxy_env, tmp_path: Path) -> None:
    proxy_env(drop=-1)
    (tmp_path / "f").write_bytes(b"x" * 1000)
    started = time.monotonic()
    with pytest.raises(fio.StorageError) as caught:
        fio.put_file(str(tmp_path / "f"), f"s3://{s3_bucket}/never")
    assert caught.value.transient and f"s3://{s3_bucket}/never" in str(caught.value)
    assert time.monotonic() - started < 10


@pytest.fixture
def own_server(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """A server of this test's own, which it may stop."""
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_s3_server(Path(data_dir))
        try:
            for name, value in server.env().items():
                monkeypatch.setenv(name, value)
            yield server
        finally:
            server.stop()


def test_server_stopping_mid_read_is_transient(own_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTELITE_IO_PART_SIZE_MB", "5")  # the reader buffers one part at a time
    bucket = own_server.create_bucket()
    fio.write_bytes(f"s3://{bucket}/big", os.urandom(32 << 20))
    with fio.open_read(f"s3://{bucket}/big") as stream:
        assert len(stream.read(1 << 20)) == 1 << 20
        own_server.stop()
        with pytest.raises(fio.StorageError) as caught:
            stream.read()
    assert caught.value.transient


def test_server_stopping_mid_upload_is_transient(own_server: S3Server, tmp_path: Path) -> None:
    bucket = own_server.create_bucket()
    with open(tmp_path / "big", "wb") as out:
        for _ in range(160):
            out.write(os.urandom(1 << 20))
    threading.Timer(0.3, own_server.stop).start()
    with pytest.raises(fio.StorageError) as caught:
        fio.put_file(str(tmp_path / "big"), f"s3://{bucket}/big")
    assert caught.value.transient


def test_a_ten_second_outage_is_ridden_out_by_the_default_retry_budget(
    s3_bucket: str, proxy_env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 4: the retry budget was a fixed count of quick retries (about 2 s), so a short outage failed an upload."""
    monkeypatch.delenv("FLYTELITE_IO_RETRY_BUDGET")  # the defaults, not the tests' short ones
    monkeypatch.delenv("FLYTELITE_IO_RETRY_BACKOFF")
    data = os.urandom(40 << 20)  # several parts
    (tmp_path / "big").write_bytes(data)
    proxy = proxy_env(drop=-1)
    threading.Timer(10, lambda: setattr(proxy, "drop", 0)).start()
    started = time.monotonic()
    fio.put_file(str(tmp_path / "big"), f"s3://{s3_bucket}/big")
    assert time.monotonic() - started >= 10  # it did wait the outage out
    assert fio.read_bytes(f"s3://{s3_bucket}/big") == data


def test_connections_reset_before_the_request_is_sent_are_retried(s3_bucket: str, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection reset before hyper sends the request ("connection was not ready") is not retried by obstore.

    The reset must win a race with the client's first write: a fraction of a percent of resets on an idle
    machine, more under load. So a thousand fresh connections are reset (new clients, short pauses).
    """
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BACKOFF", "0.001")
    # Once in several full runs a forwarded request got no answer (30 s, the read timeout; not a reset): with
    # the suite's 3 s budget that was fatal. It is not what this test is about, so a stalled request is
    # given up after 5 s and sent again within a budget a pod would have.
    monkeypatch.setenv("FLYTELITE_IO_READ_TIMEOUT", "5s")
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "60")
    target_port = int(s3_env["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    for attempt in range(200):
        proxy = DroppingProxy(target_port, drop=5)
        monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.endpoint)  # a new endpoint: a new client, new connections
        try:
            fio.write_bytes(f"s3://{s3_bucket}/{attempt}", b"sent once the resets are over")
        finally:
            proxy.close()
        assert proxy.connections >= 6


def _open_multipart_uploads(server: S3Server, bucket: str) -> list[str]:
    """The bucket's multipart uploads not completed nor aborted (SeaweedFS keeps them under ``.uploads``)."""
    request = urllib.request.Request(f"{server.filer_url}/buckets/{bucket}/.uploads/", headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return [entry["FullPath"] for entry in json.load(response).get("Entries") or []]
    except urllib.error.HTTPError as error:
        if error.code == 404:  # the folder appears with the bucket's first upload
            return []
        raise


def test_a_failed_multipart_upload_is_aborted(s3_server: S3Server, s3_bucket: str, proxy_env, tmp_path: Path) -> None:
    """Every part is cut mid-body while the small requests (create, abort) pass: no upload is left open."""
    (tmp_path / "big").write_bytes(os.urandom(40 << 20))
    proxy_env(request_limit=1 << 20)
    seen_open: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.05):
            seen_open.extend(_open_multipart_uploads(s3_server, s3_bucket))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(fio.StorageError) as caught:
            fio.put_file(str(tmp_path / "big"), f"s3://{s3_bucket}/big")
    finally:
        stop.set()
        watcher.join()
    assert caught.value.transient
    assert seen_open, "the upload was never seen open: the listing would not show a leak either"
    assert _open_multipart_uploads(s3_server, s3_bucket) == []
    assert not fio.exists(f"s3://{s3_bucket}/big")


def test_a_changed_time_out_is_not_lost_to_a_client_made_before_it(s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The storage variables are read afresh when they change (a warm worker's next attempt may set others):
    a client made under the old ones, for the same store, is not reused."""
    server = HangingServer()
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "0")
    monkeypatch.setenv("FLYTELITE_IO_TIMEOUT", "1s")
    try:
        with pytest.raises(fio.StorageError):
            fio.read_bytes("s3://bucket/key")
        monkeypatch.setenv("FLYTELITE_IO_TIMEOUT", "4s")
        started = time.monotonic()
        with pytest.raises(fio.StorageError) as caught:
            fio.read_bytes("s3://bucket/key")
        assert time.monotonic() - started >= 4, "the request gave up at the first client's time-out"
        assert caught.value.transient
    finally:
        server.close()
