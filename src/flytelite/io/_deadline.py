"""Remote storage calls that a signal can interrupt, and the deadline they must meet.

A remote client blocks inside native code, where Python's signal handlers cannot run: a SIGTERM that
arrives while a request hangs on an endpoint that never answers would only be acted on when the
request times out, long after Kubernetes' grace period. So in the main thread each remote call runs
on a helper thread while the main thread waits where handlers do run. Once a deadline is set (the
attempt was terminated and has a few seconds left for its document), a call still unfinished at the
deadline is given up with a transient ``StorageError``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, TypeVar

from ._errors import StorageError

T = TypeVar("T")

_THREAD_NAME = "flytelite-io-call"
_deadline: float | None = None  # time.monotonic() by which every call must have returned


def set_deadline(at: float | None) -> None:
    """Every remote call from now on gives up at ``at`` (``time.monotonic()``); ``None`` lifts it."""
    global _deadline
    _deadline = at


def calls_in_flight() -> int:
    """Remote calls still running on helper threads (after an interrupted or given-up wait)."""
    return sum(1 for thread in threading.enumerate() if thread.name == _THREAD_NAME)


def call(uri: str, operation: Callable[[], T]) -> T:
    """``operation()``; from the main thread, on a helper thread so that signals can interrupt the wait."""
    if threading.current_thread() is not threading.main_thread():
        return operation()
    outcome: list[Any] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, operation()))
        except BaseException as exc:  # handed to the waiting thread as it is
            outcome.append((False, exc))
        finally:
            done.set()

    threading.Thread(target=run, name=_THREAD_NAME, daemon=True).start()
    if not done.wait(None if _deadline is None else max(0.0, _deadline - time.monotonic())):
        raise StorageError(f"gave up on {uri}: the terminated attempt's deadline passed", uri, transient=True)
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
