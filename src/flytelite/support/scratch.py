"""Private scratch folders, made without importing ``tempfile`` (it is not on the start-up path).

A folder made by :func:`make_private_directory` is locked (``flock``) by its process for as long as
that process, or a child it forked, lives. A folder whose lock can be taken was abandoned (its process
was killed, SIGKILL included): the next process to make a folder of the same kind removes it.
"""

from __future__ import annotations

import fcntl
import os
import re
import time

ATTEMPT_PREFIX = "flytelite-attempt-"
_held: dict[str, int] = {}  # path -> the descriptor holding its lock, open until the folder is removed


def _temp_base() -> str:
    return os.environ.get("TMPDIR") or "/tmp"


def make_working_directory() -> str:
    """A new private folder under ``TMPDIR`` (or ``/tmp``), kept after the process: it may hold outputs."""
    path = os.path.join(_temp_base(), f"flytelite-{os.getpid()}-{time.time_ns():x}")
    os.makedirs(path, mode=0o700)
    return path


def make_attempt_directory() -> str:
    """A new private folder under ``TMPDIR`` for one attempt, which removes it when done."""
    return make_private_directory(_temp_base(), ATTEMPT_PREFIX)


def make_private_directory(base: str, prefix: str) -> str:
    """A new folder ``<prefix><pid>-<hex>`` in ``base``, locked while this process lives.

    Abandoned folders of the same prefix in ``base`` are removed first.
    """
    remove_abandoned(base, prefix)
    path = os.path.join(base, f"{prefix}{os.getpid()}-{time.time_ns():x}")
    building = path + ".new"  # not a name remove_abandoned matches, until it is locked
    os.makedirs(building, mode=0o700)
    descriptor = os.open(building, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.rename(building, path)
    _held[path] = descriptor
    return path


def remove_private_directory(path: str) -> None:
    """Remove a folder of :func:`make_private_directory` and release its lock."""
    try:
        os.rmdir(path)  # the usual case, and no need to import shutil for it
    except OSError:
        import shutil

        shutil.rmtree(path, ignore_errors=True)
    descriptor = _held.pop(path, None)
    if descriptor is not None:
        os.close(descriptor)


def remove_abandoned(base: str, prefix: str) -> list[str]:
    """Remove the folders ``<prefix><pid>-<hex>`` in ``base`` whose process is gone; returns their paths."""
    pattern = re.compile(re.escape(prefix) + r"\d+-[0-9a-f]+")
    try:
        names = os.listdir(base)
    except OSError:
        return []
    return [path for path in (os.path.join(base, name) for name in names if pattern.fullmatch(name)) if _remove_if_unlocked(path)]


def _remove_if_unlocked(path: str) -> bool:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:  # gone already, or not a folder
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # its process, or a child of it, still lives
        os.close(descriptor)
        return False
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    os.close(descriptor)
    return True
