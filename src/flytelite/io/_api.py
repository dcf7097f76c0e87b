from __future__ import annotations

import functools
import os
from typing import BinaryIO, Callable, TypeVar

from . import _deadline
from ._base import Store
from ._errors import StorageError
from ._local import LocalStore

T = TypeVar("T")

_LOCAL = LocalStore()
_OBJECT_STORE_SCHEMES = frozenset({"s3", "gs", "abfs", "abfss", "az"})


def is_remote(uri: str) -> bool:
    """True for a URI with a scheme other than ``file``."""
    scheme, sep, _ = uri.partition("://")
    return bool(sep) and scheme != "file"


def to_local_path(uri: str) -> str:
    """The filesystem path of a local path or ``file://`` URI."""
    if is_remote(uri):
        raise ValueError(f"not a local path: {uri}")
    return uri[len("file://") :] if uri.startswith("file://") else uri


def join(base: str, *parts: str) -> str:
    """Join URI segments with single slashes (also for local paths)."""
    out = base
    for part in parts:
        out = out.rstrip("/") + "/" + part.lstrip("/")
    return out


@functools.cache
def _object_store() -> Store:
    """The obstore backend, imported on first use so local-only tasks never load obstore."""
    from ._obstore import ObjectStore

    return ObjectStore()


def _store(uri: str) -> Store:
    if not is_remote(uri):
        return _LOCAL
    scheme = uri.partition("://")[0]
    if scheme in _OBJECT_STORE_SCHEMES:
        try:
            return _object_store()
        except ImportError as exc:
            # obstore is a dependency of flytelite: only a broken installation lacks it.
            raise StorageError(f"{scheme}:// URIs need obstore, missing from this installation: pip install obstore ({exc})", uri, transient=False) from exc
    from ._fsspec import fsspec_store

    return fsspec_store(scheme, uri)


def _call(uri: str, operation: Callable[[Store], T]) -> T:
    """``operation`` on the store of ``uri``; remote calls can be interrupted by signals (see ``_deadline``)."""
    store = _store(uri)
    if store is _LOCAL:
        return operation(store)
    return _deadline.call(uri, lambda: operation(store))


def read_bytes(uri: str) -> bytes:
    return _call(uri, lambda store: store.read_bytes(uri))


def write_bytes(uri: str, data: bytes, content_type: str | None = None) -> None:
    _call(uri, lambda store: store.write_bytes(uri, data, content_type))


def get_file(uri: str, local_path: str) -> str:
    """Download ``uri`` to ``local_path``; returns the local path."""
    _call(uri, lambda store: store.get_file(uri, local_path))
    return local_path


def put_file(local_path: str, uri: str, content_type: str | None = None) -> None:
    _call(uri, lambda store: store.put_file(local_path, uri, content_type))


def get_dir(uri: str, local_dir: str) -> str:
    """Download every object under ``uri`` into ``local_dir``; returns the local folder."""
    os.makedirs(local_dir, exist_ok=True)
    _call(uri, lambda store: store.get_dir(uri, local_dir))
    return local_dir


def put_dir(local_dir: str, uri: str) -> None:
    _call(uri, lambda store: store.put_dir(local_dir, uri))


def exists(uri: str) -> bool:
    return _call(uri, lambda store: store.exists(uri))


def names_under(uri: str) -> list[str]:
    """The names of the files directly under the folder ``uri`` (none when it does not exist)."""
    return _call(uri, lambda store: store.names_under(uri))


def open_read(uri: str) -> BinaryIO:
    """A binary stream over ``uri`` that does not download it whole first (its reads are not interruptible)."""
    return _call(uri, lambda store: store.open_read(uri))
