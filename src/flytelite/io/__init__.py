"""All storage access of flytelite: local paths, ``file://`` URIs and object stores.

Nothing else in flytelite opens a file under a prefix or talks to a bucket. Every call takes a URI and
picks a backend by its scheme; remote clients are created lazily, once per bucket, the first time a
URI of theirs is met, so a task that only touches local paths never imports an object-store client.
"""

from __future__ import annotations

from ._deadline import calls_in_flight, set_deadline
from ._errors import FlyteliteError, FlyteliteException
from ._api import (
    StorageError,
    exists,
    get_dir,
    get_file,
    is_remote,
    join,
    names_under,
    open_read,
    put_dir,
    put_file,
    read_bytes,
    to_local_path,
    write_bytes,
)

__all__ = [
    "FlyteliteError",
    "FlyteliteException",
    "StorageError",
    "calls_in_flight",
    "set_deadline",
    "exists",
    "get_dir",
    "get_file",
    "is_remote",
    "join",
    "names_under",
    "open_read",
    "put_dir",
    "put_file",
    "read_bytes",
    "to_local_path",
    "write_bytes",
]
