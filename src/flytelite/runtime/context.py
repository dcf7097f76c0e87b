"""What a running task can ask about itself: ``current_context()``.

The entrypoint builds one :class:`ExecutionContext` per attempt from the command line and the
environment the Flyte backend sets; a local call of a task gets one with local defaults.
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from typing import Any, Iterator, Mapping

from ..support.records import Record
from ..support.scratch import make_working_directory


# The identity variables the Flyte backend sets in a task's pod, per field: the name, then flytekit's
# short alias. A serve worker's environment is built from the same table (``to_env``).
EXECUTION_VARIABLES = {
    "project": ("FLYTE_INTERNAL_EXECUTION_PROJECT", "_F_PRJ"),
    "domain": ("FLYTE_INTERNAL_EXECUTION_DOMAIN", "_F_DM"),
    "name": ("FLYTE_INTERNAL_EXECUTION_ID", "_F_NM"),
    "workflow": ("FLYTE_INTERNAL_EXECUTION_WORKFLOW", "_F_WF"),
    "launch_plan": ("FLYTE_INTERNAL_EXECUTION_LAUNCHPLAN", "_F_LP"),
}
TASK_VARIABLES = {
    "project": ("FLYTE_INTERNAL_TASK_PROJECT", "_F_TK_PRJ"),
    "domain": ("FLYTE_INTERNAL_TASK_DOMAIN", "_F_TK_DM"),
    "name": ("FLYTE_INTERNAL_TASK_NAME", "_F_TK_NM"),
    "version": ("FLYTE_INTERNAL_TASK_VERSION", "_F_TK_V"),
}
ATTEMPT_NUMBER_VARIABLE = "FLYTE_ATTEMPT_NUMBER"


def _from_env(environ: Mapping[str, str], variables: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {field: environ.get(name) or environ.get(alias) or "" for field, (name, alias) in variables.items()}


def _to_env(identity: Record, variables: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {name: getattr(identity, field) for field, (name, _) in variables.items() if getattr(identity, field)}


class ExecutionIdentity(Record):
    """Which execution this attempt belongs to (empty strings when run outside Flyte)."""

    __slots__ = ("project", "domain", "name", "workflow", "launch_plan")

    def __init__(self, project: str = "", domain: str = "", name: str = "", workflow: str = "", launch_plan: str = "") -> None:
        self.project, self.domain, self.name = project, domain, name
        self.workflow, self.launch_plan = workflow, launch_plan

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ExecutionIdentity:
        return cls(**_from_env(environ, EXECUTION_VARIABLES))

    def to_env(self) -> dict[str, str]:
        """The variables a pod of this execution has (the set fields)."""
        return _to_env(self, EXECUTION_VARIABLES)


class TaskIdentity(Record):
    """Which registered task this is (empty strings when run outside Flyte)."""

    __slots__ = ("project", "domain", "name", "version")

    def __init__(self, project: str = "", domain: str = "", name: str = "", version: str = "") -> None:
        self.project, self.domain, self.name, self.version = project, domain, name, version

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> TaskIdentity:
        return cls(**_from_env(environ, TASK_VARIABLES))

    def to_env(self) -> dict[str, str]:
        """The variables a pod of this task has (the set fields)."""
        return _to_env(self, TASK_VARIABLES)


class Secrets:
    """Secrets mounted by Flyte, as environment variables or files.

    A secret ``(group, key)`` is looked up as the variable ``_FSEC_<GROUP>_<KEY>`` and then as the file
    ``/etc/flyte/secrets/<group>/<key>`` (prefixes and folder follow ``FLYTE_SECRETS_ENV_PREFIX``,
    ``FLYTE_SECRETS_FILE_PREFIX`` and ``FLYTE_SECRETS_DEFAULT_DIR``); a ``group_version`` goes between
    group and key in both, as in flytekit. Values are never part of a repr or a log line.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._fixed_environ = environ  # None: read os.environ at lookup time (and stay picklable)

    @property
    def _environ(self) -> Mapping[str, str]:
        return os.environ if self._fixed_environ is None else self._fixed_environ

    def get(self, group: str, key: str | None = None, group_version: str | None = None) -> str:
        # Imported here: redaction loads the storage layer, which a context (a deck, a local run) need not.
        from ..support.redact import SECRETS_ENV_PREFIX

        env_prefix = self._environ.get(SECRETS_ENV_PREFIX.name, SECRETS_ENV_PREFIX.default)
        env_name = env_prefix + "_".join(part.upper() for part in (group, group_version, key) if part)
        value = self._environ.get(env_name.upper())
        if value is not None:
            return value
        path = self.get_secrets_file(group, key, group_version)
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            raise KeyError(f"secret {group}/{key or ''} not found: set {env_name.upper()} or mount {path}") from None

    def get_secrets_file(self, group: str, key: str | None = None, group_version: str | None = None) -> str:
        """The path where the secret is (or would be) mounted as a file, as flytekit computes it."""
        from ..support.redact import SECRETS_DEFAULT_DIR, SECRETS_FILE_PREFIX

        folder = self._environ.get(SECRETS_DEFAULT_DIR.name, SECRETS_DEFAULT_DIR.default)
        parts = [part.lower() for part in (group, group_version, key) if part]
        parts[-1] = self._environ.get(SECRETS_FILE_PREFIX.name, "").strip() + parts[-1]
        return os.path.join(folder, *parts)

    def __repr__(self) -> str:
        return "Secrets(<hidden>)"


