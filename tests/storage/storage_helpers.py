"""Helpers of the storage tests: the real ``flytelite execute`` with its prefixes on disk, on SeaweedFS (S3)
or on Azurite (Azure Blob).

The entrypoint tests' helpers (``tests/entrypoint/conftest.py``) and the io tests' dropping proxy
(``tests/io/test_faults.py``) are loaded from their files under names of their own, not copied.
:class:`Storage` is the entrypoint tests' ``Entrypoint`` whose output and raw prefixes may be
URIs of an object-store server (``S3Server`` or ``AzureServer``: the same interface), run with that
server's environment; a run whose output prefix is remote gives a :class:`RemoteResult`, which reads
what it left with an obstore client independent of flytelite.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import obstore
from azure_server import start_azure_server
from flyteidl.core import literals_pb2, types_pb2
from s3_server import start_s3_server

import flytelite.io as fio

TESTS = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ep_helpers = _load("_flytelite_tests_entrypoint_helpers", TESTS / "entrypoint" / "conftest.py")
io_faults = _load("_flytelite_tests_io_faults", TESTS / "io" / "test_faults.py")
DroppingProxy = io_faults.DroppingProxy
Result = ep_helpers.Result

HEX32 = "[0-9a-f]{32}"
SINGLE = types_pb2.BlobType.BlobDimensionality.SINGLE
MULTIPART = types_pb2.BlobType.BlobDimensionality.MULTIPART
# Short pauses between retries in the runs, and a short retry budget (3 s instead of 60).
FAST_RETRIES = {"FLYTELITE_IO_RETRY_BACKOFF": "0.05", "FLYTELITE_IO_RETRY_BUDGET": "3"}
# The object-store servers the suites run on, and how to start one of a test's own (one it may stop).
START_SERVER = {"s3": start_s3_server, "azure": start_azure_server}
REMOTE_SERVERS = list(START_SERVER)


def split_uri(uri: str) -> tuple[str, str]:
    """(bucket or container, key) of ``s3://bucket/key`` or ``abfs://container@account.../key``."""
    assert fio.is_remote(uri), uri
    authority, _, key = uri.partition("://")[2].partition("/")
    return authority.partition("@")[0], key


def list_keys(server: Any, uri: str) -> list[str]:
    """Every object under the folder ``uri`` of ``server``, relative to it."""
    bucket, key = split_uri(uri)
    prefix = key.rstrip("/") + "/"
    found = []
    for batch in obstore.list(server.raw_store(bucket), prefix=prefix):
        found += [meta["path"][len(prefix) :] for meta in batch]
    return sorted(found)


def get_object(server: Any, uri: str) -> Any:
    bucket, key = split_uri(uri)
    return obstore.get(server.raw_store(bucket), key)


def read_object(server: Any, uri: str) -> bytes:
    return bytes(get_object(server, uri).bytes())


def blob(uri: str, dimensionality: int = SINGLE, fmt: str = "") -> literals_pb2.Literal:
    lit = literals_pb2.Literal()
    lit.scalar.blob.uri = uri
    lit.scalar.blob.metadata.type.dimensionality = dimensionality
    lit.scalar.blob.metadata.type.format = fmt
    return lit


def dataset(uri: str, fmt: str = "parquet") -> literals_pb2.Literal:
    lit = literals_pb2.Literal()
    lit.scalar.structured_dataset.uri = uri
    lit.scalar.structured_dataset.metadata.structured_dataset_type.format = fmt
    return lit


