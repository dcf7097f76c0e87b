"""``flytelite fast-execute``: run a task from code shipped as an archive (fast registration).

The archive is fetched through ``flytelite.io`` and unpacked into the destination folder by
:mod:`.archive`, which checks every member first and leaves nothing behind on rejection. The inner
execute command then runs as a child with the folder on ``PYTHONPATH``; SIGTERM and SIGINT are
passed on to it and its exit status becomes ours. Until the child runs, this process owns the
attempt: a failure or a signal while fetching or unpacking ends in its error document, and so does
a child killed by a forwarded signal before it could write one.
"""

from __future__ import annotations

import os
import signal
import subprocess
from typing import Any

from .. import io
from ..support.exceptions import TerminatedError
from ..support.scratch import make_private_directory, remove_private_directory
from .archive import ArchiveRejected, unpack
from .signals import STOP_SIGNALS, terminate_on_sigterm


def inner_command(command: list[str], distribution: str, dest_dir: str) -> list[str]:
    """The execute command with ``--dynamic-addl-distro`` and ``--dynamic-dest-dir`` inserted."""
    extra = ["--dynamic-addl-distro", distribution, "--dynamic-dest-dir", dest_dir]
    for marker in ("--resolver", "--"):
        if marker in command:
            at = command.index(marker)
            return command[:at] + extra + command[at:]
    return command + extra


def run_child(command: list[str], env: dict[str, str]) -> int:
    """Run ``command``, passing SIGTERM and SIGINT on to it; returns its exit status (128+n for signal n).

    The forwarding is in place before the child exists: a signal that comes first is sent on as soon
    as it does.
    """
    children: list[subprocess.Popen[bytes]] = []
    pending: list[int] = []

    def forward(signum: int, frame: Any) -> None:
        if children:
            children[0].send_signal(signum)
        else:
            pending.append(signum)

    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    try:
        children.append(subprocess.Popen(command, env=env))
        for signum in pending:
            children[0].send_signal(signum)
        status = children[0].wait()
    finally:
        for sig in previous:  # the child's verdict (or ours, below) is final: a late signal adds none
            signal.signal(sig, signal.SIG_IGN)
    if -status in STOP_SIGNALS:  # killed before its own handler was in place: it wrote no verdict
        raise TerminatedError(signal.Signals(-status).name)
    return 128 - status if status < 0 else status


def fast_execute(distribution: str, dest_dir: str | None, command: list[str]) -> int:
    """Fetch and unpack ``distribution`` into ``dest_dir`` (the working directory when absent), then run ``command``."""
    if not command:
        raise ArchiveRejected("(none)", "cannot run: fast-execute needs the execute command after '--'")
    dest = os.path.abspath(dest_dir or os.getcwd())
    with terminate_on_sigterm():
        _fetch_and_unpack(distribution, dest)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (dest, env.get("PYTHONPATH", "")) if p)
        return run_child(inner_command(command, distribution, dest), env)


def _fetch_and_unpack(distribution: str, dest: str) -> None:
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    # A folder of its own: removing it also removes what a download given up on may still be writing.
    # A killed attempt's folder is removed by the next one unpacking beside the same destination.
    download_dir = make_private_directory(os.path.dirname(dest), ".flytelite-download-")
    try:
        download = io.get_file(distribution, os.path.join(download_dir, "archive.tar.gz"))
        unpack(download, dest)
    finally:
        remove_private_directory(download_dir)
    from ..support.logs import get_logger

    get_logger("flytelite.fast_execute").info("unpacked fast-registered code", distribution=distribution, dest_dir=dest)


def _option_value(command: list[str], name: str) -> str | None:
    for index, arg in enumerate(command):
        if arg == name and index + 1 < len(command):
            return command[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def run_fast_execute(distribution: str, dest_dir: str | None, command: list[str]) -> int:
    """:func:`fast_execute`, recording a failure (or a signal) before the child runs in the attempt's error document."""
    from ..support.log_routing import route_stdlib_logging

    route_stdlib_logging()  # the storage layer's progress lines while the archive downloads
    try:
        return fast_execute(distribution, dest_dir, command)
    except (Exception, TerminatedError) as exc:  # the attempt's verdict must be written
        from .settings import AttemptSettings
        from .verdict import fail

        output_prefix = _option_value(command, "--output-prefix")
        if isinstance(exc, ArchiveRejected):
            exc = rejected_archive_error(distribution, exc)
        if output_prefix is None:
            raise
        return fail(output_prefix, exc, AttemptSettings.from_environ(os.environ))[1]


def rejected_archive_error(distribution: str, exc: ArchiveRejected) -> Exception:
    """The USER error an attempt records for a code archive that breaks a rule."""
    from ..support.exceptions import TaskError

    summary = f"the code archive {distribution} was rejected as unsafe or unusable: {exc}"
    return TaskError(summary, f"archive member: {exc.member}\nrule: {exc.rule}", origin="USER")
