from __future__ import annotations


class StorageError(Exception):
    """A storage operation failed.

    ``transient`` says whether retrying the attempt may help (a refused connection, a 5xx, a time-out)
    or not (a missing object, a denied access). Messages name the URI and never carry credentials.
    """

    def __init__(self, message: str, uri: str, *, transient: bool) -> None:
        super().__init__(message)
        self.uri = uri
        self.transient = transient
