"""``flytelite fast-execute``: run a task from code shipped as an archive (fast registration).

The archive is fetched through ``flytelite.io`` and unpacked into the destination folder, the one
place a hostile archive could write outside its folder: every member is checked before anything is
written (no absolute paths, no ``..``, no links leading outside, no device files), so a rejected
archive leaves nothing behind. The inner execute command then runs as a child with the folder on
``PYTHONPATH``; SIGTERM and SIGINT are passed on to it and its exit status becomes ours.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tarfile
from typing import Any

from .. import io


class UnsafeArchiveError(Exception):
    """An archive member would land outside the destination folder, or is not a plain file."""


def _inside(folder: str, path: str) -> bool:
    return os.path.commonpath([folder, path]) == folder


def check_member(member: tarfile.TarInfo, dest: str) -> None:
    """Raise :class:`UnsafeArchiveError` for a member that may not be unpacked into ``dest``."""
    name = member.name
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        raise UnsafeArchiveError(f"archive member {name!r} has an absolute path")
    if ".." in name.replace("\\", "/").split("/"):
        raise UnsafeArchiveError(f"archive member {name!r} leads outside the destination with '..'")
    target = os.path.realpath(os.path.join(dest, name))
    if not _inside(dest, target):
        raise UnsafeArchiveError(f"archive member {name!r} would be written outside {dest}")
    if member.issym():
        link = os.path.realpath(os.path.join(os.path.dirname(target), member.linkname))
        if os.path.isabs(member.linkname) or not _inside(dest, link):
            raise UnsafeArchiveError(f"archive member {name!r} is a link to {member.linkname!r}, outside the destination")
    elif member.islnk():
        link = os.path.realpath(os.path.join(dest, member.linkname))
        if os.path.isabs(member.linkname) or not _inside(dest, link):
            raise UnsafeArchiveError(f"archive member {name!r} is a hard link to {member.linkname!r}, outside the destination")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"archive member {name!r} is a device, fifo or other special file")


def unpack_safely(archive_path: str, dest: str) -> None:
    """Unpack a .tar.gz into ``dest`` after checking every member; nothing is written on rejection."""
    dest = os.path.realpath(dest)
    with tarfile.open(archive_path, "r:*") as archive:
        members = archive.getmembers()
        for member in members:
            check_member(member, dest)
        os.makedirs(dest, exist_ok=True)
        if hasattr(tarfile, "data_filter"):
            archive.extractall(dest, members=members, filter="data")
        else:  # Python without extraction filters: the members were checked above
            archive.extractall(dest, members=members)


def inner_command(command: list[str], distribution: str, dest_dir: str) -> list[str]:
    """The execute command with ``--dynamic-addl-distro`` and ``--dynamic-dest-dir`` inserted."""
    extra = ["--dynamic-addl-distro", distribution, "--dynamic-dest-dir", dest_dir]
    for marker in ("--resolver", "--"):
        if marker in command:
            at = command.index(marker)
            return command[:at] + extra + command[at:]
    return command + extra


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command``, passing SIGTERM and SIGINT on to it; returns its exit status (128+n for signal n)."""
    child = subprocess.Popen(command, env=env)

    def forward(signum: int, frame: Any) -> None:
        child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        status = child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - status if status < 0 else status


def fast_execute(distribution: str, dest_dir: str | None, command: list[str]) -> int:
    """Fetch and unpack ``distribution`` into ``dest_dir`` (the working directory when absent), then run ``command``."""
    from ..support.logs import get_logger

    log = get_logger("flytelite.fast_execute")
    if not command:
        raise UnsafeArchiveError("fast-execute needs the execute command after '--'")
    dest = os.path.abspath(dest_dir or os.getcwd())
    download = os.path.join(os.path.dirname(dest), f".flytelite-{os.urandom(8).hex()}.tar.gz")
    try:
        io.get_file(distribution, download)
        unpack_safely(download, dest)
    finally:
        if os.path.exists(download):
            os.unlink(download)
    log.info("unpacked fast-registered code", distribution=distribution, dest_dir=dest)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (dest, env.get("PYTHONPATH", "")) if p)
    return run_child(inner_command(command, distribution, dest), env)


def _option_value(command: list[str], name: str) -> str | None:
    for index, arg in enumerate(command):
        if arg == name and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def run_fast_execute(distribution: str, dest_dir: str | None, command: list[str]) -> int:
    """:func:`fast_execute`, recording a failure to fetch or unpack in the attempt's error document."""
    try:
        return fast_execute(distribution, dest_dir, command)
    except Exception as exc:  # noqa: BLE001 - the attempt's verdict must be written
        from ..support.exceptions import TaskError
        from .pipeline import fail_before_attempt

        output_prefix = _option_value(command, "--output-prefix")
        if isinstance(exc, UnsafeArchiveError):
            exc = TaskError(f"the code archive {distribution} is unsafe: {exc}", origin="USER")
        if output_prefix is None:
            raise
        return fail_before_attempt(output_prefix, exc, os.environ)
