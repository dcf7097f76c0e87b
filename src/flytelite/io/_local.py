"""The local filesystem backend: plain paths and ``file://`` URIs.

Writes go to a temporary sibling first and are renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from ._errors import StorageError


def _path(uri: str) -> str:
    return uri[len("file://") :] if uri.startswith("file://") else uri


def _permanent(uri: str, exc: OSError) -> StorageError:
    reason = exc.strerror or type(exc).__name__
    return StorageError(f"{reason}: {uri}", uri, transient=False)


def _atomic_write(path: str, write) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # A unique sibling, renamed into place once complete (tempfile is not imported: start-up time).
    tmp = os.path.join(directory, f".flytelite-{os.urandom(8).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


class LocalStore:
    def read_bytes(self, uri: str) -> bytes:
        try:
            with open(_path(uri), "rb") as f:
                return f.read()
        except OSError as exc:
            raise _permanent(uri, exc) from exc

    def write_bytes(self, uri: str, data: bytes, content_type: str | None) -> None:
        try:
            _atomic_write(_path(uri), lambda out: out.write(data))
        except OSError as exc:
            raise _permanent(uri, exc) from exc

    def get_file(self, uri: str, local_path: str) -> None:
        self.put_file(_path(uri), local_path, None)

    def put_file(self, local_path: str, uri: str, content_type: str | None) -> None:
        target = _path(uri)
        if os.path.abspath(local_path) == os.path.abspath(target):
            return
        import shutil  # lazily: its compression imports cost start-up time

        try:
            with open(local_path, "rb") as src:
                _atomic_write(target, lambda out: shutil.copyfileobj(src, out, 1 << 20))
        except OSError as exc:
            raise _permanent(uri if exc.filename != local_path else local_path, exc) from exc

    def get_dir(self, uri: str, local_dir: str) -> None:
        self.put_dir(_path(uri), local_dir)

    def put_dir(self, local_dir: str, uri: str) -> None:
        target = _path(uri)
        if os.path.abspath(local_dir) == os.path.abspath(target):
            return
        if not os.path.isdir(local_dir):
            raise StorageError(f"not a folder: {local_dir}", local_dir, transient=False)
        import shutil

        try:
            shutil.copytree(local_dir, target, dirs_exist_ok=True)
        except (OSError, shutil.Error) as exc:
            raise StorageError(f"could not copy folder {local_dir} to {uri}: {exc}", uri, transient=False) from exc

    def exists(self, uri: str) -> bool:
        return os.path.exists(_path(uri))

    def names_under(self, uri: str) -> list[str]:
        folder = _path(uri)
        try:
            return sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise _permanent(uri, exc) from exc

    def open_read(self, uri: str) -> BinaryIO:
        try:
            return open(_path(uri), "rb")
        except OSError as exc:
            raise _permanent(uri, exc) from exc
