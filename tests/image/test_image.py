"""The image the Dockerfile builds, run as its user (uid 1000) through ``buildah run``.

Only ``make image-test`` runs these: it builds the images from the working tree first and names
their cache in ``FLYTELITE_IMAGE_CACHE``. Everywhere else (``make test``) they are skipped, saying so.
Task code is mounted read-only from ``tests/entrypoint/task_modules``; inputs and outputs live on a
mounted folder or on the suite's SeaweedFS server (chroot isolation shares the host's network).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Iterator

import pytest
from flyteidl.core import errors_pb2, literals_pb2

from flytelite.types import encode_map
from terminal import PDB_PROMPT, Terminal

from .containers import CACHE_ENV_VAR, IMAGE, ROOT, SERVE_IMAGE, Container

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(CACHE_ENV_VAR), reason=f"{CACHE_ENV_VAR} is not set: `make image-test` builds the image and runs these"),
]

TASK_CODE = ROOT / "tests" / "entrypoint" / "task_modules"
CODE = "/home/flyte/code"
DATA = "/data"
RESOLVER = "flytelite.resolvers.module.default_task_resolver"
SHIM = ROOT / "tests" / "image" / "shim"  # `docker run` through `buildah run`


@pytest.fixture(scope="module")
def cache() -> Path:
    return Path(os.environ[CACHE_ENV_VAR])


@pytest.fixture(scope="module")
def image(cache: Path) -> Iterator[Container]:
    container = Container(cache, IMAGE)
    yield container
    container.remove()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A folder the container's user may write: mounted at /data."""
    folder = tmp_path / "data"
    folder.mkdir()
    os.chown(folder, 1000, 1000)
    return folder


def _inputs(**values: int) -> bytes:
    return encode_map(values, {name: int for name in values}, what="input").SerializeToString()


def _execute_args(inputs: str, output_prefix: str, module: str, task: str) -> list[str]:
    return ["flytelite", "execute", "--inputs", inputs, "--output-prefix", output_prefix, "--raw-output-data-prefix", f"{output_prefix}/raw",
            "--resolver", RESOLVER, "--", "task-module", module, "task-name", task]  # fmt: skip


def _code_volumes(data: Path) -> list[str]:
    return [f"{TASK_CODE}:{CODE}:ro", f"{data}:{DATA}"]


def _integer_output(encoded: bytes, name: str = "o0") -> int:
    return literals_pb2.LiteralMap.FromString(encoded).literals[name].scalar.primitive.integer


def test_the_image_runs_as_uid_1000_by_default(image: Container) -> None:
    result = image.run(["id", "-u"], user=None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1000"


def _tree_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name])
    return digest.hexdigest()


