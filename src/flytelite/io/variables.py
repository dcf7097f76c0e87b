"""How an environment variable of flytelite is defined, and the storage layer's own variables.

:class:`Variable` lives here, in ``io`` (which imports nothing of ours), so that every layer can
define its variables beside the code that reads them; ``entrypoint/settings.py`` composes the one
table of all of them from these definitions, and the README's table is checked against it.

:func:`current` gives the storage settings, parsed once per environment: a later call with the
same values returns the same :class:`IoSettings` without parsing again, and a changed environment
(a new attempt's, a test's) is read afresh.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._errors import FlyteliteError


class Variable:
    """One environment variable: its name (and flytekit's short alias), its default as the README shows it, what it does."""

    __slots__ = ("name", "alias", "default", "meaning")

    def __init__(self, name: str, default: str, meaning: str, alias: str = "") -> None:
        self.name, self.alias, self.default, self.meaning = name, alias, default, meaning

    def __repr__(self) -> str:
        return f"Variable({self.name!r})"

    def read(self, environ: Mapping[str, str]) -> str | None:
        value = environ.get(self.name) or (environ.get(self.alias) if self.alias else None)
        return value or None


class MalformedVariable(FlyteliteError, ValueError):
    """A variable whose value is not of its kind (the message names it); a ``ValueError`` as ``float()``'s was."""


RETRY_BUDGET = Variable("FLYTELITE_IO_RETRY_BUDGET", "60", "seconds a storage request is retried")
RETRY_BACKOFF = Variable("FLYTELITE_IO_RETRY_BACKOFF", "0.5", "first pause between retries, seconds (doubled up to 5)")
CONNECT_TIMEOUT = Variable("FLYTELITE_IO_CONNECT_TIMEOUT", "5s", "time to connect to the store")
READ_TIMEOUT = Variable("FLYTELITE_IO_READ_TIMEOUT", "30s", "time without a byte before a request is retried")
TIMEOUT = Variable("FLYTELITE_IO_TIMEOUT", "10min", "bound of one whole request")
PART_SIZE_MB = Variable("FLYTELITE_IO_PART_SIZE_MB", "16", "multipart part size (at least 5)")
CONCURRENCY = Variable("FLYTELITE_IO_CONCURRENCY", "16", "files, and parts of a file, moved at once")

VARIABLES: tuple[Variable, ...] = (RETRY_BUDGET, RETRY_BACKOFF, CONNECT_TIMEOUT, READ_TIMEOUT, TIMEOUT, PART_SIZE_MB, CONCURRENCY)


def _number(variable: Variable, environ: Mapping[str, str], parse: type[int] | type[float]) -> float:
    value = variable.read(environ) or variable.default
    try:
        return parse(value)
    except ValueError:
        raise MalformedVariable(f"{variable.name}={value!r} is not a{'n integer' if parse is int else ' number'}") from None


class IoSettings:
    """The storage layer's variables, resolved: the retry policy, the client's time-outs, the transfer sizes."""

    __slots__ = ("retry_budget_s", "retry_backoff_s", "client_timeouts", "part_size_mb", "concurrency")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.retry_budget_s = _number(RETRY_BUDGET, environ, float)
        self.retry_backoff_s = _number(RETRY_BACKOFF, environ, float)
        # obstore ``ClientConfig`` keys; ``timeout`` bounds the whole request, body included.
        self.client_timeouts = {
            "connect_timeout": CONNECT_TIMEOUT.read(environ) or CONNECT_TIMEOUT.default,
            "read_timeout": READ_TIMEOUT.read(environ) or READ_TIMEOUT.default,
            "timeout": TIMEOUT.read(environ) or TIMEOUT.default,
        }
        self.part_size_mb = max(5, int(_number(PART_SIZE_MB, environ, int)))  # S3 needs at least 5 MiB per part
        self.concurrency = max(1, int(_number(CONCURRENCY, environ, int)))

    def client_key(self) -> tuple[object, ...]:
        """What a storage client is built with: a client made under other values is not reused."""
        return (self.retry_budget_s, self.retry_backoff_s, *sorted(self.client_timeouts.items()))


_resolved: tuple[tuple[str | None, ...], IoSettings] | None = None


def current(environ: Mapping[str, str] | None = None) -> IoSettings:
    """The storage settings of ``environ`` (the process's by default), parsed once per set of values."""
    global _resolved
    env = os.environ if environ is None else environ
    raw = tuple(env.get(v.name) for v in VARIABLES)
    if _resolved is None or _resolved[0] != raw:
        _resolved = (raw, IoSettings(env))
    return _resolved[1]
