"""Exceptions a task author raises or sees, and how they map onto Flyte's error documents.

The entrypoint reads three things off any exception: ``error_code`` (the document's ``code``),
``recoverable`` (RECOVERABLE vs NON_RECOVERABLE) and, for :class:`TaskError`, a ready-made
``summary`` and ``details`` that replace the traceback (used when the failure happened in another
process, such as a torch worker).
"""

from __future__ import annotations


class IgnoreOutputs(Exception):
    """Raise to end the task without writing outputs (non-zero ranks of distributed training)."""


class RecoverableException(Exception):
    """Raise to ask Flyte to retry the task: the error document is USER, RECOVERABLE."""

    recoverable = True
    error_code = "USER:Recoverable"


FlyteRecoverableException = RecoverableException  # flytekit's name, so that ported code needs no rename


class TaskError(Exception):
    """A failure described in full by its raiser.

    ``summary`` is the one-line headline of the error document and ``details`` the body shown under
    it (for example the traceback of a worker process). ``origin`` is ``"USER"`` or ``"SYSTEM"``.
    """

    def __init__(
        self,
        summary: str,
        details: str = "",
        *,
        origin: str = "USER",
        recoverable: bool = False,
        error_code: str | None = None,
    ) -> None:
        super().__init__(summary)
        self.summary = summary
        self.details = details
        self.origin = origin
        self.recoverable = recoverable
        if error_code is not None:
            self.error_code = error_code


class TerminatedError(BaseException):
    """The attempt was stopped from outside (SIGTERM from Kubernetes, a pre-emption).

    A ``BaseException`` so that user code's ``except Exception`` does not swallow it; the error
    document is SYSTEM and RECOVERABLE.
    """

    def __init__(self, signal_name: str = "SIGTERM") -> None:
        super().__init__(f"the task was terminated by {signal_name}")
        self.signal_name = signal_name
