"""Signals of the container: SIGTERM ends the attempt with a document, SIGUSR1 dumps stacks.

SIGTERM (Kubernetes stopping the pod, a pre-emption) raises :class:`TerminatedError` in the main
thread, which the pipeline records as a recoverable SYSTEM error. Writing the verdict is a commit:
SIGTERM is held back while ``outputs.pb`` or the error document is written, and ignored once one
is, so an attempt never leaves both.
"""

from __future__ import annotations

import contextlib
import datetime
import faulthandler
import signal
import threading
from typing import Any, Iterator

from ..support.exceptions import TerminatedError

_committed = False


class TaskTimeoutError(TimeoutError):
    """The task ran past its declared ``timeout``; recoverable, so its ``retries`` apply."""

    recoverable = True
    error_code = "USER:Timeout"


def _on_sigterm(signum: int, frame: Any) -> None:
    if not _committed:
        raise TerminatedError("SIGTERM")


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    global _committed
    _committed = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        faulthandler.unregister(signal.SIGUSR1)


def accept_held_sigterm() -> None:
    """Let through a SIGTERM held back until the attempt could record it (a warm worker blocks it between attempts)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def hold_sigterm() -> None:
    """Block SIGTERM and drop one already pending: the attempt it was meant for has its verdict."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.sigtimedwait({signal.SIGTERM}, 0)


@contextlib.contextmanager
def committing() -> Iterator[None]:
    """Hold SIGTERM back while the verdict is written; after it, SIGTERM changes nothing."""
    global _committed
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
        _committed = True
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def task_timeout(limit: datetime.timedelta | None) -> Iterator[None]:
    """Raise :class:`TaskTimeoutError` in the task if it runs longer than ``limit``."""
    if limit is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TaskTimeoutError(f"the task ran longer than its timeout of {limit} and was stopped")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit.total_seconds())
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
