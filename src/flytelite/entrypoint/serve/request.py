"""What the agent protocol's requests ask for, as an :class:`AttemptSpec` a worker can run.

A request names its task the way a pod does: through the TaskTemplate's container args (the
``execute`` command, its resolver and loader args; the backend renders the placeholders before
sending them). The inputs come in the request, the output prefix too; the environment a pod would
get (the template's container env, the execution's variables, the identity variables the backend
sets) is rebuilt from the template and the task execution metadata.
"""

from __future__ import annotations

from typing import Any

from ...runtime.context import ATTEMPT_NUMBER_VARIABLE, ExecutionIdentity, TaskIdentity
from ...support.records import Record
from ..options import parse_execute_fast


class InvalidRequest(ValueError):
    """A request the daemon cannot run (answered with INVALID_ARGUMENT, nothing is written)."""


class AttemptSpec(Record):
    """One attempt, ready for a worker: execute's options, the inputs' bytes and the environment to add."""

    __slots__ = ("attempt_id", "options", "input_bytes", "environ", "want_outputs")

    def __init__(self, attempt_id: str, options: dict[str, Any], input_bytes: bytes, environ: dict[str, str], want_outputs: bool) -> None:
        self.attempt_id, self.options, self.input_bytes = attempt_id, options, input_bytes
        self.environ, self.want_outputs = environ, want_outputs

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
    if "fast-execute" in args:
        raise InvalidRequest("fast-registered tasks cannot run in flytelite serve: put the code in the daemon's image and register without --fast")
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
    return options


def identity_environ(task_execution_id: Any) -> dict[str, str]:
    """The identity variables the backend sets in a task's pod."""
    execution = task_execution_id.node_execution_id.execution_id
    task_id = task_execution_id.task_id
    return {
        **ExecutionIdentity(project=execution.project, domain=execution.domain, name=execution.name).to_env(),
        **TaskIdentity(project=task_id.project, domain=task_id.domain, name=task_id.name, version=task_id.version).to_env(),
        ATTEMPT_NUMBER_VARIABLE: str(task_execution_id.retry_attempt),
    }
