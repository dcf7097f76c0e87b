"""Failures of an attempt, classified as Flyte's error documents expect.

A :class:`Failure` says who is at fault (USER or SYSTEM), whether a retry may help, and what to show:
a one-line ``Type: message`` summary first, then the traceback of the user's own frames (flytelite's
and importlib's frames are left out; for a failure of flytelite itself the full traceback stays).
Both are bounded, the cut marked: the backend downloads error documents of a few MiB at most.
"""

from __future__ import annotations

import enum
import importlib
import os
import time
from typing import TYPE_CHECKING, Any

from ..support.records import Record
from ..support.redact import redact
from ..support.exceptions import FLYTELITE_DIR, RecoverableException, TaskError, TerminatedError
from ..io import FlyteliteError, StorageError

if TYPE_CHECKING:
    import traceback



class Origin(enum.IntEnum):
    """Who is at fault: flyteidl's ``ExecutionError.ErrorKind`` (the error modules are imported only to write)."""

    USER = 1
    SYSTEM = 2


class Kind(enum.IntEnum):
    """Whether a retry may help: ``ContainerError.Kind``, the same values as ``AgentError.Kind``."""

    NON_RECOVERABLE = 0
    RECOVERABLE = 1


USER, SYSTEM = Origin.USER, Origin.SYSTEM
NON_RECOVERABLE, RECOVERABLE = Kind.NON_RECOVERABLE, Kind.RECOVERABLE

MAX_SUMMARY_CHARS = 300
MAX_MESSAGE_BYTES = 1 << 20  # the document's message, UTF-8 encoded
LOGGED_MESSAGE_CHARS = 4 << 20  # a message cut in the document is logged in full up to this

_IMPORTLIB_DIR = os.path.dirname(importlib.__file__) + os.sep


class UserCodeError(FlyteliteError):
    """Raised by a pipeline step when the user's code or data is at fault; wraps the cause."""

    def __init__(self, summary: str, cause: BaseException) -> None:
        super().__init__(summary)
        self.summary = summary
        self.cause = cause


class Failure(Record):
    """The content of one error document, and its encodings: the document itself, the fields a serve
    worker reports (:meth:`to_fields`), the agent protocol's error (:func:`fill_agent_error`)."""

    __slots__ = ("code", "summary", "details", "origin", "recoverable", "timestamp")

    def __init__(self, code: str, summary: str, details: str, origin: Origin, recoverable: bool, timestamp: float) -> None:
        self.code, self.summary, self.details = code, _cut_summary(summary), details
        self.origin, self.recoverable, self.timestamp = Origin(origin), recoverable, timestamp

    @property
    def kind(self) -> Kind:
        return Kind.RECOVERABLE if self.recoverable else Kind.NON_RECOVERABLE

    def full_message(self, limit: int) -> str:
        """The message as it would be without the document's bound, cut at ``limit`` characters."""
        body = f"{self.summary}\n\n{self.details}" if self.details and self.details.strip() != self.summary else self.summary
        text = redact(body)
        return text if len(text) <= limit else text[:limit] + f"\n[... cut: {len(text) - limit} more characters]"

    @property
    def message(self) -> str:
        text = self.full_message(LOGGED_MESSAGE_CHARS + MAX_MESSAGE_BYTES)
        encoded = text.encode("utf-8", "surrogatepass")
        if len(encoded) <= MAX_MESSAGE_BYTES:
            return text
        kept = encoded[:MAX_MESSAGE_BYTES].decode("utf-8", "ignore")
        return kept + f"\n[... cut: the message had {len(text)} characters; the log holds it in full up to {LOGGED_MESSAGE_CHARS}]"

    @property
    def cut(self) -> bool:
        return self.message != self.full_message(LOGGED_MESSAGE_CHARS + MAX_MESSAGE_BYTES)

    def to_document(self, worker: str = "") -> Any:
        from flyteidl.core import errors_pb2

        doc = errors_pb2.ErrorDocument()
        error = doc.error
        error.code = self.code
        error.message = self.message
        error.kind = self.kind
        error.origin = self.origin
        error.timestamp.FromNanoseconds(int(self.timestamp * 1e9))
        error.worker = worker
        return doc

    def to_fields(self) -> dict[str, Any]:
        """What a serve worker reports of the document: code, message, origin (``"USER"``/``"SYSTEM"``), recoverable."""
        return {"code": self.code, "message": self.message, "origin": self.origin.name, "recoverable": self.recoverable}


