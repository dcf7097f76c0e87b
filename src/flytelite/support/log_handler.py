"""A ``logging`` handler that sends records of user code and libraries through flytelite's logger."""

from __future__ import annotations

import logging
from typing import Any

from .logs import ERROR, Logger


class StdlibBridge(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields: dict[str, Any] = {}
            if record.exc_info:
                fields["exc_info"] = record.exc_info
            method = logging.getLevelName(record.levelno).lower()
            if method not in ("debug", "info", "warning", "error"):
                method = "error" if record.levelno >= ERROR else "info"
            Logger(record.name).emit(record.levelno, method, record.getMessage(), fields)
        except Exception:
            self.handleError(record)