class Deck:
    """A named tab of the attempt's deck page, holding HTML.

    ``Deck(name, html)`` registers the deck in ``current_context().decks``; :meth:`detached` makes
    one that is not registered. The HTML is the user's own and is put on the page as it is; the
    name is escaped. It lives here, beside the context that holds decks (``default_deck`` makes
    one); ``deck`` renders them.
    """

    __slots__ = ("name", "_parts")

    def __init__(self, name: str, html: str = "") -> None:
        self.name = str(name)
        self._parts: list[str] = [html] if html else []
        current_context().decks.append(self)

    @classmethod
    def detached(cls, name: str, html: str = "") -> Deck:
        """A deck that is not registered in any context."""
        deck = cls.__new__(cls)
        Deck._init_detached(deck, name, html)
        return deck

    def _init_detached(self, name: str, html: str) -> None:
        self.name = str(name)
        self._parts = [html] if html else []

    @property
    def html(self) -> str:
        return "".join(self._parts)

    @html.setter
    def html(self, value: str) -> None:
        self._parts = [value] if value else []

    def append(self, html: str) -> Deck:
        """Add ``html`` at the end of the deck; returns the deck, so calls can be chained."""
        self._parts.append(html)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self.html)} characters)"


class ExecutionContext(Record):
    """The attempt's identity, folders and handles, as ``current_context()`` returns them."""

    __slots__ = ("execution_id", "task_id", "working_directory", "raw_output_prefix", "checkpoint", "decks", "enable_deck", "secrets")

    def __init__(
        self,
        execution_id: ExecutionIdentity | None = None,
        task_id: TaskIdentity | None = None,
        working_directory: str | None = None,
        raw_output_prefix: str = "",
        checkpoint: Any = None,
        decks: list[Any] | None = None,
        enable_deck: bool = False,
        secrets: Secrets | None = None,
    ) -> None:
        self.execution_id = execution_id or ExecutionIdentity()
        self.task_id = task_id or TaskIdentity()
        self.working_directory = working_directory or make_working_directory()
        self.raw_output_prefix = raw_output_prefix or os.path.join(self.working_directory, "raw")
        self.checkpoint = checkpoint
        self.decks = [] if decks is None else decks
        self.enable_deck = enable_deck
        self.secrets = secrets or Secrets()

    @property
    def default_deck(self) -> Any:
        """The task's "default" deck (made on first use), as flytekit's ``current_context().default_deck``."""
        for deck in self.decks:
            if getattr(deck, "name", None) == "default":
                return deck
        deck = Deck.detached("default")
        self.decks.append(deck)
        return deck

    @property
    def logger(self) -> Any:
        """A structured logger bound to this attempt's identity."""
        from ..support.logs import get_logger

        return get_logger("flytelite.user")


_CURRENT: ContextVar[ExecutionContext | None] = ContextVar("flytelite_context", default=None)


def current_context() -> ExecutionContext:
    """The context of the running task; outside a task, a fresh local one."""
    ctx = _CURRENT.get()
    if ctx is None:
        ctx = ExecutionContext()
        _CURRENT.set(ctx)
    return ctx


@contextlib.contextmanager
def use_context(ctx: ExecutionContext) -> Iterator[ExecutionContext]:
    """Make ``ctx`` what ``current_context()`` returns inside the block."""
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
