"""Checkpoints: what an attempt saves so that its retry can resume (``current_context().checkpoint``).

``--prev-checkpoint`` is the previous attempt's checkpoint (read side), ``--checkpoint-path`` this
attempt's (write side). Both are folders in storage; all transfers go through ``flytelite.io``.
"""

from __future__ import annotations

import os
from typing import Union

from .. import io

_BYTES_NAME = "checkpoint.bin"


class Checkpoint:
    def __init__(self, checkpoint_uri: str, prev_checkpoint_uri: str | None, local_dir: str) -> None:
        self.checkpoint_uri = checkpoint_uri
        self.prev_checkpoint_uri = prev_checkpoint_uri
        self._local_dir = local_dir
        self._restored: str | None = None

    def prev_exists(self) -> bool:
        """Whether a previous attempt left a checkpoint."""
        return self.prev_checkpoint_uri is not None and io.exists(self.prev_checkpoint_uri)

    def restore(self, path: Union[str, os.PathLike[str], None] = None) -> str | None:
        """Download the previous checkpoint into ``path`` (a folder); ``None`` when there is none."""
        if not self.prev_exists():
            return None
        if self._restored is None or path is not None:
            target = os.fspath(path) if path is not None else os.path.join(self._local_dir, "restored")
            self._restored = io.get_dir(self.prev_checkpoint_uri, target)
        return self._restored

    def save(self, source: Union[str, os.PathLike[str], bytes]) -> None:
        """Save bytes, a file (kept under its name) or a folder (its content) as this attempt's checkpoint."""
        if isinstance(source, bytes):
            io.write_bytes(io.join(self.checkpoint_uri, _BYTES_NAME), source)
            return
        local = os.fspath(source)
        if os.path.isdir(local):
            io.put_dir(local, self.checkpoint_uri)
        else:
            io.put_file(local, io.join(self.checkpoint_uri, os.path.basename(local)))

    def read(self) -> bytes | None:
        """The bytes of the previous checkpoint, which must hold a single file; ``None`` when there is none."""
        folder = self.restore()
        if folder is None:
            return None
        files = [os.path.join(root, f) for root, _, names in os.walk(folder) for f in names]
        if len(files) != 1:
            raise ValueError(f"read() needs a checkpoint of one file, {self.prev_checkpoint_uri} has {len(files)}: use restore()")
        return io.read_bytes(files[0])

    def write(self, data: bytes) -> None:
        self.save(data)

    def __repr__(self) -> str:
        return f"Checkpoint({self.checkpoint_uri!r}, prev={self.prev_checkpoint_uri!r})"
