"""Storage failing under a running attempt, end to end: a server stopped mid-run, a proxy that drops
connections. The verdict is an error document (SYSTEM, recoverable) and no outputs.pb; a rerun succeeds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .storage_helpers import REMOTE_SERVERS, START_SERVER, DroppingProxy, Result, Storage, assert_under_raw, list_keys

SYSTEM, RECOVERABLE, NON_RECOVERABLE = 2, 1, 0


@pytest.fixture(params=REMOTE_SERVERS)
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A server of this test's own (SeaweedFS, Azurite), which it may stop."""
    server = START_SERVER[request.param](tmp_path / "own-server")
    yield server
    server.stop()


def _wait_for(path: Path, proc, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {path} appeared: {proc.communicate()}")
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.05)


def test_server_stopped_mid_run_then_a_rerun_succeeds(tmp_path: Path, own_server: Any) -> None:
    """Output prefix on disk (where the verdict can still be written), raw prefix on the server that dies."""
    bucket = own_server.create_bucket()
    storage = Storage(tmp_path, own_server, bucket)
    storage.raw = f"{storage.base_uri()}/raw"
    marker, go = tmp_path / "started", tmp_path / "go"
    inputs = storage.inputs(marker=str(marker), go=str(go))
    env = {"FLYTELITE_IO_RETRY_BUDGET": "2"}

    launched = time.time()
    proc = storage.popen("storage_tasks", "file_after_signal", inputs=inputs, env=env)
    _wait_for(marker, proc)
    own_server.stop()
    started = time.monotonic()
    go.touch()
    stdout, stderr = proc.communicate(timeout=60)
    assert time.monotonic() - started < 30, "the upload to a dead server was not given up in bounded time"

    result = Result(proc.returncode, stdout, stderr, storage.out, launched)
    assert "outputs.pb" not in result.files()  # atomic: the file output could not be stored
    error = result.error()
    assert (error.origin, error.kind, error.code) == (SYSTEM, RECOVERABLE, "SYSTEM"), result.describe()
    assert f"{storage.raw}/" in error.message and "result.txt" in error.message
    assert "StorageError" in error.message.splitlines()[0]

    # The backend retries the attempt against a storage that is back (a new server here).
    revived = START_SERVER[own_server.kind](tmp_path / "revived-server")
    try:
        bucket = revived.create_bucket()
        rerun = Storage(tmp_path, revived, bucket)
        rerun.out, rerun.raw = tmp_path / "out-rerun", f"{rerun.base_uri()}/raw-rerun"
        go.touch()
        result = rerun.execute("storage_tasks", "file_after_signal", inputs=inputs, env=env)
        uri = result.outputs().literals["o0"].scalar.blob.uri
        assert_under_raw(uri, rerun.raw, "/result.txt")
        assert rerun.read(uri) == b"made after the signal"
    finally:
        revived.stop()


def test_proxy_dropping_the_first_connections_is_retried(remote: Storage) -> None:
    proxy = DroppingProxy(remote.server.port, drop=3)
    try:
        inputs = remote.inputs(name="report.txt", text="through a flaky network")
        result = remote.execute("storage_tasks", "write_file", inputs=inputs, env=remote.server.env(proxy.endpoint))
        uri = result.outputs().literals["o0"].scalar.blob.uri
        assert remote.read(uri) == b"through a flaky network"
        assert proxy.connections >= 4
    finally:
        proxy.close()


def test_proxy_dropping_every_connection_ends_in_a_recoverable_error(tmp_path: Path, remote: Storage) -> None:
    proxy = DroppingProxy(remote.server.port, drop=-1)
    try:
        remote.out, remote.data = tmp_path / "out", str(tmp_path / "data")  # verdict and inputs on disk
        inputs = remote.inputs(name="report.txt", text="never stored")
        started = time.monotonic()
        result = remote.execute(
            "storage_tasks", "write_file", inputs=inputs, env={**remote.server.env(proxy.endpoint), "FLYTELITE_IO_RETRY_BUDGET": "2"}
        )
        assert time.monotonic() - started < 30
        error = result.error()  # the only file: no outputs.pb
        assert (error.origin, error.kind, error.code) == (SYSTEM, RECOVERABLE, "SYSTEM"), result.describe()
        assert f"{remote.raw}/" in error.message and "report.txt" in error.message
        assert "transient" in error.message
        assert proxy.connections >= 3
    finally:
        proxy.close()
    assert list_keys(remote.server, str(remote.raw)) == []  # nothing half-written under the raw prefix


def test_failed_pickle_upload_leaves_no_outputs(tmp_path: Path, remote: Storage) -> None:
    """The second stored output fails (its raw prefix is a missing bucket): no outputs.pb."""
    remote.out, remote.data = tmp_path / "out", str(tmp_path / "data")
    remote.raw = f"{remote.server.base_uri('no-such-raw-bucket')}/raw"
    result = remote.execute("storage_tasks", "file_and_pickle", inputs=remote.inputs(n=2))
    error = result.error()
    assert (error.origin, error.kind) == (SYSTEM, NON_RECOVERABLE), result.describe()
    assert "'no-such-raw-bucket' does not exist" in error.message and f"{remote.raw}/" in error.message
