"""Exceptions a task author raises or sees, and how they map onto Flyte's error documents.

The entrypoint reads three things off any exception: ``error_code`` (the document's ``code``),
``recoverable`` (RECOVERABLE vs NON_RECOVERABLE) and, for :class:`TaskError`, a ready-made
``summary`` and ``details`` that replace the traceback (used when the failure happened in another
process, such as a torch worker).

Every exception of flytelite, where it lives, and what an attempt that ends with it records. All
derive from :class:`FlyteliteException` (defined in ``io``, the one module every layer may import),
and all but ``TerminatedError`` from :class:`FlyteliteError`, an ``Exception``: ``except
FlyteliteError`` catches what flytelite raises and nothing else, a stop from outside excepted. A class
that callers caught as a builtin before it had a class of its own keeps that builtin as a second base,
shown in brackets. ``entrypoint/errors.py`` classifies by these classes, and the pipeline's steps
catch these classes, never a bare builtin (the type engine's ``converting`` is the one place where a
``TypeError`` or ``ValueError`` becomes a class of ours, and only one that user or third-party code
raised: see :func:`raised_by_flytelite`). A class lives where its layer can import it, so this tree
is the one place that shows them all (``tests/support/test_exception_tree.py``
checks it against the source)::

    FlyteliteException                      io/_errors           the common base (a BaseException)
    ├── TerminatedError                     support/exceptions   SYSTEM, recoverable; exit status 128 + signal
    │                                                            (not an Exception: ``except Exception`` must not catch it)
    └── FlyteliteError (Exception)          io/_errors           the base of all the others
        ├── IgnoreOutputs                   support/exceptions   no verdict file at all, exit status 0
        ├── RecoverableException            support/exceptions   USER, recoverable (also FlyteRecoverableException)
        ├── TaskError                       support/exceptions   described by its raiser: origin, recoverable, code
        ├── StorageError                    io/_errors           SYSTEM; recoverable when ``transient``
        ├── MalformedVariable (ValueError)  io/variables         a storage or logging variable that is not of its kind
        ├── LiteralMismatch                 types/_base          a literal does not fit its type (inside the type engine)
        ├── InterfaceMismatch (TypeError)   types/_base          named inputs or outputs do not fit the interface: USER
        ├── UnsupportedType (TypeError)     types/_base          a type the engine cannot carry: USER
        ├── MalformedLiteral (ValueError)   types/_literal_bytes the inputs file is not a LiteralMap: SYSTEM
        ├── MissingSettings                 model/dynamic        a dynamic task registered without its settings: USER
        ├── NotebookPickleError             resolvers/notebook   the notebook's tasks cannot be loaded: USER
        ├── ArchiveRejected                 entrypoint/archive   an unsafe fast-execute archive: USER
        ├── OutputTooLarge (ValueError)     entrypoint/offload   an output over _F_L_MAX_SIZE_MB: USER
        ├── UserCodeError                   entrypoint/errors    a step's failure caused by the user's code or data:
        │                                                        USER, unless its cause is one of the classes above
        ├── TaskTimeoutError (TimeoutError) entrypoint/signals   the task's ``timeout`` passed: USER, recoverable
        ├── InvalidRequest (ValueError)     entrypoint/serve/request   a malformed serve request  } answered with a gRPC
        ├── InvalidMeta (ValueError)        entrypoint/serve/attempts  an unreadable resource meta } status, never an
        └── PoolError (RuntimeError)        entrypoint/serve/pool      the workers cannot start     } error document

Anything else that ends an attempt is flytelite's own failure: SYSTEM, recoverable, full traceback.
"""

from __future__ import annotations

import os

from ..io import FlyteliteError, FlyteliteException

__all__ = ["FlyteliteError", "FlyteliteException", "IgnoreOutputs", "RecoverableException", "FlyteRecoverableException", "TaskError", "TerminatedError"]


FLYTELITE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def raised_by_flytelite(exc: BaseException) -> bool:
    """Whether every frame of ``exc``'s traceback is flytelite's own.

    A builtin exception raised there (the ``TypeError`` of a call flytelite itself made wrong) is
    flytelite's failure, whatever its class; one raised with a frame of other code on its traceback
    (the user's, a library's that the value's type runs) is that code's.
    """
    tb = exc.__traceback__
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(FLYTELITE_DIR):
            return False
        tb = tb.tb_next
    return True


class IgnoreOutputs(FlyteliteError):
    """Raise to end the task without writing outputs (non-zero ranks of distributed training)."""


class RecoverableException(FlyteliteError):
    """Raise to ask Flyte to retry the task: the error document is USER, RECOVERABLE."""

    recoverable = True
    error_code = "USER:Recoverable"


FlyteRecoverableException = RecoverableException  # flytekit's name, so that ported code needs no rename


class TaskError(FlyteliteError):
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


class TerminatedError(FlyteliteException):
    """The attempt was stopped from outside (SIGTERM from Kubernetes, a pre-emption).

    Not an ``Exception`` (the one class outside :class:`FlyteliteError`) so that user code's
    ``except Exception`` does not swallow it; the error
    document is SYSTEM and RECOVERABLE.
    """

    def __init__(self, signal_name: str = "SIGTERM") -> None:
        super().__init__(f"the task was terminated by {signal_name}")
        self.signal_name = signal_name
