"""A throwaway Azurite blob server, for tests and benchmarks.

``start_azure_server(data_dir)`` runs ``azurite-blob`` (npm package ``azurite``) on 127.0.0.1 only, with a
free port, a data folder of its own and one storage account of our own (``AZURITE_ACCOUNTS``), so a wrong
key is rejected like on a real account. Azurite serves the account path-style:
``http://127.0.0.1:<port>/<account>``. Containers must exist before objects are written (obstore cannot
create them): :meth:`AzureServer.create_bucket` sends a SharedKey-signed "Create Container" request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

from s3_server import answers, die_with_parent

ACCOUNT = "flyteliteacct"
ACCOUNT_KEY = base64.b64encode(b"flytelite-azurite-test-account-key-0123456789").decode()
API_VERSION = "2021-10-04"
PROJECT = Path(__file__).resolve().parent.parent


def azurite_binary() -> str:
    """``azurite-blob`` installed by ``make test`` under ``.azurite/`` of the project, else on PATH."""
    local = PROJECT / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    found = shutil.which("azurite-blob")
    if found is None:
        raise RuntimeError("no 'azurite-blob': run `make azurite` (npm install --prefix .azurite azurite)")
    return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_key_authorization(method: str, account: str, key: str, path: str, query: dict[str, str], headers: dict[str, str]) -> str:
    """The ``Authorization`` header of a request without a body, signed with the account key (SharedKey)."""
    canonical_headers = "".join(f"{name}:{headers[name]}\n" for name in sorted(headers) if name.startswith("x-ms-"))
    canonical_resource = f"/{account}{path}" + "".join(f"\n{name}:{query[name]}" for name in sorted(query))
    string_to_sign = method + "\n" * 12 + canonical_headers + canonical_resource
    signature = hmac.new(base64.b64decode(key), string_to_sign.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(signature).decode()}"


@dataclass
class AzureServer:
    port: int
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    account: str = ACCOUNT
    account_key: str = ACCOUNT_KEY
    scheme = "abfs"
    kind = "azure"  # the name of its fixtures

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def blob_endpoint(self) -> str:
        return f"{self.endpoint}/{self.account}"

    @property
    def secret(self) -> str:
        """What no message may show."""
        return self.account_key

    def base_uri(self, container: str) -> str:
        """The URI of a container as Flyte writes it: the account in the host, as on Azure."""
        return f"abfs://{container}@{self.account}.dfs.core.windows.net"

    def raw_store(self, container: str) -> Any:
        """A client of ``container`` independent of flytelite, to check what it wrote."""
        from obstore.store import AzureStore

        return AzureStore(
            container, account_name=self.account, account_key=self.account_key, endpoint=self.blob_endpoint,
            client_options={"allow_http": True},
        )  # fmt: skip

    def connection_string(self, account_key: str | None = None, endpoint: str | None = None) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={account_key or self.account_key};"
            f"BlobEndpoint={endpoint or self.blob_endpoint};"
        )

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The environment a pod would get to reach this server (optionally through a proxy at ``endpoint``):
        the connection string of Azure's tools."""
        blob_endpoint = f"{endpoint}/{self.account}" if endpoint else None
        return {"AZURE_STORAGE_CONNECTION_STRING": self.connection_string(endpoint=blob_endpoint)}

    def create_bucket(self, name: str | None = None) -> str:
        """Create a container and return its name."""
        name = name or f"test-{uuid.uuid4().hex[:12]}"
        path, query = f"/{self.account}/{name}", {"restype": "container"}
        headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION}
        headers["Authorization"] = shared_key_authorization("PUT", self.account, self.account_key, path, query, headers)
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}?restype=container", method="PUT", headers=headers
        )
        with urllib.request.urlopen(request, timeout=10):
            pass
        return name

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_azure_server(data_dir: Path, timeout_s: float = 30.0) -> AzureServer:
    """Start Azurite's blob service in ``data_dir`` and wait until it answers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    command = [
        azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port),
        "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--inMemoryPersistence",
    ]  # fmt: skip
    log_path = data_dir / "azurite.log"
    env = {**os.environ, "AZURITE_ACCOUNTS": f"{ACCOUNT}:{ACCOUNT_KEY}"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=data_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )  # fmt: skip
    server = AzureServer(port, data_dir, process, log_path)
    deadline = time.monotonic() + timeout_s
    while not answers(server.blob_endpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"Azurite did not start within {timeout_s}s:\n{server.log_tail()}")
        time.sleep(0.1)
    return server