class RemoteResult(Result):
    """A finished run whose output prefix is on an object-store server."""

    def __init__(self, local: Any, server: Any, out: str) -> None:
        super().__init__(local.returncode, local.stdout, local.stderr, Path("/nonexistent"), local.started)
        self.server, self.out_uri = server, out

    def files(self) -> list[str]:
        return list_keys(self.server, self.out_uri)

    def read(self, name: str) -> bytes:
        return read_object(self.server, f"{self.out_uri}/{name}")

    def outputs(self) -> literals_pb2.LiteralMap:
        files = self.files()
        assert "outputs.pb" in files and not any(f.startswith("error") for f in files), self.describe()
        return literals_pb2.LiteralMap.FromString(self.read("outputs.pb"))

    def error(self) -> Any:
        assert self.files() == ["error.pb"], self.describe()
        doc = ep_helpers.errors_pb2.ErrorDocument.FromString(self.read("error.pb"))
        assert doc.HasField("error")
        assert self.started - 1 <= doc.error.timestamp.ToNanoseconds() / 1e9 <= time.time() + 1
        return doc.error


class Storage(ep_helpers.Entrypoint):
    """The entrypoint's command with prefixes that may live on an object-store server."""

    def __init__(self, tmp_path: Path, server: Any, bucket: str | None) -> None:
        super().__init__(tmp_path)
        self.server, self.bucket = server, bucket
        self.env: dict[str, str] = {**server.env(), **FAST_RETRIES}
        self.data = str(tmp_path / "data")  # where the test puts what the task reads

    def base_uri(self) -> str:
        """``s3://<bucket>`` or ``abfs://<container>@<account>.dfs.core.windows.net``."""
        return self.server.base_uri(self.bucket)

    def on_remote(self, run: str = "run") -> Storage:
        """Output prefix, raw prefix, inputs and test data all under ``<bucket URI>/<run>/``."""
        base = f"{self.base_uri()}/{run}"
        self.out, self.raw, self.data = f"{base}/out", f"{base}/raw", f"{base}/data"
        return self

    def next_out(self, name: str) -> None:
        """Point the next run at an output prefix of its own, ``<output prefix>-<name>``."""
        self.out = type(self.out)(f"{self.out}-{name}")

    @property
    def remote(self) -> bool:
        return isinstance(self.out, str) and fio.is_remote(self.out)

    def put(self, name: str, data: bytes) -> str:
        """Store test data under the data folder (through flytelite.io); returns its URI."""
        uri = fio.join(str(self.data), name)
        fio.write_bytes(uri, data)
        return uri

    def inputs(self, **values: Any) -> str:
        """Store inputs.pb (beside the data) and return its URI."""
        return self.put("inputs.pb", ep_helpers.literal_map(**values).SerializeToString())

    def run(self, command: list[str], env: dict[str, str] | None = None, timeout: float = 60, cwd: Path = ep_helpers.TASK_DIR) -> Any:
        result = super().run(command, env={**self.env, **(env or {})}, timeout=timeout, cwd=cwd)
        return RemoteResult(result, self.server, str(self.out)) if self.remote else result

    def execute(self, module: str | None, name: str | None, *, env: dict[str, str] | None = None, timeout: float = 60, **kw: Any) -> Any:
        if "inputs" not in kw:
            kw["inputs"] = self.inputs()
        return self.run(self.command(module, name, **kw), env=env, timeout=timeout)

    def popen(self, module: str, name: str, *, env: dict[str, str] | None = None, **kw: Any) -> Any:
        return super().popen(module, name, env={**self.env, **(env or {})}, **kw)

    def raw_keys(self) -> list[str]:
        """Everything under the raw prefix (relative to it)."""
        if fio.is_remote(str(self.raw)):
            return list_keys(self.server, str(self.raw))
        raw = Path(self.raw)
        return sorted(str(p.relative_to(raw)) for p in raw.rglob("*") if p.is_file()) if raw.exists() else []

    def read(self, uri: str) -> bytes:
        """Bytes at ``uri``, read without flytelite when remote."""
        return read_object(self.server, uri) if fio.is_remote(uri) else Path(uri).read_bytes()


def string_output(result: Any, name: str = "o0") -> str:
    return result.outputs().literals[name].scalar.primitive.string_value


def assert_under_raw(uri: str, raw: str, tail: str = "") -> None:
    assert re.fullmatch(re.escape(str(raw)) + "/" + HEX32 + re.escape(tail), uri), (uri, raw, tail)
