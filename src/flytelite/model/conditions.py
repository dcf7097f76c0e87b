"""``conditional(...)``: a branch node of a workflow or dynamic graph, chosen when the graph runs.

``conditional("name").if_(a > 1).then(t1(...)).elif_(...).then(...).else_().then(t2(...))`` (or
``.else_().fail("message")``). A condition compares promises (a workflow's inputs, task outputs) with
each other or with constants, combined with ``&`` and ``|``. Each ``then`` takes exactly one call,
made inside it: the nodes a case's call adds are taken out of the graph into the case. Locally, the
branch runs the first case whose condition holds; serialized, it is flyteidl's ``BranchNode``.
"""

from __future__ import annotations

from typing import Any

from .nodes import Node, NodeBuilder, NodeOutputs, Promise, Expression, _NoOutputs, active_builder

class Case:
    """One branch: its condition (``None`` for ``else_``), then the node it runs or the error it fails with."""

    def __init__(self, section: ConditionalSection, condition: Expression | None, statement: str) -> None:
        if condition is not None and not isinstance(condition, Expression):
            raise TypeError(
                f"conditional {section.name}.{statement}(...) takes a comparison of promises (<, <=, >, >=, ==, != combined with & and |), "
                f"got {condition!r}: a plain value or a promise alone has no condition the backend can evaluate"
            )
        self.section, self.condition = section, condition
        self.node: Node | None = None
        self.output: Any = None
        self.error: str | None = None
        self._first_node = len(section.nodes)

    def then(self, output: Any) -> Any:
        """The call this case runs; the next ``elif_``/``else_``, or after ``else_`` the branch's outputs."""
        taken = self.section.nodes[self._first_node :]
        if len(taken) != 1 or _node_of(output) is not taken[0]:
            raise TypeError(
                f"conditional {self.section.name}: then(...) takes the result of exactly one task, workflow or conditional "
                f"called inside it (made {len(taken)} node(s)); call several tasks in a workflow and call that"
            )
        self.node, self.output = taken[0], output
        return self.section.case_done(self)

    def fail(self, message: str) -> Any:
        """Fail the execution with ``message`` when this case is taken."""
        if self.section.nodes[self._first_node :]:
            raise TypeError(f"conditional {self.section.name}: fail(...) takes a message, not a task call")
        self.error = message
        return self.section.case_done(self)


def _node_of(output: Any) -> Node | None:
    node = getattr(output, "_node", None)
    if isinstance(node, Node):
        return node
    return None


class ConditionalSection:
    """The cases of one ``conditional``, in order; the branch node once ``else_`` is done."""

    def __init__(self, name: str, builder: NodeBuilder) -> None:
        self.name, self.builder = name, builder
        self.cases: list[Case] = []
        self.nodes = builder.open_scope()  # the cases' nodes, numbered apart from the graph's

    def if_(self, condition: Any) -> Case:
        if self.cases:
            raise TypeError(f"conditional {self.name} already has its if_: continue with elif_ or else_")
        return self._case(condition, "if_")

    def elif_(self, condition: Any) -> Case:
        return self._case(condition, "elif_")

    def else_(self) -> Case:
        return self._case(None, "else_")

    def _case(self, condition: Any, statement: str) -> Case:
        if self.cases and self.cases[-1].node is None and self.cases[-1].error is None:
            raise TypeError(f"conditional {self.name}: the {statement} follows a case without then(...) or fail(...)")
        case = Case(self, condition, statement)
        self.cases.append(case)
        return case

    def case_done(self, case: Case) -> Any:
        if case.condition is not None:
            return self
        if len(self.cases) < 2:
            raise TypeError(f"conditional {self.name} needs an if_ before its else_")
        if len(self.nodes) != sum(case.node is not None for case in self.cases):
            raise TypeError(f"conditional {self.name}: a task is called in a condition; call it before conditional(...) and compare its output")
        return self.builder.add_branch(BranchNode(self.name, self.cases))


class BranchNode(Node):
    """A node that runs one of its cases' nodes; its outputs are those every taking case has."""

    def __init__(self, name: str, cases: list[Case]) -> None:
        self.id, self.name, self.cases = "", name, cases
        self.task = None
        self.retries, self.timeout, self.interruptible = 0, None, None
        self.requests = self.limits = None
        self.constants = {}
        self.runs_after = []
        self.inputs = {}
        for promise in self.condition_promises():
            self.inputs.setdefault(condition_var(promise), promise)
        self.outputs = self._outputs()

    def condition_promises(self) -> list[Promise]:
        return [p for case in self.cases if case.condition is not None for p in case.condition.promises()]

    def _outputs(self) -> dict[str, Any]:
        """Output name -> type: the names the cases that run a node all have (none if one has none)."""
        taking = [_promises_of(case.output) for case in self.cases if case.node is not None]
        if not taking or any(not promises for promises in taking):
            return {}
        names = [name for name in taking[0] if all(name in other for other in taking[1:])]
        return {name: taking[0][name].py_type for name in names}

    def run(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        for case in self.cases:
            if case.condition is None or case.condition.holds(results):
                if case.node is None:
                    raise ValueError(f"conditional {self.name}: {case.error}")
                outputs = case.node.run(results)
                return {name: outputs[name] for name in self.outputs}
        raise ValueError(f"conditional {self.name}: no case holds")  # unreachable: the last case is else_

    def calls(self) -> list[Node]:
        return [call for case in self.cases if case.node is not None for call in case.node.calls()]


def condition_var(promise: Promise) -> str:
    """The name a condition's operand has among the branch node's inputs: ``<node id>.<output>``."""
    return f"{promise.node_id}.{promise.var}"


def _promises_of(output: Any) -> dict[str, Promise]:
    if isinstance(output, Promise):
        return {output.var: output}
    if isinstance(output, NodeOutputs):
        return {p.var: p for p in output}
    if isinstance(output, _NoOutputs):
        return {}
    raise TypeError(f"then(...) takes a task's result, got {output!r}")


def conditional(name: str) -> ConditionalSection:
    """A branch of the workflow or dynamic task being built: ``conditional("name").if_(...).then(...)``."""
    builder = active_builder()
    if builder is None:
        raise TypeError(f"conditional {name!r} is used outside a @workflow or @dynamic body: only a graph has branches")
    return ConditionalSection(name, builder)
