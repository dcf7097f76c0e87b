"""The storage errors a request must fail with at once: not found, denied, malformed, misconfigured."""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest

import flytelite.io as fio

RETRY_BUDGET_S = 30  # what a retried failure would spend, far above what a first answer takes


def permanent_failure(call: Callable[[], Any]) -> fio.StorageError:
    """Run ``call``: it must raise a non-transient ``StorageError`` without spending the retry budget."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLYTELITE_IO_RETRY_BUDGET", str(RETRY_BUDGET_S))
        started = time.monotonic()
        with pytest.raises(fio.StorageError) as caught:
            call()
        assert time.monotonic() - started < RETRY_BUDGET_S / 2, "a permanent failure must not be retried"
    assert not caught.value.transient
    return caught.value
