"""Fast-registered code for the daemon's workers: each distinct archive fetched once and unpacked once.

Entries are keyed by content (the sha256 of the downloaded archive); a URI seen before maps to its
entry without a download. An archive is unpacked with ``execute``'s checks (:mod:`..archive`) into a
folder of its own, published by a rename, so a worker never imports from a half-unpacked tree. The
unpacked sizes are kept under a bound: the least recently used entries that no worker holds go first.
An entry every worker holds stays, even past the bound (its workers import from it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time

from ... import io
from ...support.logs import get_logger
from ...support.scratch import make_private_directory, remove_private_directory
from ..archive import unpack

log = get_logger("flytelite.serve")

_HASH_CHUNK = 1 << 20


class CodeVersion:
    """One unpacked archive: its digest, its folder, how many workers hold it, when it was last used."""

    def __init__(self, digest: str, path: str, size: int) -> None:
        self.digest, self.path, self.size = digest, path, size
        self.holders = 0
        self.last_used = time.monotonic()

    def __repr__(self) -> str:
        return f"CodeVersion({self.digest[:12]})"


class CodeCache:
    """Unpacked code archives in a private folder under ``base`` (made when first needed), at most ``max_bytes`` of them when idle."""

    def __init__(self, base: str, max_bytes: int) -> None:
        self.base, self.root = base, ""
        self.max_bytes = max_bytes
        self.lock = threading.Lock()
        self.versions: dict[str, CodeVersion] = {}  # digest -> entry
        self.digest_of: dict[str, str] = {}  # archive URI -> digest
        self._fetching: dict[str, threading.Lock] = {}  # archive URI -> held while it is fetched

    def acquire(self, uri: str) -> CodeVersion:
        """The unpacked code of ``uri``, held for the caller until :meth:`release`; fetched and unpacked if new.

        Raises what fetching raises (a storage error) or :class:`~..archive.ArchiveRejected`.
        """
        with self.lock:
            held = self._hold_known(uri)
            if held is not None:
                return held
            fetching = self._fetching.setdefault(uri, threading.Lock())
        with fetching:  # one download per URI: a second request for it waits for the first
            with self.lock:
                held = self._hold_known(uri)
            if held is not None:
                return held
            return self._fetch(uri)

    def release(self, version: CodeVersion) -> None:
        with self.lock:
            version.holders -= 1
            version.last_used = time.monotonic()
            self._evict()

    def close(self) -> None:
        if self.root:
            remove_private_directory(self.root)

    def _made_root(self) -> str:
        with self.lock:
            if not self.root:
                os.makedirs(self.base, exist_ok=True)
                self.root = make_private_directory(self.base, "flytelite-code-")
            return self.root

    def _hold_known(self, uri: str) -> CodeVersion | None:
        version = self.versions.get(self.digest_of.get(uri, ""))
        if version is not None:
            version.holders += 1
            version.last_used = time.monotonic()
        return version

    def _fetch(self, uri: str) -> CodeVersion:
        download_dir = os.path.join(self._made_root(), f".download-{os.urandom(8).hex()}")
        os.mkdir(download_dir, 0o700)
        try:
            archive = io.get_file(uri, os.path.join(download_dir, "archive"))
            digest = _sha256(archive)
            with self.lock:
                self.digest_of[uri] = digest
                held = self._hold_known(uri)  # the same content under another URI
            if held is not None:
                return held
            partial = os.path.join(download_dir, "code")
            unpack(archive, partial)
            version = CodeVersion(digest, os.path.join(self.root, digest), _tree_size(partial))
            with self.lock:
                held = self._hold_known(uri)  # unpacked meanwhile from another URI of the same content
                if held is not None:
                    return held
                os.rename(partial, version.path)
                version.holders = 1
                self.versions[digest] = version
                self._evict()
        finally:
            shutil.rmtree(download_dir, ignore_errors=True)
        log.info("unpacked fast-registered code", distribution=uri, digest=digest, bytes=version.size)
        return version

    def _evict(self) -> None:
        """Remove least recently used entries no worker holds until the total fits the bound (under the lock)."""
        total = sum(version.size for version in self.versions.values())
        for version in sorted(self.versions.values(), key=lambda v: v.last_used):
            if total <= self.max_bytes:
                return
            if version.holders > 0:
                continue
            del self.versions[version.digest]
            for uri in [uri for uri, digest in self.digest_of.items() if digest == version.digest]:
                del self.digest_of[uri]
            shutil.rmtree(version.path, ignore_errors=True)
            total -= version.size
            log.info("evicted fast-registered code from the cache", digest=version.digest, bytes=version.size)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as archive:
        while chunk := archive.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _tree_size(path: str) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += os.lstat(os.path.join(folder, name)).st_size
    return total
