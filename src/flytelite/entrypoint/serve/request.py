"""What the agent protocol's requests ask for, as an :class:`AttemptSpec` a worker can run.

A request names its task the way a pod does: through the TaskTemplate's container args (the
``execute`` command, its resolver and loader args; the backend renders the placeholders before
sending them). The inputs come in the request, the output prefix too; the environment a pod would
get (the template's container env, the execution's variables, the identity variables the backend
sets) is rebuilt from the template and the task execution metadata. A fast-registered template
(``fast-execute --additional-distribution <archive> --dest-dir <dir> -- execute ...``) names its code
archive too: the attempt runs in a worker importing from that archive (:mod:`.code_cache`).

A Flyte 2 template's args are flyte's ``a0`` command instead (task type ``actor`` for a reusable
environment): such an attempt runs flyte's own runtime in a Flyte 2 worker (:mod:`.flyte2_worker`),
one per code bundle (``--tgz``/``--pkl``), with the environment the backend sent (the template's and
the request's, which carry ``ACTION_NAME``, ``RUN_NAME``, ``_U_RUN_BASE``...). The template's reuse
policy (``custom.spec``, flyte/_internal/runtime/reuse.py ``add_reusable``) sets its workers' idle time
and how many attempts one worker runs at once (its ``concurrency``).
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from typing import Any

from ...runtime.context import ATTEMPT_NUMBER_VARIABLE, ExecutionIdentity, TaskIdentity
from ...support.exceptions import FlyteliteError
from ...support.records import Record
from ..options import parse_execute_fast


class InvalidRequest(FlyteliteError, ValueError):
    """A request the daemon cannot run (answered with INVALID_ARGUMENT, nothing is written)."""


class AttemptSpec(Record):
    """One attempt, ready for a worker: execute's options, the inputs' bytes and the environment to add."""

    __slots__ = ("attempt_id", "options", "input_bytes", "environ", "want_outputs")

    def __init__(self, attempt_id: str, options: dict[str, Any], input_bytes: bytes, environ: dict[str, str], want_outputs: bool) -> None:
        self.attempt_id, self.options, self.input_bytes = attempt_id, options, input_bytes
        self.environ, self.want_outputs = environ, want_outputs

    @property
    def distribution(self) -> str | None:
        """The fast-registered code archive the attempt's code comes from; ``None`` for the daemon's own code."""
        return self.options.get("dynamic_addl_distro")

    @property
    def flyte2_bundle(self) -> str | None:
        """For a Flyte 2 attempt, its code bundle's URI (``""`` when the image holds its code); else ``None``."""
        return self.options.get("flyte2_bundle")

    @property
    def execution(self) -> str:
        return ExecutionIdentity.from_env(self.environ).name

    @property
    def task(self) -> str:
        return TaskIdentity.from_env(self.environ).name


def build_spec(attempt_id: str, template: Any, inputs: Any, output_prefix: str, metadata: Any, want_outputs: bool = False) -> AttemptSpec:
    """The attempt a CreateTask (or ExecuteTaskSync header) describes; :class:`InvalidRequest` if it cannot run."""
    if not output_prefix:
        raise InvalidRequest("the request has no output_prefix")
    if is_a0_template(template):
        # A pod gets the identity variables (project, domain...) from its task execution id; a connector
        # only the id (flyteplugins/go/tasks/pluginmachinery/flytek8s/k8s_resource_adds.go:42-77 on main).
        environ = identity_environ(metadata.task_execution_id) if metadata.HasField("task_execution_id") else {}
        environ.update((env.key, env.value) for env in template.container.env)
        environ.update(metadata.environment_variables)
        options = a0_options(list(template.container.args), output_prefix, environ)
        options.update(reuse_options(template))
        return AttemptSpec(attempt_id, options, inputs.SerializeToString(), environ, want_outputs)
    options = execute_options(template)
    options["output_prefix"] = output_prefix
    environ = {env.key: env.value for env in template.container.env}
    environ.update(metadata.environment_variables)
    environ.update(identity_environ(metadata.task_execution_id))
    return AttemptSpec(attempt_id, options, inputs.SerializeToString(), environ, want_outputs)


