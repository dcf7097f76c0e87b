"""The verdict of an attempt: the files that record it, whether one is committed, how a failure is recorded.

An attempt leaves exactly one verdict under its output prefix: ``outputs.pb`` (success), ``futures.pb``
(a dynamic task's spec), an error document (``error.pb``, or ``error-<hex>.pb`` under Flyte's
distributed error strategy, one per worker), or nothing (``IgnoreOutputs``). Every writer of a verdict
(``execute``'s pipeline, fast-execute before its child runs, serve after a worker died) and every
reader (``flytelite run``) takes the names from here. What a failure holds and how an exception is
classified is :mod:`.errors`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flyteidl.core import errors_pb2

from .. import io
from ..support.exceptions import TerminatedError
from ..support.logs import get_logger
from .errors import LOGGED_MESSAGE_CHARS, Failure, Kind, Origin, classify, one_line
from .settings import AttemptSettings
from .signals import deciding_verdict

log = get_logger("flytelite.execute")

OUTPUTS_FILE = "outputs.pb"
ERROR_FILE = "error.pb"
FUTURES_FILE = "futures.pb"
_DISTRIBUTED_ERROR_FILE = re.compile(r"error-[0-9a-f]+\.pb")


def is_verdict_file(name: str) -> bool:
    return name in (OUTPUTS_FILE, ERROR_FILE, FUTURES_FILE) or _DISTRIBUTED_ERROR_FILE.fullmatch(name) is not None


def committed(output_prefix: str) -> bool:
    """Whether a verdict (any of its files) is already under ``output_prefix``."""
    return any(is_verdict_file(name) for name in io.names_under(output_prefix))


def read(output_prefix: str) -> tuple[bool, dict[str, object] | None]:
    """(committed, failure) of the verdict under ``output_prefix``; the failure in :meth:`Failure.to_fields` form.

    Serve answers for attempts another process ran from this: a success (``outputs.pb`` or ``futures.pb``)
    wins over an error document (``error.pb``, else the first ``error-<hex>.pb``), which is read back
    with its origin and recoverability.
    """
    names = set(io.names_under(output_prefix))
    if OUTPUTS_FILE in names or FUTURES_FILE in names:
        return True, None
    errors = sorted(name for name in names if is_verdict_file(name))  # error.pb sorts before error-<hex>.pb
    if not errors:
        return False, None
    error = errors_pb2.ErrorDocument.FromString(io.read_bytes(io.join(output_prefix, errors[0]))).error
    origin = "SYSTEM" if error.origin == Origin.SYSTEM else "USER"
    recoverable = error.kind == Kind.RECOVERABLE
    return True, {"code": error.code, "message": error.message, "origin": origin, "recoverable": recoverable}


def error_file_name(settings: AttemptSettings) -> str:
    """``error.pb``, or a fresh ``error-<hex>.pb`` under the distributed error strategy (choose it once)."""
    return f"error-{os.urandom(16).hex()}.pb" if settings.distributed_errors else ERROR_FILE


def write_error(output_prefix: str, failure: Failure, settings: AttemptSettings) -> None:
    file_name = error_file_name(settings)
    document = failure.to_document(settings.worker_name if file_name != ERROR_FILE else "")
    io.write_bytes(io.join(output_prefix, file_name), document.SerializeToString())


@contextmanager
def storage_deadline(exc: BaseException, settings: AttemptSettings) -> Iterator[None]:
    """While a terminated attempt records its failure, storage calls give up when its grace period ends.

    The deadline is lifted on leaving: a process that goes on (a serve worker, ``flytelite run``)
    must not have its later storage calls given up.
    """
    if not isinstance(exc, TerminatedError):
        yield
        return
    io.set_deadline(time.monotonic() + settings.termination_grace_s)
    try:
        yield
    finally:
        io.set_deadline(None)


def fail(
    output_prefix: str,
    exc: BaseException,
    settings: AttemptSettings,
    *,
    test: bool = False,
    then: Callable[[Failure], None] | None = None,
) -> tuple[Failure, int]:
    """Record ``exc`` as the attempt's error document; the failure and the exit status.

    The document is written before anything else that could block or fail (logging writes to a
    stderr the task may have closed); signals are held off from the first line. ``then`` (the deck)
    runs after the document, within the terminated attempt's deadline. ``test`` writes nothing.
    """
    deciding_verdict()
    with storage_deadline(exc, settings):
        failure = classify(exc)
        written = test or _commit_error(output_prefix, failure, settings)
        _log(failure)
        if then is not None:
            then(failure)
    return failure, _exit_status(exc, settings, test) if written else 1


def _commit_error(output_prefix: str, failure: Failure, settings: AttemptSettings) -> bool:
    try:
        write_error(output_prefix, failure, settings)
    except Exception as write_exc:  # noqa: BLE001 - nothing else can record the verdict
        log.error("could not write the error document", error=one_line(write_exc), reason=failure.summary)
        return False
    return True


def _log(failure: Failure) -> None:
    log.error("task failed", error=failure.summary, origin=failure.origin.name, recoverable=failure.recoverable)
    if failure.cut:
        log.error("the error document holds a shortened message; here it is in full", message=failure.full_message(LOGGED_MESSAGE_CHARS))


def _exit_status(exc: BaseException, settings: AttemptSettings, test: bool) -> int:
    if isinstance(exc, TerminatedError):
        import signal

        return 128 + getattr(signal.Signals, exc.signal_name, signal.SIGTERM).value  # 143 for SIGTERM
    return 1 if settings.fail_on_error or test else 0
