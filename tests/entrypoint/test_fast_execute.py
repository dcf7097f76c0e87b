"""fast-execute: code shipped as an archive, unpacked safely, run as a child process."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from flytelite.types import encode_map

TASK_SOURCE = (Path(__file__).parent / "task_modules" / "mapped.py").read_text()


def _code_archive(ep, tmp_path: Path) -> Path:
    code = tmp_path / "code" / "shipped"
    code.mkdir(parents=True)
    (code / "__init__.py").write_text("")
    (code / "tasks.py").write_text(TASK_SOURCE)
    archive = tmp_path / "code.tar.gz"
    result = ep.flytelite("package", str(tmp_path / "code"), "-o", str(archive))
    assert result.returncode == 0, result.describe()
    return archive


def _fast_command(ep, archive: str, dest: Path, task_name: str = "argv_seen") -> list[str]:
    inner = ep.command("shipped.tasks", task_name, options=["--resolver", "flytelite.resolvers.module.default_task_resolver"])
    return [str(Path(sys.executable).parent / "flytelite"), "fast-execute", "--additional-distribution", archive, "--dest-dir", str(dest), "--", *inner]


def test_the_archive_is_unpacked_and_the_inner_command_gets_the_dynamic_options(ep, tmp_path):
    archive, dest = _code_archive(ep, tmp_path), tmp_path / "dest"
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    result = ep.run(_fast_command(ep, str(archive), dest), cwd=tmp_path)
    argv = result.outputs().literals["o0"].scalar.primitive.string_value
    assert (dest / "shipped" / "tasks.py").read_text() == TASK_SOURCE
    assert f"--dynamic-addl-distro {archive} --dynamic-dest-dir {dest} --resolver" in argv


def test_a_missing_archive_is_an_error_document_naming_it(ep, tmp_path):
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    missing = str(tmp_path / "nope.tar.gz")
    result = ep.run(_fast_command(ep, missing, tmp_path / "dest"), cwd=tmp_path)
    error = result.error()
    assert missing in error.message and error.origin == 2
    assert not (tmp_path / "dest").exists()


def _hostile(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    path = tmp_path / f"hostile-{os.urandom(4).hex()}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        safe = tarfile.TarInfo("ok.py")
        safe.size = 2
        archive.addfile(safe, io.BytesIO(b"#\n"))
        member.size = len(data) if member.isfile() else 0
        archive.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


def _files_besides_the_run(tmp_path: Path, ep) -> list[str]:
    """Everything under tmp_path but the run's output prefix and its temporary folder."""
    skipped = (str(ep.out), str(tmp_path / "tmpdir"))
    return sorted(str(p) for p in tmp_path.rglob("*") if not str(p).startswith(skipped))


@pytest.mark.parametrize(
    "member",
    [
        _member("../escaped.py"),
        _member("pkg/../../escaped.py"),
        _member("/tmp/flytelite-absolute-escape.py"),
        _member("etc_link", tarfile.SYMTYPE, "/etc"),
        _member("up_link", tarfile.SYMTYPE, "../../outside"),
        _member("hard_link", tarfile.LNKTYPE, "../outside.txt"),
        _member("device", tarfile.CHRTYPE),
        _member("pipe", tarfile.FIFOTYPE),
    ],
    ids=["dotdot", "nested-dotdot", "absolute", "symlink-etc", "symlink-up", "hardlink-out", "device", "fifo"],
)
def test_hostile_archives_are_refused_and_nothing_lands_anywhere(ep, tmp_path, member):
    archive = _hostile(tmp_path, member)
    dest = tmp_path / "work" / "dest"
    dest.parent.mkdir()
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    before = _files_besides_the_run(tmp_path, ep)
    result = ep.run(_fast_command(ep, str(archive), dest), cwd=tmp_path)
    error = result.error()
    assert member.name in error.message and "unsafe" in error.message
    assert error.origin == 1
    assert _files_besides_the_run(tmp_path, ep) == before
    assert not os.path.exists("/tmp/flytelite-absolute-escape.py")


def test_sigterm_is_forwarded_to_the_child_and_its_status_becomes_ours(ep, tmp_path):
    archive, dest = _code_archive(ep, tmp_path), tmp_path / "dest"
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    proc = subprocess.Popen(_fast_command(ep, str(archive), dest, "sleeper"), cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 20
    while time.time() < deadline and not (dest / "shipped").exists():
        time.sleep(0.1)
    time.sleep(1.5)  # the child is importing and entering the task
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 143
    document = ep.read_error_document(ep.out / "error.pb").error
    assert "terminated" in document.message and document.kind == 1


def fast_command_on_s3(ep, tmp_path: Path, bucket: str) -> tuple[list[str], str, str]:
    """A fast-execute command whose archive, inputs and outputs are on S3; (command, archive URI, prefix)."""
    from flytelite import io

    archive, dest = f"s3://{bucket}/code/code.tar.gz", tmp_path / "dest"
    io.put_file(str(_code_archive(ep, tmp_path)), archive)
    prefix = f"s3://{bucket}/run"
    io.write_bytes(f"{prefix}/inputs.pb", encode_map({"x": 1}, {"x": int}).SerializeToString())
    command = _fast_command(ep, archive, dest)
    for option, value in (("--inputs", f"{prefix}/inputs.pb"), ("--output-prefix", f"{prefix}/out"), ("--raw-output-data-prefix", f"{prefix}/raw")):
        command[command.index(option) + 1] = value
    return command, archive, prefix


def test_the_archive_and_the_task_data_can_live_on_s3(ep, tmp_path, s3_bucket, s3_env):
    from flyteidl.core import literals_pb2

    from flytelite import io

    command, archive, prefix = fast_command_on_s3(ep, tmp_path, s3_bucket)
    result = ep.run(command, env=s3_env, cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    argv = literals_pb2.LiteralMap.FromString(io.read_bytes(f"{prefix}/out/outputs.pb")).literals["o0"].scalar.primitive.string_value
    assert f"--dynamic-addl-distro {archive}" in argv


def test_a_plain_tar_under_a_tar_gz_name_is_unpacked_too(ep, tmp_path):
    """flytectl may upload the code archive decompressed, keeping its .tar.gz name."""
    archive, dest = _code_archive(ep, tmp_path), tmp_path / "dest"
    plain = tmp_path / "uploaded.tar.gz"
    plain.write_bytes(gzip.decompress(archive.read_bytes()))
    assert plain.read_bytes()[257:262] == b"ustar"  # a tar header, no gzip magic
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    result = ep.run(_fast_command(ep, str(plain), dest), cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    assert (dest / "shipped" / "tasks.py").read_text() == TASK_SOURCE
