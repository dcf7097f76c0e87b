"""The ``DynamicJobSpec`` of the nodes a dynamic task's body made (PROTOCOL section 8)."""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import dynamic_job_pb2, literals_pb2, workflow_pb2

from ..types import BlobPaths, LiteralMismatch, to_literal, type_name
from .nodes import Node, Promise
from .template import SerializationSettings, resources_to_idl, to_task_template


def binding_data(value: Any, py_type: Any, upstream: set[str], blobs: BlobPaths, where: str) -> literals_pb2.BindingData:
    """A value as a binding: promise, collection, map or constant; nodes it depends on go to ``upstream``."""
    if isinstance(value, Promise):
        upstream.add(value.node_id)
        return literals_pb2.BindingData(promise=_reference(value))
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if isinstance(value, (list, tuple)) and origin is list:
        items = [binding_data(v, args[0], upstream, blobs, f"{where}[{i}]") for i, v in enumerate(value)]
        return literals_pb2.BindingData(collection=literals_pb2.BindingDataCollection(bindings=items))
    if isinstance(value, dict) and origin is dict and args and args[0] is str:
        entries = {k: binding_data(v, args[1], upstream, blobs, f"{where}[{k!r}]") for k, v in value.items()}
        return literals_pb2.BindingData(map=literals_pb2.BindingDataMap(bindings=entries))
    try:
        return _constant(to_literal(value, py_type, blobs))
    except (LiteralMismatch, TypeError, ValueError) as exc:
        raise TypeError(f"{where} ({type_name(py_type)}): {exc}") from None


def _reference(promise: Promise) -> Any:
    from flyteidl.core import types_pb2

    return types_pb2.OutputReference(node_id=promise.node_id, var=promise.var)


def _constant(lit: literals_pb2.Literal) -> literals_pb2.BindingData:
    kind = lit.WhichOneof("value")
    if kind == "collection":
        items = [_constant(element) for element in lit.collection.literals]
        return literals_pb2.BindingData(collection=literals_pb2.BindingDataCollection(bindings=items))
    if kind == "map":
        entries = {k: _constant(v) for k, v in lit.map.literals.items()}
        return literals_pb2.BindingData(map=literals_pb2.BindingDataMap(bindings=entries))
    return literals_pb2.BindingData(scalar=lit.scalar)


def bindings(
    values: dict[str, Any], types: dict[str, Any], blobs: BlobPaths, what: str, constants: dict[str, Any] | None = None
) -> tuple[list[literals_pb2.Binding], list[str]]:
    """Bindings sorted by variable name, and the sorted ids of the nodes they read; ``constants`` are already encoded."""
    upstream: set[str] = set()
    constants = constants or {}
    out = [
        literals_pb2.Binding(
            var=name,
            binding=_constant(constants[name]) if name in constants else binding_data(values[name], types[name], upstream, blobs, f"{what} input '{name}'"),
        )
        for name in sorted(values)
    ]
    return out, sorted(upstream)


def node_metadata(node: Node) -> workflow_pb2.NodeMetadata:
    meta = workflow_pb2.NodeMetadata(name=node.name)
    meta.retries.retries = node.retries
    if node.timeout is not None:
        meta.timeout.FromTimedelta(node.timeout)
    if node.interruptible is not None:
        meta.interruptible = node.interruptible
    return meta


def to_node(node: Node, template_id: Any, blobs: BlobPaths) -> workflow_pb2.Node:
    inputs, upstream = bindings(node.inputs, node.task.call_interface.inputs, blobs, f"node {node.id} ({node.task.name})", node.constants)
    task_node = workflow_pb2.TaskNode(reference_id=template_id)
    if node.requests is not None or node.limits is not None:
        task_node.overrides.resources.CopyFrom(resources_to_idl(node.requests, node.limits))
    if getattr(node.task, "execute_verb", "") != "map-execute":
        return workflow_pb2.Node(id=node.id, metadata=node_metadata(node), inputs=inputs, upstream_node_ids=upstream, task_node=task_node)
    inner = workflow_pb2.Node(id=node.id, metadata=node_metadata(node), inputs=inputs, task_node=task_node)
    array = workflow_pb2.ArrayNode(node=inner, min_success_ratio=1.0)
    return workflow_pb2.Node(id=node.id, metadata=node_metadata(node), inputs=inputs, upstream_node_ids=upstream, array_node=array)


def dynamic_job_spec(
    nodes: list[Node], outputs: dict[str, Any], output_types: dict[str, Any], settings: SerializationSettings, blobs: BlobPaths
) -> dynamic_job_pb2.DynamicJobSpec:
    """The spec: nodes in call order, the parent's output bindings, every referenced template once."""
    templates: dict[str, Any] = {}
    spec_nodes = []
    for node in nodes:
        template = templates.get(node.task.name)
        if template is None:
            template = templates[node.task.name] = to_task_template(node.task, settings)
        spec_nodes.append(to_node(node, template.id, blobs))
    output_bindings, _ = bindings(outputs, output_types, blobs, "the dynamic task's output")
    return dynamic_job_pb2.DynamicJobSpec(
        nodes=spec_nodes, min_successes=len(spec_nodes), outputs=output_bindings, tasks=list(templates.values())
    )
