from __future__ import annotations


class FlyteliteException(BaseException):
    """The common base of every exception flytelite defines (``support/exceptions.py`` draws the tree).

    It lives here, in ``io``, because ``io`` is the bottom of the import graph: every layer may
    import it, so each class derives from it where it is defined. A ``BaseException`` only so that
    ``TerminatedError`` can stay out of user code's ``except Exception``; every other class derives
    from :class:`FlyteliteError`, an ``Exception`` (as Python's own ``BaseException``/``Exception``).
    """


class FlyteliteError(FlyteliteException, Exception):
    """The base of every flytelite exception that ``except Exception`` catches: all but ``TerminatedError``.

    Classes that callers have long caught as a builtin (``TypeError``, ``ValueError``...) keep that
    builtin as a second base.
    """


class StorageError(FlyteliteError):
    """A storage operation failed.

    ``transient`` says whether retrying the attempt may help (a refused connection, a 5xx, a time-out)
    or not (a missing object, a denied access). Messages name the URI and never carry credentials.
    Each backend maps its client's exception by class first (``_obstore._storage_error``,
    ``_fsspec._error``, ``_local``); the message text is read only where a class says too little, as
    ``_obstore._storage_error`` lists.
    """

    def __init__(self, message: str, uri: str, *, transient: bool) -> None:
        super().__init__(message)
        self.uri = uri
        self.transient = transient
