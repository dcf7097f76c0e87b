"""Timeouts and the retry policy shared by the backends: retries within a budget of elapsed time.

A request is retried (connection errors, 5xx, time-outs) with exponential backoff until
``FLYTELITE_IO_RETRY_BUDGET`` seconds (default 60) have passed since its first try, so an outage of
some seconds is ridden out whatever the number of tries. ``FLYTELITE_IO_RETRY_BACKOFF`` is the first
pause (default 0.5 s), doubled after each failure up to 5 s. An endpoint that accepts and never
answers is caught by ``FLYTELITE_IO_CONNECT_TIMEOUT`` (default 5 s) and ``FLYTELITE_IO_READ_TIMEOUT``
(default 30 s without a byte); ``FLYTELITE_IO_TIMEOUT`` (default 10 min) bounds one whole request.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from typing import Any

MAX_BACKOFF_S = 5.0
MAX_TRIES = 1000  # the budget of time is what ends the retries; this only bounds the count


def budget_s() -> float:
    return float(os.environ.get("FLYTELITE_IO_RETRY_BUDGET", "60"))


def initial_backoff_s() -> float:
    return float(os.environ.get("FLYTELITE_IO_RETRY_BACKOFF", "0.5"))


def client_timeouts() -> dict[str, str]:
    """The HTTP client's time-outs (obstore ``ClientConfig`` keys)."""
    env = os.environ
    return {
        "connect_timeout": env.get("FLYTELITE_IO_CONNECT_TIMEOUT", "5s"),
        "read_timeout": env.get("FLYTELITE_IO_READ_TIMEOUT", "30s"),
        # The whole request, body included: a large download must not be cut off for being long.
        "timeout": env.get("FLYTELITE_IO_TIMEOUT", "10min"),
    }


def obstore_retry_config() -> dict[str, Any]:
    return {
        "max_retries": MAX_TRIES,
        "retry_timeout": timedelta(seconds=budget_s()),
        "backoff": {"init_backoff": timedelta(seconds=initial_backoff_s()), "max_backoff": timedelta(seconds=MAX_BACKOFF_S), "base": 2},
    }


class Budget:
    """The retry budget of one transfer that we retry ourselves (a download resumed after a cut)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.failures = 0

    def progressed(self) -> None:
        """Data moved since the last failure: the budget starts afresh."""
        self.started, self.failures = time.monotonic(), 0

    def retry_allowed(self) -> bool:
        """Count a failure, pause with jitter (parallel transfers spread out); False once the budget is spent."""
        self.failures += 1
        pause = min(initial_backoff_s() * 2 ** (self.failures - 1), MAX_BACKOFF_S) * random.uniform(0.5, 1.0)
        if time.monotonic() + pause - self.started > budget_s():
            return False
        time.sleep(pause)
        return True