def test_version_and_installed_sources_match_the_tree(image: Container) -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = image.run(["flytelite", "--version"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"flytelite {version}"
    tree = {str(p.relative_to(ROOT / "src" / "flytelite")): p.read_bytes() for p in (ROOT / "src" / "flytelite").rglob("*.py")}
    probe = (
        "import flytelite, hashlib, pathlib; root = pathlib.Path(flytelite.__file__).parent; d = hashlib.sha256()\n"
        "for p in sorted(root.rglob('*.py'), key=lambda p: str(p.relative_to(root))): d.update(str(p.relative_to(root)).encode() + b'\\0' + p.read_bytes())\n"
        "print(d.hexdigest())"
    )
    installed = image.run(["python", "-c", probe])
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip() == _tree_digest(tree), "the image's flytelite is not this tree's src/flytelite"


def test_execute_mounted_code_with_inputs_and_outputs_on_a_mounted_folder(image: Container, data: Path) -> None:
    (data / "inputs.pb").write_bytes(_inputs(a=2, b=40))
    result = image.run(_execute_args(f"{DATA}/inputs.pb", f"{DATA}/out", "ok_tasks", "add"), volumes=_code_volumes(data), workdir=CODE)
    assert result.returncode == 0, result.stderr
    assert _integer_output((data / "out" / "outputs.pb").read_bytes()) == 42
    assert not (data / "out" / "error.pb").exists()


def test_execute_against_s3_on_the_host(image: Container, s3_server, data: Path) -> None:
    bucket = s3_server.create_bucket()
    store = s3_server.raw_store(bucket)
    store.put("run/inputs.pb", _inputs(a=20, b=22))
    prefix = f"s3://{bucket}/run"
    result = image.run(_execute_args(f"{prefix}/inputs.pb", f"{prefix}/out", "ok_tasks", "add"), volumes=_code_volumes(data), workdir=CODE, env=s3_server.env())
    assert result.returncode == 0, result.stderr
    assert _integer_output(bytes(store.get("run/out/outputs.pb").bytes())) == 42
    assert s3_server.secret_key not in result.stdout + result.stderr


def test_a_failing_task_leaves_its_error_document(image: Container, data: Path) -> None:
    (data / "inputs.pb").write_bytes(_inputs(a=7))
    result = image.run(_execute_args(f"{DATA}/inputs.pb", f"{DATA}/out", "failing_tasks", "boom"), volumes=_code_volumes(data), workdir=CODE)
    assert result.returncode == 0, result.stderr  # a recorded failure is a successful attempt for the pod
    document = errors_pb2.ErrorDocument.FromString((data / "out" / "error.pb").read_bytes())
    assert document.error.kind == errors_pb2.ContainerError.NON_RECOVERABLE
    assert document.error.origin == 1  # USER
    assert "boom with value 7" in document.error.message
    assert not (data / "out" / "outputs.pb").exists()


def test_fast_execute_of_an_archive_made_by_flytelite_package(image: Container, data: Path) -> None:
    packaged = image.run(["flytelite", "package", CODE, "-o", f"{DATA}/code.tar.gz"], volumes=_code_volumes(data))
    assert packaged.returncode == 0, packaged.stderr
    (data / "inputs.pb").write_bytes(_inputs(a=1, b=2))
    command = ["flytelite", "fast-execute", "--additional-distribution", f"{DATA}/code.tar.gz", "--dest-dir", "/tmp/fast-code", "--"]
    command += _execute_args(f"{DATA}/inputs.pb", f"{DATA}/out", "ok_tasks", "add")
    result = image.run(command, volumes=[f"{data}:{DATA}"], workdir="/home/flyte")  # no code mounted: it comes from the archive
    assert result.returncode == 0, result.stderr
    assert _integer_output((data / "out" / "outputs.pb").read_bytes()) == 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health_status(port: int) -> int | None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2).status
        except grpc.RpcError:
            return None


def test_serve_image_answers_the_grpc_health_check(cache: Path, data: Path) -> None:
    from grpc_health.v1 import health_pb2

    serve = Container(cache, SERVE_IMAGE)
    port = _free_port()
    command = serve.command(["flytelite", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--preload", "ok_tasks"],
                            volumes=_code_volumes(data), workdir=CODE, env={"PYTHONPATH": CODE})  # fmt: skip
    log = data / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        status = None
        while status != health_pb2.HealthCheckResponse.SERVING and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
            status = _health_status(port)
        assert status == health_pb2.HealthCheckResponse.SERVING, log.read_text(errors="replace")[-3000:]
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        serve.remove()


def test_the_plain_image_has_no_grpc(image: Container) -> None:
    """The serve extra stays out of the image tasks run in (their start-up imports nothing of it anyway)."""
    result = image.run(["python", "-c", "import grpc"])
    assert result.returncode != 0 and "No module named 'grpc'" in result.stderr


# Sticky, world-writable temporary folders of every Debian image (python:3.11-slim's too), accepted
# beside /tmp only with the sticky bit: the FHS's /var/tmp and /run/lock.
STICKY_TEMPORARY_FOLDERS = ("/var/tmp", "/run/lock")


def test_nothing_outside_home_and_temporary_folders_is_writable_by_uid_1000(cache: Path) -> None:
    fresh = Container(cache, IMAGE)  # not the one the other tests wrote in
    try:
        # -xdev: the image's own files only, not /proc, /sys or /dev; a link (/var/lock) is its target's business
        result = fresh.run(["find", "/", "-xdev", "-writable", "!", "-type", "l", "-printf", "%m %p\n"], timeout=300)
    finally:
        fresh.remove()
    modes = dict(reversed(line.split(" ", 1)) for line in result.stdout.splitlines())
    assert "/home/flyte" in modes and "/tmp" in modes, result.stdout + result.stderr
    allowed = ["/home/flyte", "/tmp"] + [folder for folder in STICKY_TEMPORARY_FOLDERS if modes.get(folder) == "1777"]
    outside = sorted(path for path in modes if not any(path == top or path.startswith(top + "/") for top in allowed))
    assert outside == []


COMPILERS = re.compile(r"^(gcc|g\+\+|cc|c\+\+|clang|clang\+\+|ld|as|make)(-[0-9.]+)?$")


def test_no_compiler_no_pip_cache_no_build_leftovers(cache: Path) -> None:
    fresh = Container(cache, IMAGE)
    try:
        root = fresh.mount()
        compilers = [str(p) for folder in ("usr/bin", "usr/local/bin", "bin") for p in (root / folder).glob("*") if COMPILERS.match(p.name)]
        caches = [str(p.relative_to(root)) for p in root.glob("**/.cache") if p.is_dir()]  # pip's is ~/.cache/pip
        leftovers = [name for name in ("tmp/flytelite-src", "opt/flytelite") if (root / name).exists()]
    finally:
        fresh.remove()
    assert compilers == []
    assert caches == []
    assert leftovers == []


def _readme_block(heading: str) -> str:
    """The first ``sh`` code block under ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(heading) :]
    return section[section.index("```sh\n") + len("```sh\n") : section.index("\n```", section.index("```sh\n"))]


def test_the_readme_debugging_loop_runs_as_written(tmp_path: Path, s3_server) -> None:
    block = _readme_block("### Debugging with `docker run`")
    [inputs_uri] = set(re.findall(r"--inputs (s3://\S+)", block))
    bucket, key = inputs_uri[len("s3://") :].split("/", 1)
    s3_server.create_bucket(bucket)
    s3_server.raw_store(bucket).put(key, encode_map({"values": []}, {"values": list[float]}, what="input").SerializeToString())
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples", project / "examples")
    env = {"PATH": f"{SHIM}:{os.environ['PATH']}", CACHE_ENV_VAR: os.environ[CACHE_ENV_VAR], "HOME": str(tmp_path), **s3_server.env()}
    terminal = Terminal(["bash", "-euc", block], env, project)
    try:
        tested = terminal.expect(PDB_PROMPT, timeout=120)
    except AssertionError as missing:
        raise AssertionError(f"{missing}\nstderr:\n{terminal.finish()[1]}") from None
    assert b"loaded arithmetic.mean; inputs decoded: values=list; nothing was written" in tested  # the --test run
    assert b"mean()" in tested and b"raise ValueError" in tested  # pdb stopped in the task's frame
    terminal.type("p values")
    assert b"[]" in terminal.expect(PDB_PROMPT).split(b"p values", 1)[-1]
    terminal.type("c")
    returncode, stderr = terminal.finish(timeout=120)
    assert returncode == 0, stderr
    error = errors_pb2.ErrorDocument.FromString((project / "debug-out" / "error.pb").read_bytes()).error
    assert "mean() of an empty list" in error.message
    assert s3_server.secret_key not in terminal.seen.decode(errors="replace") + stderr
