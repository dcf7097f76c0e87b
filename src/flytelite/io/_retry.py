"""The retry policy shared by the backends: a bounded number of attempts with exponential backoff.

``FLYTELITE_IO_RETRIES`` is the number of attempts per request (default 4) and
``FLYTELITE_IO_RETRY_BACKOFF`` the first pause in seconds (default 0.5), doubled after each failure and
capped at 15 s.
"""

from __future__ import annotations

import os
import random
import time

MAX_BACKOFF_S = 15.0


def attempts() -> int:
    return max(1, int(os.environ.get("FLYTELITE_IO_RETRIES", "4")))


def initial_backoff_s() -> float:
    return float(os.environ.get("FLYTELITE_IO_RETRY_BACKOFF", "0.5"))


def sleep_before_retry(failures: int) -> None:
    """Pause after the ``failures``-th consecutive failure, with jitter so parallel transfers spread out."""
    pause = min(initial_backoff_s() * 2 ** (failures - 1), MAX_BACKOFF_S)
    time.sleep(pause * random.uniform(0.5, 1.0))
