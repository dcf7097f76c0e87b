"""flyteidl of node graphs: the ``DynamicJobSpec`` of a dynamic task's body (PROTOCOL section 8) and a workflow's ``WorkflowTemplate``."""

from __future__ import annotations

import typing
from typing import Any

from flyteidl.core import condition_pb2, dynamic_job_pb2, identifier_pb2, literals_pb2, tasks_pb2, workflow_pb2

from ..types import BlobPaths, LiteralMismatch, to_literal, type_name
from .conditions import BranchNode, Case, condition_var
from .launch_plan import LaunchPlan
from .map_task import MapSubtask
from .nodes import WORKFLOW_INPUTS, Conjunction, Node, Promise
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
        for key in value.attr_path:
            attribute = target.promise.attr_path.add()
            if isinstance(key, int):
                attribute.int_value = key
            else:
                attribute.string_value = key
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
    out: Any,
    values: dict[str, Any],
    types: dict[str, Any],
    blobs: BlobPaths | None,
    what: str,
    constants: dict[str, Any] | None = None,
    by_name: bool = True,
) -> set[str]:
    """Bindings added to ``out``, sorted by variable name or (``by_name=False``, a graph's outputs) in
    declared order, as flytekit writes each; the ids of the nodes they read. ``constants`` are already encoded."""
    upstream: set[str] = set()
    constants = constants or {}
    for name in sorted(values) if by_name else values:
        binding = out.add()
        binding.var = name
        if name in constants:
            _fill_constant(binding.binding, constants[name])
        else:
            fill_binding(binding.binding, values[name], types[name], upstream, blobs, f"{what} '{name}'")
    return upstream


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
        add_bindings(template.outputs, outputs, workflow.python_interface.outputs, self.blobs, f"workflow {workflow.name}'s output", by_name=False)
        template.metadata.SetInParent()
        template.metadata_defaults.interruptible = bool(workflow.metadata.interruptible)
        self.workflows[workflow.name] = template
        return template

    def identifier(self, resource_type: int, name: str) -> identifier_pb2.Identifier:
        s = self.settings
        return identifier_pb2.Identifier(resource_type=resource_type, project=s.project, domain=s.domain, name=name, version=s.version)  # type: ignore[arg-type]

    def add_node(self, out: Any, node: Node) -> None:
        self.fill_node(out.add(), node)

    def fill_node(self, spec: workflow_pb2.Node, node: Node) -> None:
        """A task node, an array node for a map task, a workflow node for a sub-workflow, or a branch node."""
        spec.id = node.id
        fill_node_metadata(spec.metadata, node)
        if isinstance(node, BranchNode):
            self._fill_branch(spec, node)
            return
        upstream = add_bindings(spec.inputs, node.inputs, node.task.call_interface.inputs, self.blobs, f"node {node.id} ({node.task.name}) input", node.constants)
        spec.upstream_node_ids.extend(sorted(upstream.union(after.id for after in node.runs_after)))
        if isinstance(node.task, Workflow):
            spec.workflow_node.sub_workflow_ref.CopyFrom(self.workflow_template(node.task).id)
            return
        if isinstance(node.task, LaunchPlan):
            spec.workflow_node.launchplan_ref.CopyFrom(self.identifier(identifier_pb2.LAUNCH_PLAN, node.task.name))
            return
        if isinstance(node.task, MapSubtask):
            inner = spec.array_node.node
            inner.id = node.task.name  # flytekit's id of the sub-node
            inner.metadata.CopyFrom(spec.metadata)
            inner.inputs.extend(spec.inputs)
            spec.array_node.min_success_ratio = 1.0
            spec.array_node.is_original_sub_node_interface.SetInParent()  # false: typed by the list-form template
            spec.array_node.bound_inputs.extend(sorted(node.task.bound_inputs))
            task_node = inner.task_node
        else:
            task_node = spec.task_node
        task_node.reference_id.CopyFrom(self.task_template(node.task).id)
        task_node.overrides.SetInParent()  # flytekit always sends it
        if node.requests is not None or node.limits is not None:
            task_node.overrides.resources.CopyFrom(resources_to_idl(node.requests, node.limits))


    def _fill_branch(self, spec: workflow_pb2.Node, branch: BranchNode) -> None:
        """The condition operands as inputs named ``<node id>.<output>``, and the cases, as flytekit writes them."""
        promises = dict(branch.inputs)
        types = {var: promise.py_type for var, promise in promises.items()}
        upstream = add_bindings(spec.inputs, promises, types, self.blobs, f"conditional {branch.name} input")
        spec.upstream_node_ids.extend(sorted(upstream.union(after.id for after in branch.runs_after)))
        if_else = spec.branch_node.if_else
        first, *others, last = branch.cases
        self._fill_case(if_else.case, first)
        for case in others:
            self._fill_case(if_else.other.add(), case)
        if last.node is not None:
            self.fill_node(if_else.else_node, last.node)
        else:
            if_else.error.failed_node_id, if_else.error.message = branch.name, last.error or ""

    def _fill_case(self, block: workflow_pb2.IfBlock, case: Case) -> None:
        assert case.condition is not None and case.node is not None
        fill_condition(block.condition, case.condition)
        self.fill_node(block.then_node, case.node)


_COMPARISON_OPERATORS = {"==": "EQ", "!=": "NEQ", ">": "GT", ">=": "GTE", "<": "LT", "<=": "LTE"}


def fill_condition(target: condition_pb2.BooleanExpression, condition: Any) -> None:
    if isinstance(condition, Conjunction):
        target.conjunction.operator = condition_pb2.ConjunctionExpression.LogicalOperator.Value(condition.op.upper())
        fill_condition(target.conjunction.left_expression, condition.left)
        fill_condition(target.conjunction.right_expression, condition.right)
        return
    comparison = target.comparison
    comparison.operator = condition_pb2.ComparisonExpression.Operator.Value(_COMPARISON_OPERATORS[condition.op])
    _fill_operand(comparison.left_value, condition.left)
    _fill_operand(comparison.right_value, condition.right)


def _fill_operand(operand: condition_pb2.Operand, value: Any) -> None:
    if isinstance(value, Promise):
        operand.var = condition_var(value)
        return
    try:
        lit = to_literal(value, type(value))
    except (LiteralMismatch, TypeError, ValueError) as exc:
        raise TypeError(f"a condition compares with {value!r}: {exc}") from None
    if not lit.scalar.HasField("primitive"):
        raise TypeError(f"a condition compares with primitives (int, float, str, bool, datetime, timedelta), got {type_name(type(value))}")
    operand.primitive.CopyFrom(lit.scalar.primitive)


def dynamic_job_spec(
    nodes: list[Node], outputs: dict[str, Any], output_types: dict[str, Any], settings: SerializationSettings, blobs: BlobPaths
) -> dynamic_job_pb2.DynamicJobSpec:
    """The spec: nodes in call order, the parent's output bindings, every referenced template once."""
    entities = Entities(settings, blobs)
    spec = dynamic_job_pb2.DynamicJobSpec(min_successes=len(nodes))
    for node in nodes:
        entities.add_node(spec.nodes, node)
    add_bindings(spec.outputs, outputs, output_types, blobs, "the dynamic task's output", by_name=False)
    spec.tasks.extend(entities.tasks.values())
    spec.subworkflows.extend(entities.workflows.values())
    return spec
