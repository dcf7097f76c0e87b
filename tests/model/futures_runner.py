"""A test-only stand-in for the backend: runs a TaskTemplate, and the futures.pb it may leave, as PROTOCOL section 8 says; and a WorkflowTemplate.

Each node runs after the nodes it reads (topological order); its command is the template's args with
the placeholders rendered, its inputs come from the bindings and its outputs land under
``<parent prefix>/<node id>/0/``. An array node runs ``map-execute`` once per element with the index
variables set and gathers the elements' outputs into lists. The parent's outputs are assembled from
the spec's ``outputs`` bindings.
"""

from __future__ import annotations

import operator
import os
import subprocess
import sys
from pathlib import Path

from flyteidl.core import condition_pb2, dynamic_job_pb2, errors_pb2, literals_pb2, tasks_pb2, workflow_pb2

from flytelite.model.template import SerializationSettings

PROGRAMS = Path(__file__).parent / "dynamic_programs"  # the example tasks, dynamics and workflows the tests run
SETTINGS = SerializationSettings({"default": "ghcr.io/acme/app:1"}, project="p", domain="d", version="v1")


class NodeFailed(AssertionError):
    pass


def run_template(template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap, prefix: Path, cwd: Path, extra_env: dict[str, str] | None = None) -> literals_pb2.LiteralMap:
    """Run one task attempt under ``prefix``; its outputs, following a futures.pb to the end."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "inputs.pb").write_bytes(inputs.SerializeToString())
    rendered = {
        "{{.input}}": str(prefix / "inputs.pb"),
        "{{.outputPrefix}}": str(prefix),
        "{{.rawOutputDataPrefix}}": str(prefix / "raw"),
        "{{.checkpointOutputPrefix}}": str(prefix / "checkpoint"),
        "{{.prevCheckpointPrefix}}": "",
    }
    args = [rendered.get(arg, arg) for arg in template.container.args]
    assert args[0] == "flytelite", args
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "_F_"))}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), env.get("PATH", "")])  # `flytelite` is on a container's PATH
    env.update({e.key: e.value for e in template.container.env})
    env.update({"FLYTE_INTERNAL_TASK_VERSION": template.id.version, "FLYTE_INTERNAL_TASK_NAME": template.id.name, **(extra_env or {})})
    done = subprocess.run([sys.executable, "-m", "flytelite", *args[1:]], cwd=cwd, env=env, capture_output=True, text=True)
    if (prefix / "error.pb").exists():
        error = errors_pb2.ErrorDocument.FromString((prefix / "error.pb").read_bytes())
        raise NodeFailed(f"{template.id.name} failed: {error.error.code}: {error.error.message}\n{done.stderr}")
    assert done.returncode == 0, done.stderr
    if (prefix / "futures.pb").exists():
        spec = dynamic_job_pb2.DynamicJobSpec.FromString((prefix / "futures.pb").read_bytes())
        return run_spec(spec, prefix, cwd)
    return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes())


def run_spec(spec: dynamic_job_pb2.DynamicJobSpec, prefix: Path, cwd: Path) -> literals_pb2.LiteralMap:
    graph = Graph(spec.tasks, spec.subworkflows, cwd)
    return graph.run(spec.nodes, spec.outputs, {}, prefix)


def run_workflow(
    template: workflow_pb2.WorkflowTemplate,
    inputs: literals_pb2.LiteralMap,
    tasks: list[tasks_pb2.TaskTemplate],
    subworkflows: list[workflow_pb2.WorkflowTemplate],
    prefix: Path,
    cwd: Path,
) -> literals_pb2.LiteralMap:
    """Run a serialized workflow with ``inputs`` (defaults already filled in)."""
    return Graph(tasks, subworkflows, cwd).run(template.nodes, template.outputs, {"": inputs}, prefix)


def _key(identifier) -> bytes:
    return identifier.SerializeToString(deterministic=True)


class Graph:
    """The templates a graph's nodes reference, by id, as the backend's compiler has them."""

    def __init__(self, tasks, subworkflows, cwd: Path) -> None:
        self.tasks = {_key(t.id): t for t in tasks}
        self.workflows = {_key(w.id): w for w in subworkflows}
        self.cwd = cwd

    def run(self, nodes, output_bindings, known: dict[str, literals_pb2.LiteralMap], prefix: Path) -> literals_pb2.LiteralMap:
        outputs = dict(known)
        pending = list(nodes)
        while pending:
            ready = [n for n in pending if all(u in outputs for u in n.upstream_node_ids)]
            assert ready, f"a cycle or a missing upstream among {[n.id for n in pending]}"
            for node in ready:
                inputs = literals_pb2.LiteralMap(literals={b.var: resolve(b.binding, outputs) for b in node.inputs})
                outputs[node.id] = self.run_node(node, inputs, prefix / node.id / "0", outputs)
                pending.remove(node)
        return literals_pb2.LiteralMap(literals={b.var: resolve(b.binding, outputs) for b in output_bindings})

    def run_node(self, node, inputs: literals_pb2.LiteralMap, prefix: Path, outputs: dict[str, literals_pb2.LiteralMap]) -> literals_pb2.LiteralMap:
        kind = node.WhichOneof("target")
        if kind == "array_node":
            template = self.tasks[_key(node.array_node.node.task_node.reference_id)]
            return run_array(template, inputs, set(node.array_node.bound_inputs), prefix, self.cwd)
        if kind == "branch_node":
            return self.run_branch(node, inputs, prefix, outputs)
        if kind == "workflow_node":
            sub = self.workflows[_key(node.workflow_node.sub_workflow_ref)]
            return self.run(sub.nodes, sub.outputs, {"": inputs}, prefix)
        assert kind == "task_node", kind
        return run_template(self.tasks[_key(node.task_node.reference_id)], inputs, prefix, self.cwd)


    def run_branch(self, node, inputs: literals_pb2.LiteralMap, prefix: Path, outputs: dict[str, literals_pb2.LiteralMap]) -> literals_pb2.LiteralMap:
        """The first case whose condition holds on the branch node's inputs runs; its outputs are the branch's.

        flytepropeller/pkg/controller/nodes/branch/evaluator.go:20-97 (operands by var among the node's inputs,
        first case, then the others, then else or the error); handler.go:174-176 (the taken node's outputs are copied).
        """
        if_else = node.branch_node.if_else
        for block in [if_else.case, *if_else.other]:
            if holds(block.condition, inputs):
                taken = block.then_node
                break
        else:
            if if_else.HasField("error"):
                raise NodeFailed(f"branch {node.id} failed: {if_else.error.message}")
            taken = if_else.else_node
        taken_inputs = literals_pb2.LiteralMap(literals={b.var: resolve(b.binding, outputs) for b in taken.inputs})
        return self.run_node(taken, taken_inputs, prefix / taken.id / "0", outputs)


_COMPARISONS = {
    condition_pb2.ComparisonExpression.EQ: operator.eq,
    condition_pb2.ComparisonExpression.NEQ: operator.ne,
    condition_pb2.ComparisonExpression.GT: operator.gt,
    condition_pb2.ComparisonExpression.GTE: operator.ge,
    condition_pb2.ComparisonExpression.LT: operator.lt,
    condition_pb2.ComparisonExpression.LTE: operator.le,
}


def holds(expression: condition_pb2.BooleanExpression, inputs: literals_pb2.LiteralMap) -> bool:
    if expression.HasField("conjunction"):
        conjunction = expression.conjunction
        left, right = holds(conjunction.left_expression, inputs), holds(conjunction.right_expression, inputs)
        return left and right if conjunction.operator == condition_pb2.ConjunctionExpression.AND else left or right
    comparison = expression.comparison
    return _COMPARISONS[comparison.operator](_operand(comparison.left_value, inputs), _operand(comparison.right_value, inputs))


def _operand(operand: condition_pb2.Operand, inputs: literals_pb2.LiteralMap):
    primitive = inputs.literals[operand.var].scalar.primitive if operand.HasField("var") else operand.primitive
    return getattr(primitive, primitive.WhichOneof("value"))


def run_array(template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap, bound: set[str], prefix: Path, cwd: Path) -> literals_pb2.LiteralMap:
    lengths = {len(lit.collection.literals) for name, lit in inputs.literals.items() if name not in bound}
    assert len(lengths) == 1, lengths
    gathered = literals_pb2.LiteralMap()
    for index in range(lengths.pop()):
        element = run_template(template, inputs, prefix / str(index), cwd, {"BATCH_JOB_ARRAY_INDEX_VAR_NAME": "ARRAY_INDEX", "ARRAY_INDEX": str(index)})
        for name, lit in element.literals.items():
            gathered.literals[name].collection.literals.add().CopyFrom(lit)
    return gathered


def resolve(binding: literals_pb2.BindingData, outputs: dict[str, literals_pb2.LiteralMap]) -> literals_pb2.Literal:
    kind = binding.WhichOneof("value")
    if kind == "scalar":
        return literals_pb2.Literal(scalar=binding.scalar)
    if kind == "promise":
        return part(outputs[binding.promise.node_id].literals[binding.promise.var], binding.promise.attr_path)
    if kind == "collection":
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=[resolve(b, outputs) for b in binding.collection.bindings]))
    if kind == "map":
        return literals_pb2.Literal(map=literals_pb2.LiteralMap(literals={k: resolve(b, outputs) for k, b in binding.map.bindings.items()}))
    raise AssertionError(f"binding kind {kind}")


def part(literal: literals_pb2.Literal, attr_path) -> literals_pb2.Literal:
    """The element or value an attribute path names in a collection or map (attr_path_resolver.go:19-52);
    a path into a dataclass's msgpack is not resolved here."""
    for attribute in attr_path:
        if literal.HasField("collection"):
            literal = literal.collection.literals[attribute.int_value]
        elif literal.HasField("map"):
            literal = literal.map.literals[attribute.string_value]
        else:
            raise AssertionError(f"the stand-in resolves paths in collections and maps only, not in {literal.WhichOneof('value')}")
    return literal
