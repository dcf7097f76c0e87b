"""Progress of long transfers, logged at INFO on the ``flytelite.io`` logger every few seconds."""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("flytelite.io")

REPORT_EVERY_S = 5.0
MIB = 1 << 20


class Progress:
    """Counts bytes (and files) of one transfer; thread-safe, so parallel file transfers can share it."""

    def __init__(self, action: str, uri: str, total_bytes: int, total_files: int = 1) -> None:
        self.action, self.uri = action, uri
        self.total_bytes, self.total_files = total_bytes, total_files
        self.done_bytes = self.done_files = 0
        self._started = self._last_report = time.monotonic()
        self._lock = threading.Lock()

    def add(self, nbytes: int, files: int = 0) -> None:
        with self._lock:
            self.done_bytes += nbytes
            self.done_files += files
            now = time.monotonic()
            if now - self._last_report >= REPORT_EVERY_S:
                self._last_report = now
                self._report(now)

    def finish(self) -> None:
        """Log a final line, but only for transfers long enough to have reported on the way."""
        now = time.monotonic()
        if now - self._started >= REPORT_EVERY_S:
            self._report(now)

    def _report(self, now: float) -> None:
        rate = self.done_bytes / MIB / max(now - self._started, 1e-9)
        files = f", {self.done_files}/{self.total_files} files" if self.total_files > 1 else ""
        log.info(
            "%s %s: %.1f/%.1f MiB%s, %.1f MiB/s",
            self.action, self.uri, self.done_bytes / MIB, self.total_bytes / MIB, files, rate,
        )  # fmt: skip
