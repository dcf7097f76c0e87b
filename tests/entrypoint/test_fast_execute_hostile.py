"""fast-execute against hostile archives and signals: our own checks, limits, clean rejection."""

from __future__ import annotations

import gzip
import io
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest
from hanging_server import HangingServer, terminate_while_hanging
from .test_fast_execute import _code_archive, _fast_command, _files_besides_the_run

from flytelite.types import encode_map

USER, SYSTEM = 1, 2


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, 0o755 if kind == tarfile.DIRTYPE else 0o644
    return info


def _link_chain() -> list[tuple[tarfile.TarInfo, bytes]]:
    """Each link checked alone stays inside; together they lead to the destination's parent."""
    return [
        (_info("here", tarfile.SYMTYPE, "."), b""),
        (_info("up", tarfile.SYMTYPE, "here/.."), b""),
    ]


def _cve_2025_4517() -> list[tuple[tarfile.TarInfo, bytes]]:
    """The long-path link chain that defeats os.path.realpath in tarfile's data filter (CVE-2025-4517)."""
    component, steps, path, members = "d" * 247, "abcdefghijklmnop", "", []
    for step in steps:
        members.append((_info(os.path.join(path, component), tarfile.DIRTYPE), b""))
        members.append((_info(os.path.join(path, step), tarfile.SYMTYPE, component), b""))
        path = os.path.join(path, component)
    link_path = os.path.join(*steps, "l" * 254)
    members.append((_info(link_path, tarfile.SYMTYPE, os.path.join(*[".."] * len(steps))), b""))
    members.append((_info("escape", tarfile.SYMTYPE, link_path + "/.."), b""))
    members.append((_info("escape/escaped.py"), b"print('outside')\n"))
    return members


def _loop() -> list[tuple[tarfile.TarInfo, bytes]]:
    return [(_info("loop_a", tarfile.SYMTYPE, "loop_b"), b""), (_info("loop_b", tarfile.SYMTYPE, "loop_a"), b"")]


HOSTILE = {
    "link-chain": (_link_chain, "'up'", "leads outside the destination"),
    "cve-2025-4517": (_cve_2025_4517, "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/lll", "through the link 'a'"),
    "long-name": (lambda: [(_info("x" * 300 + ".py"), b"#\n")], "x" * 300, "longer than 255 bytes"),
    "link-loop": (_loop, "loop_", "link loop"),
    "write-through-a-link": (lambda: [(_info("lib", tarfile.SYMTYPE, "."), b""), (_info("lib/x.py"), b"#\n")], "lib/x.py", "through the link"),
}


def _prepare(ep, tmp_path: Path) -> tuple[Path, list[str]]:
    """The destination (its parent made), the inputs written, and what lies around before the run."""
    dest = tmp_path / "work" / "dest"
    dest.parent.mkdir(exist_ok=True)
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    return dest, _files_besides_the_run(tmp_path, ep)


def _assert_rejected_cleanly(ep, tmp_path: Path, archive: Path, member: str, rule: str, env: dict[str, str] | None = None) -> None:
    dest, before = _prepare(ep, tmp_path)
    result = ep.run(_fast_command(ep, str(archive), dest), cwd=tmp_path, env=env, timeout=60)
    error = result.error()
    assert error.origin == USER and error.kind == 0, result.describe()
    assert member in error.message and rule in error.message, error.message
    assert _files_besides_the_run(tmp_path, ep) == before, "something was left behind"


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_user_errors_naming_member_and_rule_and_leave_nothing(ep, tmp_path, case):
    """Items 2 and 7: links resolved as they will be after extraction, by our own checks."""
    make, member, rule = HOSTILE[case]
    archive = _tar(tmp_path / "hostile.tar.gz", make())
    _assert_rejected_cleanly(ep, tmp_path, archive, member, rule)
    assert not (tmp_path / "work" / "escaped.py").exists() and not (tmp_path / "escaped.py").exists()


