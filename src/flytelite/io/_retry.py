"""Timeouts and the retry policy shared by the backends: retries within a budget of elapsed time.

A request is retried (connection errors, 5xx, time-outs) with exponential backoff until
``FLYTELITE_IO_RETRY_BUDGET`` seconds (default 60) have passed since its first try, so an outage of
some seconds is ridden out whatever the number of tries. ``FLYTELITE_IO_RETRY_BACKOFF`` is the first
pause (default 0.5 s), doubled after each failure up to 5 s. An endpoint that accepts and never
answers is caught by ``FLYTELITE_IO_CONNECT_TIMEOUT`` (default 5 s) and ``FLYTELITE_IO_READ_TIMEOUT``
(default 30 s without a byte); ``FLYTELITE_IO_TIMEOUT`` (default 10 min) bounds one whole request.
The variables are defined, and parsed once, in ``variables.py``.
"""

from __future__ import annotations

import random
import time
from datetime import timedelta
from typing import Any

from . import variables

MAX_BACKOFF_S = 5.0
MAX_TRIES = 1000  # the budget of time is what ends the retries; this only bounds the count


def client_timeouts() -> dict[str, str]:
    """The HTTP client's time-outs (obstore ``ClientConfig`` keys)."""
    return dict(variables.current().client_timeouts)


def obstore_retry_config() -> dict[str, Any]:
    settings = variables.current()
    return {
        "max_retries": MAX_TRIES,
        "retry_timeout": timedelta(seconds=settings.retry_budget_s),
        "backoff": {"init_backoff": timedelta(seconds=settings.retry_backoff_s), "max_backoff": timedelta(seconds=MAX_BACKOFF_S), "base": 2},
    }


class Budget:
    """The retry budget of one transfer that we retry ourselves (a download resumed after a cut)."""

    def __init__(self) -> None:
        settings = variables.current()  # resolved once per transfer, not on every retry
        self.budget_s, self.initial_backoff_s = settings.retry_budget_s, settings.retry_backoff_s
        self.started = time.monotonic()
        self.failures = 0

    def progressed(self) -> None:
        """Data moved since the last failure: the budget starts afresh."""
        self.started, self.failures = time.monotonic(), 0

    def retry_allowed(self) -> bool:
        """Count a failure, pause with jitter (parallel transfers spread out); False once the budget is spent."""
        self.failures += 1
        pause = min(self.initial_backoff_s * 2 ** (self.failures - 1), MAX_BACKOFF_S) * random.uniform(0.5, 1.0)
        if time.monotonic() + pause - self.started > self.budget_s:
            return False
        time.sleep(pause)
        return True
