"""``@dynamic``: a task whose body, in the container, builds the nodes the backend then runs.

Called locally, a dynamic task runs its body and every task it calls in-process, like a task. In
the container the body runs under a :class:`~flytelite.model.nodes.NodeBuilder`; the calls it made
become a ``DynamicJobSpec`` (``futures.pb``, PROTOCOL section 8) with the templates of every task
they reference. Building those templates needs the serialization settings (images, project,
domain, fast), which ``flytelite serialize`` writes into the dynamic task's environment.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any, Callable, Mapping

from ..support.exceptions import FlyteliteError
from ..runtime.context import TASK_VARIABLES, ExecutionContext, TaskIdentity
from .nodes import NodeBuilder, Promise, building, run_nodes
from .tasks import Task, blob_paths_of, task

SETTINGS_ENV = "FLYTELITE_SERIALIZATION_SETTINGS"
# Set by a container run: the body's nodes go to the spec instead of running in-process.
_COMPILING: contextvars.ContextVar[list[NodeBuilder] | None] = contextvars.ContextVar("flytelite_compiling", default=None)


class MissingSettings(FlyteliteError):
    """The dynamic task was registered without the settings it needs to build its sub-tasks."""


class DynamicTask(Task):
    """A task whose container run writes ``futures.pb`` when its body calls tasks.

    The body always runs under a node builder; called locally, the nodes then run in-process in
    call order (which is a topological order), so a local run sees the same graph a cluster does.
    """

    def execute(self, **kwargs: Any) -> Any:
        builder = NodeBuilder()
        with building(builder):
            rval = super().execute(**kwargs)
        sink = _COMPILING.get()
        if sink is not None:
            sink.append(builder)
            return rval
        return run_nodes(builder.nodes, rval)

    def container_env(self, settings: Any) -> dict[str, str]:
        carried = {"images": settings.images, "project": settings.project, "domain": settings.domain, "fast": settings.fast}
        return {**super().container_env(settings), SETTINGS_ENV: json.dumps(carried, sort_keys=True)}

    def compile_futures(
        self, ctx: ExecutionContext, inputs: dict[str, Any], environ: Mapping[str, str], distribution: str | None, dest_dir: str | None
    ) -> tuple[bytes | None, Any]:
        """Run the body under a node builder: the serialized spec, or ``None`` and the return value when no task was called."""
        sink: list[NodeBuilder] = []
        token = _COMPILING.set(sink)
        try:
            rval = self.run_hooks(ctx, inputs)
        finally:
            _COMPILING.reset(token)
        builder = sink[0]
        if not builder.nodes:
            return None, _without_promises(rval)
        settings = settings_from_env(self, environ, distribution, dest_dir)
        from .spec import dynamic_job_spec

        outputs = self.python_interface.pack_outputs(rval)
        spec = dynamic_job_spec(builder.nodes, outputs, self.python_interface.outputs, settings, blob_paths_of(ctx))
        return spec.SerializeToString(), None


def _without_promises(rval: Any) -> Any:
    if isinstance(rval, Promise):
        raise TypeError("the dynamic task returned a promise although it called no task")
    return rval


def settings_from_env(dynamic: Task, environ: Mapping[str, str], distribution: str | None, dest_dir: str | None) -> Any:
    """The settings ``flytelite serialize`` stored, with this execution's task identity and fast distribution."""
    from .template import SerializationSettings

    raw = environ.get(SETTINGS_ENV)
    task_id = TaskIdentity.from_env(environ)
    if not raw or not task_id.version:
        missing = SETTINGS_ENV if not raw else TASK_VARIABLES["version"][0]
        raise MissingSettings(
            f"dynamic task {dynamic.name} cannot build its sub-tasks: {missing} is not set. Register the template that "
            f"`flytelite serialize <file.py> -o <folder> --image <uri>` writes, which carries the settings in its environment"
        )
    stored = json.loads(raw)
    project = task_id.project or stored["project"]
    domain = task_id.domain or stored["domain"]
    fast = bool(stored.get("fast")) or distribution is not None
    return SerializationSettings(
        stored["images"], project=project, domain=domain, version=task_id.version, fast=fast, distribution=(distribution, dest_dir or ".") if distribution else None
    )


def dynamic(_fn: Callable[..., Any] | None = None, **options: Any) -> Any:
    """A dynamic task: ``@dynamic`` or ``@dynamic(retries=1, ...)`` with the arguments of ``@task``.

    ``reusable=True`` runs the body in flytelite serve's warm workers: the backend wraps every task node,
    an agent's included, in its dynamic handler, which takes a succeeded node that left ``futures.pb``
    as a dynamic parent (flyte v1.16.8 flytepropeller/pkg/controller/nodes/dynamic/handler.go:62-88,
    nodes/factory/handler_factory.go:65).
    """
    return task(_fn, task_class=DynamicTask, **options)