def _gzip_bomb(path: Path, declared: int) -> Path:
    """A .tar.gz of some MB whose one member unpacks to ``declared`` bytes of zeros (gzip members concatenated)."""
    info = tarfile.TarInfo("zeros.bin")
    info.size = declared
    block = gzip.compress(b"\0" * (16 << 20), compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(info.tobuf(tarfile.PAX_FORMAT)))
        for _ in range(declared // (16 << 20)):
            out.write(block)
        tail = declared % (16 << 20)
        padding = (512 - declared % 512) % 512
        out.write(gzip.compress(b"\0" * (tail + padding + 1024)))
    return path


def test_an_archive_that_unpacks_past_the_size_limit_is_refused_at_its_header(ep, tmp_path):
    """Item 7: a few MB that unpack to 10 GiB; refused before any of it is decompressed or written."""
    archive = _gzip_bomb(tmp_path / "bomb.tar.gz", 10 << 30)
    assert archive.stat().st_size < 20 << 20
    started = time.monotonic()
    _assert_rejected_cleanly(ep, tmp_path, archive, "zeros.bin", "limit of 1024 MiB (FLYTELITE_ARCHIVE_MAX_MB)")
    assert time.monotonic() - started < 20


def test_an_archive_with_too_many_members_is_refused(ep, tmp_path):
    """Item 7: more members than the limit (100,000 by default)."""
    path = tmp_path / "many.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for index in range(100_001):
            archive.addfile(tarfile.TarInfo(f"m/{index}.py"), io.BytesIO(b""))
    _assert_rejected_cleanly(ep, tmp_path, path, "m/100000.py", "limit of 100000 members")


def test_the_limits_are_configurable(ep, tmp_path):
    archive = _tar(tmp_path / "small.tar.gz", [(_info(f"f{i}.py"), b"#" * 1000) for i in range(5)])
    _assert_rejected_cleanly(ep, tmp_path, archive, "f4.py", "limit of 4 members", env={"FLYTELITE_ARCHIVE_MAX_MEMBERS": "4"})


def _wait_for(condition, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"exited early: {proc.returncode}"
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)


def test_sigterm_during_the_unpacking_gives_the_document_and_leaves_nothing(ep, tmp_path):
    """Item 3: exit 143, no document and a half-unpacked folder, the temporary archive left."""
    path = tmp_path / "big.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        for index in range(40_000):
            data = os.urandom(512)
            info = tarfile.TarInfo(f"pkg{index % 50}/m{index}.py")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    dest, before = _prepare(ep, tmp_path)
    proc = subprocess.Popen(_fast_command(ep, str(path), dest), cwd=tmp_path, env=_env(ep), stderr=subprocess.PIPE, text=True)
    _wait_for(lambda: (dest / "pkg3").exists(), proc)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 143, stderr
    error = ep.read_error_document(ep.out / "error.pb").error
    assert error.origin == SYSTEM and error.kind == 1 and "SIGTERM" in error.message
    assert _files_besides_the_run(tmp_path, ep) == before


def _env(ep, extra: dict[str, str] | None = None) -> dict[str, str]:
    from .conftest import clean_env  # noqa: PLC0415 - the helpers of this folder

    return clean_env(ep.tmp_path, extra)


def test_sigterm_during_a_hanging_download_gives_the_document_within_seconds(ep, tmp_path):
    """Items 3 and 4: the archive's endpoint accepts and never answers; SIGTERM must still end the attempt."""
    server = HangingServer()
    try:
        env = _env(ep, {"AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1"})
        dest, before = _prepare(ep, tmp_path)
        proc = subprocess.Popen(_fast_command(ep, "s3://code/archive.tar.gz", dest), cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        terminate_while_hanging(server, proc)
        assert "SIGTERM" in ep.read_error_document(ep.out / "error.pb").error.message
        assert _files_besides_the_run(tmp_path, ep) == before
    finally:
        server.close()


def test_a_group_sigterm_right_after_the_child_starts_still_leaves_a_document(ep, tmp_path):
    """Item 1 through fast-execute: the parent and the child both get SIGTERM, the parent forwards another."""
    archive = _code_archive(ep, tmp_path)
    ep.write_inputs(encode_map({"x": 1}, {"x": int}))
    for run, delay in enumerate((0.0, 0.05, 0.15, 0.3)):
        ep.out, dest = tmp_path / f"out{run}", tmp_path / f"dest{run}"
        command = _fast_command(ep, str(archive), dest, "sleeper")
        proc = subprocess.Popen(command, cwd=tmp_path, env=_env(ep), stderr=subprocess.PIPE, text=True, start_new_session=True)
        _wait_for(lambda: (dest / "shipped").exists(), proc)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 143, (delay, stderr)
        assert sorted(p.name for p in ep.out.iterdir()) == ["error.pb"], (delay, stderr)