def fill_agent_error(error: Any, fields: dict[str, Any]) -> None:
    """Fill an agent protocol ``AgentError`` from a failure's :meth:`Failure.to_fields`."""
    error.code = fields["code"]
    error.kind = Kind.RECOVERABLE if fields["recoverable"] else Kind.NON_RECOVERABLE
    error.origin = Origin[fields["origin"]]


def _is_user_frame(frame: Any) -> bool:
    filename = frame.filename
    return not (
        filename.startswith((FLYTELITE_DIR, _IMPORTLIB_DIR, "<frozen importlib")) or f"{os.sep}click{os.sep}" in filename
    )


def _filter_frames(te: traceback.TracebackException) -> None:
    import traceback

    te.stack = traceback.StackSummary.from_list([f for f in te.stack if _is_user_frame(f)])
    for linked in (te.__cause__, te.__context__):
        if linked is not None:
            _filter_frames(linked)


def _has_frames(te: traceback.TracebackException) -> bool:
    linked = [t for t in (te.__cause__, te.__context__) if t is not None]
    return bool(te.stack) or issubclass(te.exc_type or object, SyntaxError) or any(_has_frames(t) for t in linked)


def user_traceback(exc: BaseException) -> str:
    """The traceback of ``exc`` with only the user's frames; empty when none of them is the user's."""
    import traceback

    te = traceback.TracebackException.from_exception(exc)
    _filter_frames(te)
    return "".join(te.format()).rstrip() if _has_frames(te) else ""


def _cut_summary(summary: str) -> str:
    lines = summary.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= MAX_SUMMARY_CHARS else line[:MAX_SUMMARY_CHARS] + f"... [cut: {len(line)} characters]"


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the exception's ``__str__`` itself fails."""
    try:
        return str(exc)
    except (Exception, SystemExit) as str_error:  # a user's exception class with a broken __str__
        return f"<{type(exc).__name__}.__str__ raised {type(str_error).__name__}>"


def one_line(exc: BaseException) -> str:
    text = exception_text(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _user_failure(summary: str, cause: BaseException, now: float) -> Failure:
    recoverable = isinstance(cause, RecoverableException) or getattr(cause, "recoverable", False) is True
    default_code = "USER:Recoverable" if recoverable else "USER:RuntimeError"
    code = getattr(cause, "error_code", None) or default_code
    return Failure(str(code), summary, user_traceback(cause), USER, recoverable, now)


def classify(exc: BaseException) -> Failure:
    """The error document's content for an exception that ended the attempt."""
    now = time.time()
    if isinstance(exc, UserCodeError):
        cause = exc.cause
        if isinstance(cause, (StorageError, TerminatedError, TaskError)):
            return classify(cause)
        return _user_failure(exc.summary, cause, now)
    if isinstance(exc, TaskError):
        origin = SYSTEM if exc.origin == "SYSTEM" else USER
        default_code = "SYSTEM" if origin == SYSTEM else "USER:Recoverable" if exc.recoverable else "USER:RuntimeError"
        return Failure(getattr(exc, "error_code", None) or default_code, exc.summary, exc.details, origin, exc.recoverable, now)
    if isinstance(exc, TerminatedError):
        return Failure("SYSTEM", f"Terminated: {exc}; Flyte may retry the attempt", "", SYSTEM, True, now)
    if isinstance(exc, StorageError):
        summary = f"StorageError: {exc}"
        return Failure("SYSTEM", summary, "", SYSTEM, exc.transient, now)
    import traceback

    summary = f"flytelite failed: {one_line(exc)}"
    return Failure("SYSTEM", summary, "".join(traceback.format_exception(exc)).rstrip(), SYSTEM, True, now)
