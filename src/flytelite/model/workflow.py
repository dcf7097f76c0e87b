"""``@workflow``: a static graph of task, map task, dynamic task and sub-workflow calls.

The body runs once, when the graph is first needed, under a node builder (ids ``n0``, ``n1``, ...)
with promises of the start node as its inputs; what it returns are the workflow's outputs. Called
locally, a workflow runs that graph in-process with the conversions of a task call, so a local run
sees the graph a cluster runs. Inside a dynamic task or another workflow, a call is a sub-workflow node.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from .metadata import ResourceSpec, TaskMetadata
from .nodes import WORKFLOW_INPUTS, Node, NodeBuilder, Promise, building, run_nodes
from .tasks import Task


class Workflow(Task):
    """A workflow; it is called and converted like a task (``Task.__call__``), but never registered as one."""

    def __init__(self, fn: Callable[..., Any], interruptible: bool = False) -> None:
        metadata = TaskMetadata(interruptible=interruptible)  # what its node carries: no retries, interruptible
        super().__init__(fn, metadata=metadata, resources=ResourceSpec.build(None, None, None))

    @functools.cached_property
    def graph(self) -> tuple[list[Node], dict[str, Any]]:
        """The nodes the body makes, and the workflow's outputs by name (promises or constants)."""
        builder = NodeBuilder(id_prefix="n")
        inputs = {name: Promise(WORKFLOW_INPUTS, name, py_type) for name, py_type in self.python_interface.inputs.items()}
        try:
            with building(builder):
                rval = self._fn(**inputs)
            return builder.nodes, self.python_interface.pack_outputs(rval)
        except (TypeError, ValueError) as exc:  # misuse found while building: say in which workflow
            raise type(exc)(f"workflow {self.name}: {exc}") from None

    def execute(self, **kwargs: Any) -> Any:
        nodes, outputs = self.graph
        values = run_nodes(nodes, outputs, {WORKFLOW_INPUTS: kwargs})
        return self.python_interface.unpack_outputs(values)


def workflow(_fn: Callable[..., Any] | None = None, *, interruptible: bool = False) -> Any:
    """A workflow: ``@workflow`` or ``@workflow(interruptible=True)`` (the default of its nodes)."""

    def wrap(fn: Callable[..., Any]) -> Workflow:
        return Workflow(fn, interruptible=interruptible)

    return wrap(_fn) if _fn is not None else wrap
