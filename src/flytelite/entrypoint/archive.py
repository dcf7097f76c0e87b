"""Unpacking an untrusted code archive (fast registration) into a folder.

The checks are our own and do not lean on ``tarfile``'s extraction filters (absent before Python
3.10.12 / 3.11.4, and bypassed in some later releases by chains of links). Two passes:

1. Every header is read and checked against the folder as it will be once everything is unpacked
   (the archive's own members first, then what already lies in the folder), before anything is
   written: plain relative names of a bounded length, no ``..``; files, folders and links only;
   nothing written through a link; a symbolic link's target, followed through every link it meets
   (loops refused), stays inside the folder; a hard link names an earlier file of the archive; the
   member count and the declared total size stay under ``FLYTELITE_ARCHIVE_MAX_MEMBERS`` and
   ``FLYTELITE_ARCHIVE_MAX_MB``. A size is refused at its header, before its data is decompressed.
2. Members are written by our code (``O_NOFOLLOW``, links created, never followed); whatever fails
   or interrupts this pass (a full disk, SIGTERM) removes what the pass had created.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from typing import Callable

from ..io import FlyteliteError
from ..support.records import Record
from .settings import ARCHIVE_MAX_MB, ARCHIVE_MAX_MEMBERS

MAX_COMPONENT_BYTES = 255
MAX_PATH_BYTES = 4095
MAX_LINK_HOPS = 40
_COPY_CHUNK = 1 << 20


class ArchiveRejected(FlyteliteError):
    """An archive member breaks a rule; the message names the member and the rule."""

    def __init__(self, member: str, rule: str) -> None:
        super().__init__(f"archive member {member!r} {rule}")
        self.member, self.rule = member, rule


class Limits(Record):
    """How much an archive may unpack to."""

    __slots__ = ("max_bytes", "max_members")

    def __init__(self, max_bytes: int, max_members: int) -> None:
        self.max_bytes, self.max_members = max_bytes, max_members

    @classmethod
    def from_env(cls) -> Limits:
        env = os.environ
        max_mb = int(env.get(ARCHIVE_MAX_MB.name, ARCHIVE_MAX_MB.default))
        return cls(max_mb << 20, int(env.get(ARCHIVE_MAX_MEMBERS.name, ARCHIVE_MAX_MEMBERS.default)))


DIR, FILE, LINK = "dir", "file", "link"


class _Plan:
    """The destination folder as it will be after unpacking: the archive's entries over the disk."""

    def __init__(self, dest: str) -> None:
        self.dest = dest
        self.entries: dict[str, tuple[str, str]] = {}  # relative path -> (kind, symlink target)

    def kind(self, relative: str) -> tuple[str, str] | None:
        """The kind of ``relative`` (and a link's target) after unpacking; ``None`` when absent."""
        if relative in self.entries:
            return self.entries[relative]
        path = os.path.join(self.dest, relative)
        try:
            if os.path.islink(path):
                return LINK, os.readlink(path)
            if os.path.isdir(path):
                return DIR, ""
            return (FILE, "") if os.path.lexists(path) else None
        except OSError:
            return None

    def add(self, name: str, relative: str, kind: str, target: str = "") -> None:
        self._check_parents(name, relative)
        existing = self.kind(relative)
        if existing is not None and not self._may_replace(relative, existing[0], kind):
            raise ArchiveRejected(name, f"would replace a {existing[0]} of the same name with a {kind}")
        self.entries[relative] = (kind, target)

    def _may_replace(self, relative: str, existing: str, kind: str) -> bool:
        if existing == DIR or kind == DIR:  # a folder may be named again, never swapped for something else
            return existing == kind
        # a file or link already on disk is replaced; inside the archive, a file may repeat (tar --append)
        return relative not in self.entries or existing == kind == FILE

    def _check_parents(self, name: str, relative: str) -> None:
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            found = self.kind(parent)
            if found is None:
                self.entries[parent] = (DIR, "")
            elif found[0] == LINK:
                raise ArchiveRejected(name, f"would be written through the link {parent!r}")
            elif found[0] != DIR:
                raise ArchiveRejected(name, f"would be written inside the file {parent!r}")

    def resolve_link(self, name: str, relative: str, target: str) -> None:
        """Follow ``target`` from the link's folder through every link it meets; it must stay inside."""
        where = relative.split("/")[:-1]
        pending = target.split("/")[::-1]
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if not where:
                    raise ArchiveRejected(name, f"is a link to {target!r}, which leads outside the destination")
                where.pop()
                continue
            found = self.kind("/".join(where + [part]))
            if found is not None and found[0] == LINK:
                hops += 1
                if hops > MAX_LINK_HOPS:
                    raise ArchiveRejected(name, f"is a link to {target!r} that never resolves (a link loop)")
                if found[1].startswith("/"):
                    raise ArchiveRejected(name, f"is a link to {target!r}, which passes through a link to an absolute path")
                pending.extend(found[1].split("/")[::-1])
            else:
                where.append(part)


