"""``flytelite package``: the code archive that fast-execute unpacks, built reproducibly.

Members are sorted, timestamps, owners and permissions fixed, and the gzip header carries no time
or name, so the same code always gives the same bytes (and the same digest). Version-control
folders, caches, virtual environments and what ``.gitignore`` lists are left out.
"""

from __future__ import annotations

import fnmatch
import gzip
import io as std_io
import os
import tarfile

from .. import io

_ALWAYS_IGNORED = (".git", "__pycache__", "*.pyc", ".venv", "venv", ".mypy_cache", ".pytest_cache", "*.egg-info")


def _gitignore_patterns(root: str) -> list[str]:
    path = os.path.join(root, ".gitignore")
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        lines = (line.strip() for line in f)
        return [line for line in lines if line and not line.startswith(("#", "!"))]


def _ignored(relative: str, is_dir: bool, patterns: list[str]) -> bool:
    """Whether a path matches a .gitignore-style pattern (``dir/`` for folders, ``/x`` anchored)."""
    name = os.path.basename(relative)
    for raw in patterns:
        if raw.endswith("/") and not is_dir:
            continue
        pattern = raw.strip("/")
        subject = relative if "/" in raw.rstrip("/") else name
        if fnmatch.fnmatch(subject, pattern):
            return True
    return False


def _is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def collect_files(root: str) -> list[str]:
    """Paths (relative to ``root``) of the files to package, sorted."""
    patterns = list(_ALWAYS_IGNORED) + _gitignore_patterns(root)
    found = []
    for folder, dirs, files in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        kept_dirs = []
        for d in dirs:
            rel = os.path.normpath(os.path.join(rel_folder, d))
            if not (_ignored(rel, True, patterns) or _is_virtualenv(os.path.join(folder, d))):
                kept_dirs.append(d)
        dirs[:] = kept_dirs
        for f in files:
            rel = os.path.normpath(os.path.join(rel_folder, f))
            if not _ignored(rel, False, patterns) and not os.path.islink(os.path.join(folder, f)):
                found.append(rel)
    return sorted(found)


def _tar_info(root: str, relative: str) -> tarfile.TarInfo:
    path = os.path.join(root, relative)
    info = tarfile.TarInfo(relative)
    info.size = os.path.getsize(path)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if os.access(path, os.X_OK) else 0o644
    return info


def archive_bytes(root: str) -> bytes:
    """The reproducible ``.tar.gz`` of ``root``."""
    buffer = std_io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for relative in collect_files(root):
            with open(os.path.join(root, relative), "rb") as f:
                archive.addfile(_tar_info(root, relative), f)
    return gzip.compress(buffer.getvalue(), mtime=0)


def build_archive(root: str, output: str) -> str:
    """Write a reproducible ``.tar.gz`` of ``root`` to ``output``; returns its sha256."""
    import hashlib

    data = archive_bytes(root)
    io.write_bytes(output, data)
    return hashlib.sha256(data).hexdigest()
