"""Structured logging that costs nothing until a line is written, and little when one is.

Loggers are cheap proxies: a call below the level returns at once. In a container (stderr not a
terminal) each line is one JSON object rendered here with the standard ``json`` module: event,
logger, the bound execution identity, the call's fields, level and an ISO-8601 UTC timestamp.
structlog, whose import pulls in asyncio and its development modules, is loaded only for the
readable console format on a terminal. ``FLYTELITE_LOG_LEVEL`` and ``FLYTELITE_LOG_FORMAT``
(``json`` or ``console``) override. Every string passes through :func:`redact`, so known secrets
never reach the log. A line that cannot be written (the task closed or broke stderr) is dropped:
logging never fails its caller.

The identity an attempt's lines carry is bound for the attempt only (:func:`identity_scope`), so a
warm worker's next attempt, and its lines between attempts, carry none of it. Tests read the
records themselves with :func:`capture` rather than parsing stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Any, Iterator

from ..io.variables import Variable
from .redact import redact

# The standard logging levels, without importing logging (which the start-up path does not need).
DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_LEVELS = {"debug": DEBUG, "info": INFO, "warning": WARNING, "error": ERROR}
_bound: dict[str, str] = {}
_captured: list[dict[str, Any]] | None = None  # records kept here instead of written, inside capture()


LOG_LEVEL = Variable("FLYTELITE_LOG_LEVEL", "info", "`debug`, `info`, `warning` or `error`")
LOG_FORMAT = Variable("FLYTELITE_LOG_FORMAT", "json (console on a terminal)", "`json` or `console`")
VARIABLES: tuple[Variable, ...] = (LOG_LEVEL, LOG_FORMAT)
_threshold: tuple[str | None, int] = (None, INFO)  # the level's raw value and its number, parsed once per value


def threshold() -> int:
    global _threshold
    raw = os.environ.get(LOG_LEVEL.name)
    if raw != _threshold[0]:
        _threshold = (raw, _LEVELS.get((raw or LOG_LEVEL.default).lower(), INFO))
    return _threshold[1]


def bind_identity(**identity: str) -> None:
    """Fields added to every line from now on (execution and task identity); empty ones are left out."""
    _bound.update({k: v for k, v in identity.items() if v})


@contextlib.contextmanager
def identity_scope(**identity: str) -> Iterator[None]:
    """Bind ``identity`` (and whatever is bound inside) for the block only; the fields bound before come back after."""
    saved = dict(_bound)
    bind_identity(**identity)
    try:
        yield
    finally:
        _bound.clear()
        _bound.update(saved)


@contextlib.contextmanager
def capture() -> Iterator[list[dict[str, Any]]]:
    """The records logged in the block (redacted, as they would be written), instead of writing them."""
    global _captured
    saved, _captured = _captured, []
    try:
        yield _captured
    finally:
        _captured = saved


def _console_format() -> bool:
    fmt = os.environ.get(LOG_FORMAT.name)
    if fmt:
        return fmt == "console"
    stderr = sys.stderr
    return stderr is not None and stderr.isatty()


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def _redacted(event: dict[str, Any]) -> dict[str, Any]:
    return {k: redact(v) if isinstance(v, str) else v for k, v in event.items()}


def _format_exception(exc_info: Any) -> str:
    import traceback

    if exc_info is True:
        exc_info = sys.exc_info()
    return "".join(traceback.format_exception(*exc_info)).rstrip()


def _json_line(event: dict[str, Any]) -> str:
    import json

    return json.dumps(event, default=repr)


def _write_console(method: str, event: dict[str, Any]) -> None:
    import structlog

    renderer = structlog.dev.ConsoleRenderer()
    print(renderer(None, method, event), file=sys.stderr, flush=True)


def _write(method: str, record: dict[str, Any]) -> None:
    if _captured is not None:
        _captured.append(record)
        return
    if _console_format():
        _write_console(method, record)
        return
    stream = sys.stderr
    if stream is not None:
        stream.write(_json_line(record) + "\n")
        stream.flush()


class Logger:
    """A logger whose methods take an event name and key-value fields, structlog style."""

    def __init__(self, name: str) -> None:
        self.name = name

    def emit(self, level: int, method: str, event: str, fields: dict[str, Any]) -> None:
        if level < threshold():
            return
        record: dict[str, Any] = {"event": event, "logger": self.name, **_bound, **fields}
        exc_info = record.pop("exc_info", None)
        if exc_info:
            record["exception"] = _format_exception(exc_info)
        record["level"] = method
        record["timestamp"] = _timestamp()
        record = _redacted(record)
        try:
            _write(method, record)
        except (AttributeError, OSError, ValueError):  # stderr closed, broken (EPIPE) or unusable
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
