"""Structured logging through structlog, paid for only when a line is actually written.

Importing structlog costs about 40 ms here, most of a short task's budget, so loggers are cheap
proxies: a call below the level returns at once, and the first line at or above it imports and
configures structlog. JSON lines go to stderr when it is not a terminal (a container), a readable
console format when it is; ``FLYTELITE_LOG_LEVEL`` and ``FLYTELITE_LOG_FORMAT`` (``json`` or
``console``) override. The standard ``logging`` of user code goes through the same output. Every
line passes through :func:`flytelite._redact.redact`, so known secrets never reach the log. A line
that cannot be written (the task closed or broke stderr) is dropped: logging never fails a caller.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from ._redact import redact

# The standard logging levels, without importing logging (which the start-up path does not need).
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR}
_bound: dict[str, str] = {}
_configured = False


def _threshold() -> int:
    return _LEVELS.get(os.environ.get("FLYTELITE_LOG_LEVEL", "info").lower(), INFO)


def bind_identity(**identity: str) -> None:
    """Fields added to every line from now on (execution and task identity); empty ones are left out."""
    _bound.update({k: v for k, v in identity.items() if v})


def _redact_processor(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}


def _configure() -> Any:
    global _configured
    import structlog

    if not _configured:
        fmt = os.environ.get("FLYTELITE_LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
        renderer = structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
        structlog.configure(
            processors=[
                structlog.contextvars.merge_contextvars,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
                _redact_processor,
                renderer,
            ],
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            cache_logger_on_first_use=False,
        )
        _configured = True
    return structlog


class Logger:
    """A logger whose methods take an event name and key-value fields, structlog style."""

    def __init__(self, name: str) -> None:
        self.name = name

    def emit(self, level: int, method: str, event: str, fields: dict[str, Any]) -> None:
        if level < _threshold():
            return
        try:
            structlog = _configure()
            getattr(structlog.get_logger(), method)(event, logger=self.name, **_bound, **fields)
        except (AttributeError, OSError, ValueError):  # stderr closed, broken (EPIPE), None or unusable
            pass

    def debug(self, event: str, **fields: Any) -> None:
        self.emit(DEBUG, "debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self.emit(INFO, "info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.emit(WARNING, "warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self.emit(ERROR, "error", event, fields)


def get_logger(name: str = "flytelite") -> Logger:
    return Logger(name)


def route_stdlib_logging() -> None:
    """Make the root logger of ``logging`` write through structlog (and so through the redaction).

    A task that never uses ``logging`` should not pay for importing it: when it is not imported yet,
    a meta-path hook connects the bridge the moment something first imports it.
    """
    if "logging" in sys.modules:
        _connect_bridge()
    elif not any(isinstance(finder, _BridgeOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _BridgeOnImport())


def _connect_bridge() -> None:
    import logging

    from ._logging_bridge import StdlibBridge

    root = logging.getLogger()
    if not any(isinstance(h, StdlibBridge) for h in root.handlers):
        root.addHandler(StdlibBridge())
    root.setLevel(_threshold())


class _BridgeOnImport:
    """Finds nothing itself: it wraps the loading of ``logging`` to connect the bridge right after."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "logging":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            execute_module = spec.loader.exec_module

            def exec_then_connect(module: Any) -> None:
                execute_module(module)
                _connect_bridge()

            spec.loader.exec_module = exec_then_connect  # type: ignore[method-assign]
        return spec