def _relative_name(member: tarfile.TarInfo, dest: str) -> str:
    """The member's normalized path inside ``dest``; raises for names that cannot be unpacked there."""
    name = member.name
    if not name or "\0" in name:
        raise ArchiveRejected(name, "has an empty or NUL-containing name")
    if os.path.isabs(name) or name.startswith(("/", "\\")):
        raise ArchiveRejected(name, "has an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts or ".." in name.replace("\\", "/").split("/"):
        raise ArchiveRejected(name, "leads outside the destination with '..'")
    if not parts:
        raise ArchiveRejected(name, "names the destination itself")
    if any(len(p.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES for p in parts):
        raise ArchiveRejected(name, f"has a path component longer than {MAX_COMPONENT_BYTES} bytes")
    relative = "/".join(parts)
    if len(os.path.join(dest, relative).encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
        raise ArchiveRejected(name, f"would have a path longer than {MAX_PATH_BYTES} bytes")
    return relative


def _plan_member(plan: _Plan, member: tarfile.TarInfo, relative: str) -> None:
    name = member.name
    if member.isdir():
        plan.add(name, relative, DIR)
    elif member.isreg():
        plan.add(name, relative, FILE)
    elif member.issym():
        if os.path.isabs(member.linkname) or member.linkname.startswith("\\"):
            raise ArchiveRejected(name, f"is a link to the absolute path {member.linkname!r}")
        plan.add(name, relative, LINK, member.linkname)
    elif member.islnk():
        linked = _hard_link_target(member, plan.dest)
        if plan.entries.get(linked, ("",))[0] != FILE:
            raise ArchiveRejected(name, f"is a hard link to {member.linkname!r}, which is not an earlier file of the archive")
        plan.add(name, relative, FILE)
    else:
        raise ArchiveRejected(name, "is a device, fifo or other special file")


def _hard_link_target(member: tarfile.TarInfo, dest: str) -> str:
    try:
        return _relative_name(tarfile.TarInfo(member.linkname), dest)
    except ArchiveRejected as exc:
        raise ArchiveRejected(member.name, f"is a hard link to {member.linkname!r}, which {exc.rule}") from None


def check_archive(archive: tarfile.TarFile, dest: str, limits: Limits) -> list[tuple[tarfile.TarInfo, str]]:
    """Check every member (reading headers only); returns (member, relative path) in archive order."""
    plan, members, total = _Plan(dest), [], 0
    for member in archive:
        if len(members) >= limits.max_members:
            raise ArchiveRejected(member.name, f"is past the limit of {limits.max_members} members ({ARCHIVE_MAX_MEMBERS.name})")
        relative = _relative_name(member, dest)
        total += member.size if member.isreg() else 0
        if total > limits.max_bytes:
            limit_mb = limits.max_bytes >> 20
            raise ArchiveRejected(member.name, f"takes the unpacked size past the limit of {limit_mb} MiB ({ARCHIVE_MAX_MB.name})")
        _plan_member(plan, member, relative)
        members.append((member, relative))
    for member, relative in members:
        if member.issym():
            plan.resolve_link(member.name, relative, member.linkname)
    return members


class _Undo:
    """What the extraction created, removed again (newest first) when it does not finish.

    A path is recorded before it is created: a signal between the two must not leave it unrecorded.
    """

    def __init__(self) -> None:
        self.created: list[tuple[str, bool]] = []  # (path, is a folder)

    def mkdir(self, path: str) -> None:
        if os.path.isdir(path):
            return
        self.created.append((path, True))
        try:
            os.mkdir(path, 0o755)
        except OSError:
            self.created.pop()  # not ours: it must not be removed on roll-back
            raise

    def will_make(self, path: str) -> None:
        self.created.append((path, False))

    def roll_back(self) -> None:
        for path, is_folder in reversed(self.created):
            try:
                os.rmdir(path) if is_folder else os.unlink(path)
            except OSError:
                pass  # a folder the task's code also wrote to, say: leave it


def _make_dirs(path: str, undo: _Undo) -> None:
    missing = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        undo.mkdir(folder)


def _replace(path: str) -> None:
    """Remove a file or link that a member overwrites (never a folder, never through a link)."""
    if os.path.lexists(path) and not (os.path.isdir(path) and not os.path.islink(path)):
        os.unlink(path)


def _write_file(archive: tarfile.TarFile, member: tarfile.TarInfo, path: str, undo: _Undo) -> None:
    source = archive.extractfile(member)
    assert source is not None  # a regular member always has data
    _replace(path)
    mode = 0o755 if member.mode & 0o100 else 0o644
    undo.will_make(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as out, source:
        while chunk := source.read(_COPY_CHUNK):
            out.write(chunk)
    os.utime(path, (member.mtime, member.mtime), follow_symlinks=False)


def _extract(archive: tarfile.TarFile, members: list[tuple[tarfile.TarInfo, str]], dest: str, undo: _Undo) -> None:
    for member, relative in members:
        try:
            _extract_member(archive, member, os.path.join(dest, relative), dest, undo)
        except OSError as exc:
            raise ArchiveRejected(member.name, f"could not be unpacked: {exc.strerror or exc}") from exc


def _extract_member(archive: tarfile.TarFile, member: tarfile.TarInfo, path: str, dest: str, undo: _Undo) -> None:
    _make_dirs(os.path.dirname(path), undo)
    if member.isdir():
        undo.mkdir(path)
    elif member.isreg():
        _write_file(archive, member, path, undo)
    elif member.issym():
        _replace(path)
        undo.will_make(path)
        os.symlink(member.linkname, path)
    else:  # a hard link to an earlier file, checked above
        _replace(path)
        undo.will_make(path)
        os.link(os.path.join(dest, _hard_link_target(member, dest)), path, follow_symlinks=False)


def unpack(archive_path: str, dest: str, limits: Limits | None = None) -> None:
    """Unpack ``archive_path`` (a tar, compressed or not) into ``dest``; on any failure nothing stays."""
    dest = os.path.realpath(dest)
    limits = limits or Limits.from_env()
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = check_archive(archive, dest, limits)
            _guarded(lambda undo: (_make_dirs(dest, undo), _extract(archive, members, dest, undo)))
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveRejected("(the archive)", f"cannot be read as a tar archive: {exc}") from exc


def _guarded(work: Callable[[_Undo], object]) -> None:
    undo = _Undo()
    try:
        work(undo)
    except BaseException:  # SIGTERM (TerminatedError) included: a half-unpacked folder must not stay
        undo.roll_back()
        raise
