"""flyteidl of node graphs: the ``DynamicJobSpec`` of a dynamic task's body (PROTOCOL section 8) and a workflow's ``WorkflowTemplate``."""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import dynamic_job_pb2, identifier_pb2, literals_pb2, tasks_pb2, workflow_pb2

from ..types import BlobPaths, LiteralMismatch, to_literal, type_name
from .map_task import MapSubtask
from .nodes import WORKFLOW_INPUTS, Node, Promise
from .template import SerializationSettings, resources_to_idl, to_task_template
from .workflow import Workflow


# Messages are filled in place (``add()``, ``CopyFrom``) rather than built from keyword arguments,
# which copy every sub-message again at each level: a fan-out makes one node per call.


def fill_binding(target: literals_pb2.BindingData, value: Any, py_type: Any, upstream: set[str], blobs: BlobPaths | None, where: str) -> None:
    """A value as a binding: promise, collection, map or constant; nodes it depends on go to ``upstream``."""
    if isinstance(value, Promise):
        if value.node_id != WORKFLOW_INPUTS:  # a workflow input is no node to wait for
            upstream.add(value.node_id)
        target.promise.node_id, target.promise.var = value.node_id, value.var
        return
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if isinstance(value, (list, tuple)) and origin is list:
        target.collection.SetInParent()
        for i, v in enumerate(value):
            fill_binding(target.collection.bindings.add(), v, args[0], upstream, blobs, f"{where}[{i}]")
        return
    if isinstance(value, dict) and origin is dict and args and args[0] is str:
        target.map.SetInParent()
        for k, v in value.items():
            fill_binding(target.map.bindings[k], v, args[1], upstream, blobs, f"{where}[{k!r}]")
        return
    try:
        lit = to_literal(value, py_type, blobs)
    except (LiteralMismatch, TypeError, ValueError) as exc:
        raise TypeError(f"{where} ({type_name(py_type)}): {exc}") from None
    _fill_constant(target, lit)


def _fill_constant(target: literals_pb2.BindingData, lit: literals_pb2.Literal) -> None:
    kind = lit.WhichOneof("value")
    if kind == "collection":
        target.collection.SetInParent()
        for element in lit.collection.literals:
            _fill_constant(target.collection.bindings.add(), element)
    elif kind == "map":
        target.map.SetInParent()
        for k, v in lit.map.literals.items():
            _fill_constant(target.map.bindings[k], v)
    else:
        target.scalar.CopyFrom(lit.scalar)


def add_bindings(
    out: Any, values: dict[str, Any], types: dict[str, Any], blobs: BlobPaths | None, what: str, constants: dict[str, Any] | None = None
) -> list[str]:
    """Bindings sorted by variable name, added to ``out``; the sorted ids of the nodes they read. ``constants`` are already encoded."""
    upstream: set[str] = set()
    constants = constants or {}
    for name in sorted(values):
        binding = out.add()
        binding.var = name
        if name in constants:
            _fill_constant(binding.binding, constants[name])
        else:
            fill_binding(binding.binding, values[name], types[name], upstream, blobs, f"{what} '{name}'")
    return sorted(upstream)


def fill_node_metadata(meta: workflow_pb2.NodeMetadata, node: Node) -> None:
    meta.name = node.name
    meta.retries.retries = node.retries
    if node.timeout is not None:
        meta.timeout.FromTimedelta(node.timeout)
    if node.interruptible is not None:
        meta.interruptible = node.interruptible


class Entities:
    """The templates a graph references, each made once, in the order of first reference."""

    def __init__(self, settings: SerializationSettings, blobs: BlobPaths | None) -> None:
        self.settings, self.blobs = settings, blobs
        self.tasks: dict[str, tasks_pb2.TaskTemplate] = {}
        self.workflows: dict[str, workflow_pb2.WorkflowTemplate] = {}

    def task_template(self, task: Any) -> tasks_pb2.TaskTemplate:
        template = self.tasks.get(task.name)
        if template is None:
            template = self.tasks[task.name] = to_task_template(task, self.settings)
        return template

    def workflow_template(self, workflow: Workflow) -> workflow_pb2.WorkflowTemplate:
        """The workflow's template; the tasks and sub-workflows it calls are collected first."""
        template = self.workflows.get(workflow.name)
        if template is not None:
            return template
        nodes, outputs = workflow.graph
        template = workflow_pb2.WorkflowTemplate(id=self.identifier(identifier_pb2.WORKFLOW, workflow.name), interface=workflow.interface)
        for node in nodes:
            self.add_node(template.nodes, node)
        add_bindings(template.outputs, outputs, workflow.python_interface.outputs, self.blobs, f"workflow {workflow.name}'s output")
        template.metadata.SetInParent()
        template.metadata_defaults.interruptible = bool(workflow.metadata.interruptible)
        self.workflows[workflow.name] = template
        return template

    def identifier(self, resource_type: int, name: str) -> identifier_pb2.Identifier:
        s = self.settings
        return identifier_pb2.Identifier(resource_type=resource_type, project=s.project, domain=s.domain, name=name, version=s.version)  # type: ignore[arg-type]

    def add_node(self, out: Any, node: Node) -> None:
        """Add a task node, an array node for a map task, or a workflow node for a sub-workflow to ``out``."""
        spec = out.add()
        spec.id = node.id
        fill_node_metadata(spec.metadata, node)
        upstream = add_bindings(spec.inputs, node.inputs, node.task.call_interface.inputs, self.blobs, f"node {node.id} ({node.task.name}) input", node.constants)
        spec.upstream_node_ids.extend(upstream)
        if isinstance(node.task, Workflow):
            spec.workflow_node.sub_workflow_ref.CopyFrom(self.workflow_template(node.task).id)
            return
        if isinstance(node.task, MapSubtask):
            inner = spec.array_node.node
            inner.id = node.task.name  # flytekit's id of the sub-node
            inner.metadata.CopyFrom(spec.metadata)
            inner.inputs.extend(spec.inputs)
            spec.array_node.min_success_ratio = 1.0
            spec.array_node.is_original_sub_node_interface.SetInParent()  # false: typed by the list-form template
            task_node = inner.task_node
        else:
            task_node = spec.task_node
        task_node.reference_id.CopyFrom(self.task_template(node.task).id)
        task_node.overrides.SetInParent()  # flytekit always sends it
        if node.requests is not None or node.limits is not None:
            task_node.overrides.resources.CopyFrom(resources_to_idl(node.requests, node.limits))


def dynamic_job_spec(
    nodes: list[Node], outputs: dict[str, Any], output_types: dict[str, Any], settings: SerializationSettings, blobs: BlobPaths
) -> dynamic_job_pb2.DynamicJobSpec:
    """The spec: nodes in call order, the parent's output bindings, every referenced template once."""
    entities = Entities(settings, blobs)
    spec = dynamic_job_pb2.DynamicJobSpec(min_successes=len(nodes))
    for node in nodes:
        entities.add_node(spec.nodes, node)
    add_bindings(spec.outputs, outputs, output_types, blobs, "the dynamic task's output")
    spec.tasks.extend(entities.tasks.values())
    spec.subworkflows.extend(entities.workflows.values())
    return spec
