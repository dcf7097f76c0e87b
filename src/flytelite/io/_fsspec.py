"""Any other scheme, through fsspec when it is installed and knows the protocol (imported lazily)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, BinaryIO, TypeVar

from ._errors import StorageError

T = TypeVar("T")

_TRANSIENT = (ConnectionError, TimeoutError)


def unknown_scheme(scheme: str, uri: str, reason: str = "") -> StorageError:
    message = (
        f"unknown scheme '{scheme}' in {uri}: supported are local paths, file://, s3://, gs://, abfs://, az://, "
        "or any fsspec protocol you install"
    )
    return StorageError(message + (f" ({reason})" if reason else ""), uri, transient=False)


def _error(exc: Exception, uri: str) -> StorageError:
    if isinstance(exc, FileNotFoundError):
        return StorageError(f"not found: {uri}", uri, transient=False)
    return StorageError(f"{type(exc).__name__} accessing {uri}: {exc}", uri, transient=isinstance(exc, _TRANSIENT))


class FsspecStore:
    """The ``Store`` for one fsspec protocol."""

    def __init__(self, filesystem: Any) -> None:
        self._fs = filesystem

    def _call(self, uri: str, operation: Callable[[], T]) -> T:
        try:
            return operation()
        except StorageError:
            raise
        except Exception as exc:  # fsspec implementations raise OSError subclasses or their own errors
            raise _error(exc, uri) from exc

    def read_bytes(self, uri: str) -> bytes:
        return self._call(uri, lambda: self._fs.cat_file(uri))

    def write_bytes(self, uri: str, data: bytes, content_type: str | None) -> None:
        self._call(uri, lambda: self._fs.pipe_file(uri, data))

    def get_file(self, uri: str, local_path: str) -> None:
        self._call(uri, lambda: self._fs.get_file(uri, local_path))

    def put_file(self, local_path: str, uri: str, content_type: str | None) -> None:
        self._call(uri, lambda: self._fs.put_file(local_path, uri))

    def get_dir(self, uri: str, local_dir: str) -> None:
        self._call(uri, lambda: self._fs.get(uri.rstrip("/") + "/", local_dir.rstrip("/") + "/", recursive=True))

    def put_dir(self, local_dir: str, uri: str) -> None:
        if not os.path.isdir(local_dir):
            raise StorageError(f"not a folder: {local_dir}", local_dir, transient=False)
        self._call(uri, lambda: self._fs.put(local_dir.rstrip("/") + "/", uri.rstrip("/") + "/", recursive=True))

    def exists(self, uri: str) -> bool:
        return self._call(uri, lambda: self._fs.exists(uri))

    def names_under(self, uri: str) -> list[str]:
        def names() -> list[str]:
            if not self._fs.isdir(uri):
                return []
            return sorted(entry["name"].rstrip("/").rpartition("/")[2] for entry in self._fs.ls(uri, detail=True) if entry["type"] == "file")

        return self._call(uri, names)

    def open_read(self, uri: str) -> BinaryIO:
        return self._call(uri, lambda: self._fs.open(uri, "rb"))


def fsspec_store(scheme: str, uri: str) -> FsspecStore:
    """The fsspec filesystem of ``scheme``, or a ``StorageError`` when fsspec or the protocol is missing."""
    try:
        import fsspec
    except ImportError:
        raise unknown_scheme(scheme, uri) from None
    if scheme not in fsspec.available_protocols():
        raise unknown_scheme(scheme, uri)
    try:
        return FsspecStore(fsspec.filesystem(scheme))
    except ImportError as exc:  # a known protocol whose implementation package is not installed
        raise unknown_scheme(scheme, uri, str(exc)) from exc
