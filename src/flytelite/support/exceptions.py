"""Exceptions a task author raises or sees, and how they map onto Flyte's error documents.

The entrypoint reads three things off any exception: ``error_code`` (the document's ``code``),
``recoverable`` (RECOVERABLE vs NON_RECOVERABLE) and, for :class:`TaskError`, a ready-made
``summary`` and ``details`` that replace the traceback (used when the failure happened in another
process, such as a torch worker).

Every exception of flytelite, where it lives, and what an attempt that ends with it records
(``entrypoint/errors.py`` classifies by these classes; a class may live only where its layer can
import it, so this tree is the one place that shows them all)::

    BaseException
    └── TerminatedError              support/exceptions   SYSTEM, recoverable; exit status 128 + signal
    Exception
    ├── IgnoreOutputs                support/exceptions   no verdict file at all, exit status 0
    ├── RecoverableException         support/exceptions   USER, recoverable (also FlyteRecoverableException)
    ├── TaskError                    support/exceptions   described by its raiser: origin, recoverable, code
    ├── StorageError                 io/_errors           SYSTEM; recoverable when ``transient``
    ├── LiteralMismatch              types/_base          a literal does not fit its type (inside the type engine)
    ├── UnsupportedType (TypeError)  types/_base          a type the engine cannot carry
    ├── MalformedLiteral (ValueError) types/_literal_bytes the inputs file is not a LiteralMap: SYSTEM
    ├── MissingSettings              model/dynamic        a dynamic task registered without its settings: USER
    ├── NotebookPickleError          resolvers/notebook   the notebook's tasks cannot be loaded: USER
    ├── ArchiveRejected              entrypoint/archive   an unsafe fast-execute archive: USER
    ├── UserCodeError                entrypoint/errors    a step's failure caused by the user's code or data:
    │                                                     USER, unless its cause is one of the classes above
    ├── TaskTimeoutError (TimeoutError) entrypoint/signals the task's ``timeout`` passed: USER, recoverable
    └── PoolFull, PoolError (RuntimeError), InvalidRequest (ValueError)
                                     entrypoint/serve     answered with a gRPC status, never an error document

Anything else that ends an attempt is flytelite's own failure: SYSTEM, recoverable, full traceback.
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