def execute_options(template: Any) -> dict[str, Any]:
    """``execute``'s options from the template's container args."""
    if not template.HasField("container"):
        raise InvalidRequest(f"task {template.id.name or '(unnamed)'} has no container: its args name the task to run")
    args = list(template.container.args)
    fast: dict[str, str] = {}
    if "fast-execute" in args:
        fast, args = fast_execute_parts(args)
    if "map-execute" in args:
        raise InvalidRequest("map tasks cannot run in flytelite serve: their subtasks run as pods of an array node")
    if "execute" not in args:
        raise InvalidRequest(f"the container args are not a flytelite execute command: {' '.join(args)[:300]}")
    options = parse_execute_fast(args[args.index("execute") + 1 :])
    if options is None:
        raise InvalidRequest(f"cannot read the execute command in the container args: {' '.join(args)[:300]}")
    if not options.get("loader_args"):
        raise InvalidRequest("the execute command names no task (no loader args after --)")
    # The inputs travel in the request; --inputs (rendered or not) only names them in messages.
    options["inputs"] = "the request's inputs"
    options.update(fast)
    return options


def fast_execute_parts(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """The options ``fast-execute`` passes to its inner ``execute``, and that inner command.

    As in a pod, ``--dest-dir`` becomes an absolute path (a relative one is taken from the daemon's
    working directory, the image's, as a pod's would be) and reaches the task as ``--dynamic-dest-dir``:
    a fast-registered dynamic task names it in its sub-tasks' commands. The code itself is imported
    from the daemon's cache, never from that folder.
    """
    at = args.index("fast-execute")
    if "--" not in args[at:]:
        raise InvalidRequest(f"the fast-execute command has no '--' before its execute command: {' '.join(args)[:300]}")
    end = args.index("--", at)
    values: dict[str, str] = {}
    rest = args[at + 1 : end]
    while rest:
        name, eq, value = rest.pop(0).partition("=")
        if name not in ("--additional-distribution", "--dest-dir") or (not eq and not rest):
            raise InvalidRequest(f"fast-execute option {name!r} is not understood here (--additional-distribution URI, --dest-dir DIR)")
        values[name] = value if eq else rest.pop(0)
    distribution = values.get("--additional-distribution", "")
    if not distribution or "{{" in distribution:
        raise InvalidRequest(f"the fast-registered template names no code archive (--additional-distribution {distribution!r}): register it with a tool that uploads the archive and fills in its URI")
    dest_dir = values.get("--dest-dir", "")
    dest_dir = os.path.abspath("." if not dest_dir or "{{" in dest_dir else dest_dir)
    return {"dynamic_addl_distro": distribution, "dynamic_dest_dir": dest_dir}, args[end + 1 :]


def identity_environ(task_execution_id: Any) -> dict[str, str]:
    """The identity variables the backend sets in a task's pod."""
    execution = task_execution_id.node_execution_id.execution_id
    task_id = task_execution_id.task_id
    return {
        **ExecutionIdentity(project=execution.project, domain=execution.domain, name=execution.name).to_env(),
        **TaskIdentity(project=task_id.project, domain=task_id.domain, name=task_id.name, version=task_id.version).to_env(),
        ATTEMPT_NUMBER_VARIABLE: str(task_execution_id.retry_attempt),
    }


# a0's options, each taking a value (flyte/_bin/runtime.py _action_options), by their long names.
A0_OPTIONS = {
    **{name: name for name in (
        "--inputs", "--outputs-path", "--version", "--run-base-dir", "--raw-data-path", "--checkpoint-path",
        "--prev-checkpoint", "--name", "--run-name", "--run-start-time", "--project", "--domain", "--org", "--debug",
        "--interactive-mode", "--image-cache", "--tgz", "--pkl", "--dest", "--resolver",
    )},
    "-i": "--inputs", "-o": "--outputs-path", "-v": "--version", "-r": "--raw-data-path", "-c": "--checkpoint-path", "-p": "--prev-checkpoint",
}  # fmt: skip
# a0's options that fall back to a variable (its click envvars), and the assertions _run_action makes on them.
A0_REQUIRED = {"--run-base-dir": "_U_RUN_BASE", "--org": "_U_ORG_NAME", "--project": "FLYTE_INTERNAL_EXECUTION_PROJECT", "--domain": "FLYTE_INTERNAL_EXECUTION_DOMAIN", "--run-name": "RUN_NAME", "--name": "ACTION_NAME"}


def is_a0_template(template: Any) -> bool:
    return template.HasField("container") and template.container.args[:1] == ["a0"]


def a0_options(args: list[str], output_prefix: str, environ: dict[str, str]) -> dict[str, Any]:
    """A Flyte 2 attempt's options: a0's arguments (the output prefix the request's), its code bundle."""
    if not _flyte_installed():
        raise InvalidRequest("this daemon cannot run Flyte 2 tasks (a0 commands): install flytelite[flyte2] in its image")
    values, positional = _parse_a0(args[1:])
    for name in ("--inputs", "--outputs-path", "--version"):
        if name not in values:
            raise InvalidRequest(f"the a0 command has no {name}: {' '.join(args)[:300]}")
    for name, variable in A0_REQUIRED.items():
        if not values.get(name) and not environ.get(variable):
            raise InvalidRequest(f"the a0 command names no {name[2:]}: neither {name} nor the variable {variable} is set")
    if "--pkl" not in values and not (values.get("--resolver") and positional):
        raise InvalidRequest("the a0 command names no task: --resolver and its arguments are required without a --pkl bundle")
    if "--tgz" in values and "--pkl" in values:
        raise InvalidRequest("the a0 command names two code bundles (--tgz and --pkl)")
    values["--outputs-path"] = output_prefix
    # The inputs travel in the request: the worker writes them to a file and names it here.
    values["--inputs"] = "the request's inputs"
    a0_args = [part for name, value in values.items() for part in (name, value)] + ["--", *positional]
    bundle = values.get("--tgz") or values.get("--pkl") or ""
    return {"a0_args": a0_args, "output_prefix": output_prefix, "flyte2_bundle": bundle}


def _parse_a0(args: list[str]) -> tuple[dict[str, str], list[str]]:
    values: dict[str, str] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positional += rest
            break
        if not arg.startswith("-"):
            positional.append(arg)
            continue
        given, eq, value = arg.partition("=")
        name = A0_OPTIONS.get(given)
        if name is None:
            raise InvalidRequest(f"a0 has no option {given!r} (a0's options: {', '.join(sorted(o for o in A0_OPTIONS if o.startswith('--')))})")
        if not eq:
            if not rest:
                raise InvalidRequest(f"the a0 option {given} has no value")
            value = rest.pop(0)
        values[name] = value
    return values, positional


def reuse_options(template: Any) -> dict[str, Any]:
    """The reuse policy's idle time and concurrency, from the actor spec flyte writes in ``custom``
    (``ttl_seconds`` and ``parallelism``, flyte/_internal/runtime/reuse.py ``add_reusable``)."""
    custom = template.custom.fields
    if "type" not in custom or custom["type"].string_value != "actor" or "spec" not in custom:
        return {}
    spec = custom["spec"].struct_value.fields
    options: dict[str, Any] = {}
    idle_ttl = spec.get("ttl_seconds")
    if idle_ttl is not None and idle_ttl.HasField("number_value"):
        options["idle_ttl"] = idle_ttl.number_value
    parallelism = spec.get("parallelism")
    if parallelism is not None and parallelism.HasField("number_value"):
        concurrency = parallelism.number_value
        # ReusePolicy refuses anything else (flyte/_reusable_environment.py __post_init__): a template that has it was not written by flyte.
        if concurrency != int(concurrency) or concurrency < 1:
            raise InvalidRequest(f"the reuse policy's concurrency (custom.spec.parallelism) must be a whole number of at least 1, not {concurrency}")
        options["concurrency"] = int(concurrency)
    return options


@lru_cache(maxsize=1)
def _flyte_installed() -> bool:
    """Whether flyte can be imported, found without importing it (the server never does)."""
    return importlib.util.find_spec("flyte") is not None
