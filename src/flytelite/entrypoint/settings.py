"""The environment of an attempt: every variable flytelite reads, with its default, in one table.

:class:`AttemptSettings` resolves the attempt's own variables once, when the attempt begins; the
pipeline and the verdict read it rather than the environment. A :class:`Variable` is defined once,
beside the code that reads it, and this table is composed from those definitions where the module
can be imported from here: the storage layer's (``io/variables.py``, parsed once per set of values
by ``io.variables.current()``; the credentials are ``io/credentials.py``'s, the clouds'
configuration ``io/_cloud_config.py``'s and the README's storage table), logging's
(``support/logs.py``) and the mounted secrets' (``support/redact.py``, read by
``runtime/context.py`` too). The rows defined here are the attempt's, fast-execute's archive limits
(read by ``archive.py``) and those read by modules that cannot import ``io`` or whose import would
cost the start-up path: map tasks' (``model/map_task.py``), the dynamic task's settings
(``model/dynamic.py``) and the old dataclass format (``types/_structured.py``). The identity variables are
``runtime/context.py``'s ``EXECUTION_VARIABLES`` and ``TASK_VARIABLES``. The README's table of
variables is checked against :data:`VARIABLES` by a test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from ..io import variables as io_variables
from ..io.variables import Variable
from ..support import logs, redact
from ..support.records import Record


FAIL_ON_ERROR = Variable("FLYTE_FAIL_ON_ERROR", "false", "exit 1 after writing an error document")
DIST_ERROR_STRATEGY = Variable(
    "FLYTE_INTERNAL_DIST_ERROR_STRATEGY", "unset", "when set, the error document is `error-<hex>.pb` with the worker's name", alias="_F_DES"
)
WORKER_NAME = Variable("FLYTE_INTERNAL_WORKER_NAME", "unset", "the worker named in an `error-<hex>.pb` document", alias="_F_WN")
# Inside Kubernetes' default grace period of 30 s.
TERMINATION_GRACE_S = Variable("FLYTELITE_TERMINATION_GRACE_S", "20", "seconds a terminated attempt has to write its document")
OFFLOAD_MIN_MB = Variable("_F_L_MIN_SIZE_MB", "unset", "outputs of this size or more are offloaded beside `outputs.pb`")
OFFLOAD_MAX_MB = Variable("_F_L_MAX_SIZE_MB", "1000", "outputs larger than this fail the attempt (with offloading on)")
RUNTIME_PACKAGES = Variable("_F_RUNTIME_PACKAGES", "unset", "packages pip installs before the task is loaded")
ARCHIVE_MAX_MEMBERS = Variable("FLYTELITE_ARCHIVE_MAX_MEMBERS", "100000", "most members of a fast-execute archive")
ARCHIVE_MAX_MB = Variable("FLYTELITE_ARCHIVE_MAX_MB", "1024", "most MiB a fast-execute archive unpacks to")
PDB = Variable("FLYTELITE_PDB", "false", "`true`: a post-mortem debugger on the user's exception when stdin is a terminal (`execute --pdb`)")

VARIABLES: tuple[Variable, ...] = (
    FAIL_ON_ERROR,
    DIST_ERROR_STRATEGY,
    WORKER_NAME,
    TERMINATION_GRACE_S,
    OFFLOAD_MIN_MB,
    OFFLOAD_MAX_MB,
    RUNTIME_PACKAGES,
    PDB,
    Variable("FLYTE_USE_OLD_DC_FORMAT", "false", "`true`: dataclasses, pydantic models and dicts are written as the pre-1.14 JSON Struct, as flytekit does"),
    ARCHIVE_MAX_MEMBERS,
    ARCHIVE_MAX_MB,
    Variable("FLYTELITE_SERIALIZATION_SETTINGS", "unset", "a dynamic task's settings for its sub-tasks' templates (written by `serialize`)"),
    *logs.VARIABLES,
    *io_variables.VARIABLES,
    *redact.VARIABLES,
    Variable("BATCH_JOB_ARRAY_INDEX_OFFSET", "0", "a map subtask's first element"),
    Variable("BATCH_JOB_ARRAY_INDEX_VAR_NAME", "unset", "the variable holding a map subtask's index"),
)


N = TypeVar("N", int, float)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "t", "yes")


def _number(variable: Variable, environ: Mapping[str, str], parse: Callable[[str], N], problems: list[str]) -> N | None:
    """The variable's number; ``None`` when unset, or when malformed (then a line in ``problems``)."""
    value = variable.read(environ)
    if value is None:
        return None
    try:
        return parse(value)
    except ValueError:
        problems.append(f"{variable.name}={value!r} is not a{'n integer' if parse is int else ' number'}")
        return None


class AttemptSettings(Record):
    """The attempt's own variables, resolved once from its environment.

    A malformed value takes its default and is listed in ``problems``: the attempt then fails with
    a SYSTEM error naming it (its document still written with the rest of the settings).
    """

    __slots__ = (
        "fail_on_error", "distributed_errors", "worker_name", "termination_grace_s", "offload_min_mb", "offload_max_mb", "runtime_packages", "problems",
    )  # fmt: skip

    def __init__(
        self,
        fail_on_error: bool = False,
        distributed_errors: bool = False,
        worker_name: str = "",
        termination_grace_s: float = float(TERMINATION_GRACE_S.default),
        offload_min_mb: int | None = None,
        offload_max_mb: int = int(OFFLOAD_MAX_MB.default),
        runtime_packages: tuple[str, ...] = (),
        problems: tuple[str, ...] = (),
    ) -> None:
        self.fail_on_error, self.distributed_errors, self.worker_name = fail_on_error, distributed_errors, worker_name
        self.termination_grace_s = termination_grace_s
        self.offload_min_mb, self.offload_max_mb = offload_min_mb, offload_max_mb
        self.runtime_packages, self.problems = runtime_packages, problems

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AttemptSettings:
        problems: list[str] = []
        grace_s = _number(TERMINATION_GRACE_S, environ, float, problems)
        offload_max_mb = _number(OFFLOAD_MAX_MB, environ, int, problems)
        return cls(
            fail_on_error=_flag(FAIL_ON_ERROR.read(environ)),
            distributed_errors=DIST_ERROR_STRATEGY.read(environ) is not None,
            worker_name=WORKER_NAME.read(environ) or "",
            termination_grace_s=float(TERMINATION_GRACE_S.default) if grace_s is None else grace_s,
            offload_min_mb=_number(OFFLOAD_MIN_MB, environ, int, problems),
            offload_max_mb=int(OFFLOAD_MAX_MB.default) if offload_max_mb is None else offload_max_mb,
            runtime_packages=tuple((RUNTIME_PACKAGES.read(environ) or "").split()),
            problems=tuple(problems),
        )
