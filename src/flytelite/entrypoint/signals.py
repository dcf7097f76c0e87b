"""Signals of the container: SIGTERM ends the attempt with a document, SIGUSR1 dumps stacks.

SIGTERM (Kubernetes stopping the pod, a pre-emption) and SIGINT raise :class:`TerminatedError` in
the main thread, which the pipeline records as a recoverable SYSTEM error. Once the verdict is being
decided (the first such signal, a failure being recorded, ``outputs.pb`` being written) further
signals change nothing: a second SIGTERM a few milliseconds after the first (a group signal that
fast-execute also forwards) must not interrupt the writing of the first one's document. After the
verdict the signals stay ignored, so a late one cannot turn a finished attempt's status into 143.
"""

from __future__ import annotations

import contextlib
import datetime
import faulthandler
import signal
import threading
from typing import Any, Iterator

from ..support.exceptions import FlyteliteError, TerminatedError

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_deciding = False
_held = False  # a SIGTERM that came between attempts, for the next one (hold_sigterm)


class TaskTimeoutError(FlyteliteError, TimeoutError):
    """The task ran past its declared ``timeout``; recoverable, so its ``retries`` apply."""

    recoverable = True
    error_code = "USER:Timeout"


def _on_stop_signal(signum: int, frame: Any) -> None:
    global _deciding
    if _deciding:
        return
    _deciding = True  # set before raising: a second signal must find it set
    raise TerminatedError(signal.Signals(signum).name)


def deciding_verdict() -> None:
    """From now on the attempt's verdict is being written: stop signals are held off."""
    global _deciding
    _deciding = True


def verdict_decided() -> bool:
    return _deciding


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    global _deciding
    _deciding = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_stop_signal) for sig in STOP_SIGNALS}
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_IGN if _deciding else handler)
        faulthandler.unregister(signal.SIGUSR1)


def accept_held_sigterm() -> None:
    """Let through a SIGTERM held back until the attempt could record it (a warm worker holds it between attempts)."""
    global _held
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    if _held:
        _held = False
        _on_stop_signal(signal.SIGTERM, None)


def hold_sigterm() -> None:
    """Hold SIGTERM until the next attempt, dropping one already pending: its attempt has its verdict.

    Blocking it covers the main thread only: the kernel hands a blocked process signal to any other
    thread (a storage client's runtime, a task's own), so the handler records it too.
    """
    global _held
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    signal.signal(signal.SIGTERM, _hold_stop_signal)
    signal.sigtimedwait({signal.SIGTERM}, 0)
    _held = False


def _hold_stop_signal(signum: int, frame: Any) -> None:
    global _held
    _held = True


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
