"""The node builder: calls inside a dynamic task or a workflow become nodes of its graph.

While a :class:`NodeBuilder` is active (:func:`building`), calling a task adds a node and returns
:class:`Promise` objects for its outputs instead of running it. Arguments become bindings: a promise
binds to its node's output (and makes that node upstream), a list to a collection, a dict to a map,
anything else to a constant literal of the input's type. Misuse (testing a promise's truth, reading
it as a number, iterating it, a value of the wrong type) fails at the call, naming node and input.

The type engine it checks constants with is the one every task call already loads.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import operator
import re
import typing
from typing import Any, Callable, Iterator

from ..types import LiteralMismatch, literal_type, to_literal, type_name
from .map_task import MapSubtask

_ACTIVE: contextvars.ContextVar[NodeBuilder | None] = contextvars.ContextVar("flytelite_node_builder", default=None)
# A workflow's inputs are promises of the node with the empty id (flytekit's GLOBAL_INPUT_NODE_ID),
# which the backend's compiler reads as its start node.
WORKFLOW_INPUTS = ""
RESERVED_NODE_IDS = ("start-node", "end-node")


def active_builder() -> NodeBuilder | None:
    """The builder task calls add nodes to, or ``None`` when tasks run for real."""
    return _ACTIVE.get()


@contextlib.contextmanager
def building(builder: NodeBuilder) -> Iterator[NodeBuilder]:
    token = _ACTIVE.set(builder)
    try:
        yield builder
    finally:
        _ACTIVE.reset(token)


@contextlib.contextmanager
def building_nothing() -> Iterator[None]:
    """Task calls inside the block run for real, even within a builder's block."""
    token = _ACTIVE.set(None)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


class Promise:
    """One output of a node that has not run yet: pass it to another task, or return it.

    ``promise.field`` and ``promise[key]`` are promises of a part of that output (``attr_path``), which
    the backend resolves when it binds them. Comparing a promise makes a condition of ``conditional``.
    """

    __slots__ = ("node_id", "var", "py_type", "attr_path")

    def __init__(self, node_id: str, var: str, py_type: Any, attr_path: tuple[str | int, ...] = ()) -> None:
        self.node_id, self.var, self.py_type, self.attr_path = node_id, var, py_type, attr_path

    def _misuse(self, what: str) -> TypeError:
        return TypeError(
            f"{self._what()} is a promise: it has no value while the graph is "
            f"being built, so it cannot be {what}; pass it to a task that does this instead"
        )

    def _what(self) -> str:
        return f"input '{self.var}' of the workflow" if self.node_id == WORKFLOW_INPUTS else f"output '{self.var}' of node {self.node_id}"

    def __bool__(self) -> bool:
        raise self._misuse("tested for truth (if/while/and/or)")

    def __int__(self) -> int:
        raise self._misuse("converted with int()")

    def __float__(self) -> float:
        raise self._misuse("converted with float()")

    def __index__(self) -> int:
        raise self._misuse("used as an index")

    def __iter__(self) -> Iterator[Any]:
        raise self._misuse("iterated")

    def __len__(self) -> int:
        raise self._misuse("measured with len()")

    def __getitem__(self, key: Any) -> Promise:
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise self._misuse(f"indexed by {type(key).__name__} (only an int index or a str key is resolved)")
        return self._part(key, part_type(self.py_type, key, self._what()))

    def __getattr__(self, name: str) -> Promise:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._part(name, part_type(self.py_type, name, self._what()))

    def _part(self, key: str | int, py_type: Any) -> Promise:
        return Promise(self.node_id, self.var, py_type, (*self.attr_path, key))

    def __rshift__(self, other: Any) -> Any:
        raise self._misuse("ordered with >> (order the task calls, not a part of an output)")

    def __eq__(self, other: Any) -> Any:  # type: ignore[override]
        return Comparison("==", self, other)

    def __ne__(self, other: Any) -> Any:  # type: ignore[override]
        return Comparison("!=", self, other)

    def __lt__(self, other: Any) -> Any:
        return Comparison("<", self, other)

    def __le__(self, other: Any) -> Any:
        return Comparison("<=", self, other)

    def __gt__(self, other: Any) -> Any:
        return Comparison(">", self, other)

    def __ge__(self, other: Any) -> Any:
        return Comparison(">=", self, other)

    __hash__ = object.__hash__

    def is_true(self) -> Any:
        return Comparison("==", self, True)

    def is_false(self) -> Any:
        return Comparison("==", self, False)

    def __repr__(self) -> str:
        path = "".join(f"[{k!r}]" if isinstance(k, int) else f".{k}" for k in self.attr_path)
        return f"Promise({self.node_id}.{self.var}{path})"


def part_type(py_type: Any, key: str | int, what: str) -> Any:
    """The type of ``value[key]`` (list element, dict value) or ``value.key`` (dataclass or pydantic field)."""
    origin, args = typing.get_origin(py_type), typing.get_args(py_type)
    if isinstance(key, int) and origin is list and args:
        return args[0]
    if isinstance(key, str) and origin is dict and args and args[0] is str:
        return args[1]
    if isinstance(key, str) and isinstance(py_type, type):
        try:
            fields = typing.get_type_hints(py_type)
        except (TypeError, NameError):
            fields = {}
        if key in fields and not key.startswith("_"):
            return fields[key]
    raise TypeError(f"{what} is {type_name(py_type)}, which has no part {key!r} a promise can refer to")


def part_of(value: Any, attr_path: tuple[str | int, ...]) -> Any:
    """The part of an output an ``attr_path`` names, as the backend resolves it."""
    for key in attr_path:
        value = value[key] if isinstance(value, (list, dict)) else getattr(value, key)
    return value


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Expression:
    """A condition; ``&``/``|`` combine two, Python's ``and``/``or``/``not`` cannot (they test truth)."""

    def __and__(self, other: Any) -> Conjunction:
        return Conjunction("and", self, other)

    def __or__(self, other: Any) -> Conjunction:
        return Conjunction("or", self, other)

    def __bool__(self) -> bool:
        raise TypeError(f"the condition {self} has no value while the graph is built: combine conditions with & and |, not and/or/not")

    def holds(self, results: dict[str, dict[str, Any]]) -> bool:
        raise NotImplementedError

    def promises(self) -> list[Promise]:
        raise NotImplementedError


class Comparison(Expression):
    """``left <op> right``: a promise compared with another promise or a constant."""

    def __init__(self, op: str, left: Any, right: Any) -> None:
        for side in (left, right):
            if isinstance(side, Expression):
                raise TypeError(f"a comparison compares values, not conditions: {left!r} {op} {right!r}")
        self.op, self.left, self.right = op, left, right

    def holds(self, results: dict[str, dict[str, Any]]) -> bool:
        return _COMPARE[self.op](resolved(self.left, results), resolved(self.right, results))

    def promises(self) -> list[Promise]:
        return [side for side in (self.left, self.right) if isinstance(side, Promise)]

    def __repr__(self) -> str:
        return f"({self.left!r} {self.op} {self.right!r})"


class Conjunction(Expression):
    def __init__(self, op: str, left: Any, right: Any) -> None:
        if not isinstance(left, Expression) or not isinstance(right, Expression):
            raise TypeError(f"& and | combine conditions (comparisons of promises), got {left!r} {op} {right!r}")
        self.op, self.left, self.right = op, left, right

    def holds(self, results: dict[str, dict[str, Any]]) -> bool:
        if self.op == "and":
            return self.left.holds(results) and self.right.holds(results)
        return self.left.holds(results) or self.right.holds(results)

    def promises(self) -> list[Promise]:
        return [*self.left.promises(), *self.right.promises()]

    def __repr__(self) -> str:
        return f"({self.left!r} {'&' if self.op == 'and' else '|'} {self.right!r})"


class NodeOutputs(tuple):
    """The promises of a node with several outputs: by position, and by name as attributes."""

    def __new__(cls, promises: dict[str, Promise]) -> NodeOutputs:
        outputs = super().__new__(cls, promises.values())
        outputs._by_name = promises  # type: ignore[attr-defined]
        return outputs

    def __getattr__(self, name: str) -> Promise:
        try:
            return self.__dict__["_by_name"][name]
        except KeyError:
            raise AttributeError(f"the node has no output named {name!r}") from None


def dns_name(name: str) -> str:
    """A node id as the backend accepts it: lower case letters, digits and dashes."""
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def _fits(given: Any, expected: Any) -> bool:
    """Whether a promise of LiteralType ``given`` may bind to an input of LiteralType ``expected``."""
    if given == expected:
        return True
    if expected.HasField("union_type"):
        return any(_fits(given, variant) for variant in expected.union_type.variants)
    return False


class Node:
    """A task call: the task, its bindings' values, and what ``with_overrides`` changed."""

    def __init__(self, node_id: str, task: Any, inputs: dict[str, Any]) -> None:
        self.id, self.task, self.inputs = node_id, task, inputs
        # flytekit names a map task's node by the task's full name, any other by its short name
        self.name = task.name if isinstance(task, MapSubtask) else task.name.rsplit(".", 1)[-1]
        self.retries = task.metadata.retries
        self.timeout: datetime.timedelta | None = task.metadata.timeout
        self.interruptible: bool | None = task.metadata.interruptible
        self.requests: Any = None
        self.limits: Any = None
        self.constants: dict[str, Any] = {}  # input name -> the Literal its constant was checked as
        self.runs_after: list[Node] = []  # nodes ordered before this one with ``>>``, beside those it reads

    def calls(self) -> list[Node]:
        """The nodes that call a task or workflow: this one, or those of a branch's cases."""
        return [self]

    def run(self, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Call the task in-process on the values ``results`` (outputs by node id) give its inputs."""
        outputs = self.task(**{name: resolved(value, results) for name, value in self.inputs.items()})
        return self.task.call_interface.pack_outputs(outputs)


class NodeBuilder:
    """Collects the nodes of a body in call order: ids ``dn0``, ``dn1``, ... in a dynamic, ``n0``, ... in a workflow."""

    def __init__(self, id_prefix: str = "dn") -> None:
        self.id_prefix = id_prefix
        self.nodes: list[Node] = []
        # Where calls land: the graph, or the cases of the conditional(s) being built, innermost last.
        # As in flytekit, each numbers its nodes from 0.
        self._scopes: list[list[Node]] = [self.nodes]

    def add(self, task: Any, inputs: dict[str, Any]) -> Any:
        """A node calling ``task`` with ``inputs`` (name -> value or promise); its outputs as promises."""
        scope = self._scopes[-1]
        node = Node(f"{self.id_prefix}{len(scope)}", task, inputs)
        declared = task.call_interface
        missing = []
        for name in declared.inputs:  # a default is bound as a constant, as the backend needs every input bound
            if name not in inputs:
                if name in declared.defaults:
                    inputs[name] = declared.defaults[name]
                else:
                    missing.append(name)
        if missing:
            raise TypeError(f"node {node.id} ({task.name}) is not given input(s) {', '.join(missing)}")
        for name, value in inputs.items():
            self._check(node, name, value, declared.inputs[name])
        scope.append(node)
        return NodeCall(self, node, declared.outputs, declared.output_tuple)

    def open_scope(self) -> list[Node]:
        """The nodes of a conditional's cases, apart from the graph's, until :meth:`add_branch`."""
        self._scopes.append([])
        return self._scopes[-1]

    def add_branch(self, branch: Node) -> Any:
        """The branch node of a finished ``conditional``, in the scope around it; its outputs as promises."""
        self._scopes.pop()
        scope = self._scopes[-1]
        branch.id = f"{self.id_prefix}{len(scope)}"
        scope.append(branch)
        return NodeCall(self, branch, branch.outputs, None)  # type: ignore[attr-defined]

    def rename(self, node: Node, new_id: str) -> None:
        new_id = dns_name(new_id)
        if not new_id or new_id in RESERVED_NODE_IDS:
            raise ValueError(f"node name {new_id!r} is reserved by the backend or empty: choose another")
        if any(other.id == new_id for other in self.nodes if other is not node):
            raise ValueError(f"two nodes are named {new_id!r}: node names must be unique")
        node.id = new_id

    def _check(self, node: Node, name: str, value: Any, py_type: Any) -> None:
        where = f"node {node.id} ({node.task.name}) input '{name}'"
        if isinstance(value, Promise):
            if not _fits(literal_type(value.py_type), literal_type(py_type)):
                raise TypeError(f"{where} is {type_name(py_type)}, but it is given {value._what()}, which is {type_name(value.py_type)}")
            return
        if _holds_promise(value):
            return  # checked element by element when the binding is built
        try:
            node.constants[name] = to_literal(value, py_type)
        except (LiteralMismatch, TypeError, ValueError) as exc:
            raise TypeError(f"{where}: {exc}") from None


def run_nodes(nodes: list[Node], rval: Any, known: dict[str, dict[str, Any]] | None = None) -> Any:
    """Run the nodes in-process in call order; ``rval`` with its promises replaced by their values.

    ``known`` holds outputs already there by node id (a workflow's inputs, under :data:`WORKFLOW_INPUTS`).
    """
    results = dict(known or {})
    with building_nothing():
        for node in in_run_order(nodes):
            results[node.id] = node.run(results)
    return resolved(rval, results)


def in_run_order(nodes: list[Node]) -> list[Node]:
    """Call order, except that a node ordered after a later one with ``>>`` waits for it."""
    if not any(node.runs_after for node in nodes):
        return nodes  # call order already puts every node after those whose outputs it reads
    ordered: list[Node] = []
    visiting: set[int] = set()

    def visit(node: Node) -> None:
        if node in ordered:
            return
        if id(node) in visiting:
            raise ValueError(f"node {node.id} is ordered (with >>) after itself")
        visiting.add(id(node))
        for earlier in node.runs_after:
            visit(earlier)
        visiting.discard(id(node))
        ordered.append(node)

    for node in nodes:
        visit(node)
    return ordered


def resolved(value: Any, results: dict[str, dict[str, Any]]) -> Any:
    """``value`` with each promise replaced by the output it names."""
    if isinstance(value, Promise):
        return part_of(results[value.node_id][value.var], value.attr_path)
    if isinstance(value, (list, tuple)):
        items = [resolved(v, results) for v in value]
        return type(value)(items) if type(value) in (list, tuple) else tuple(items)
    if isinstance(value, dict):
        return {k: resolved(v, results) for k, v in value.items()}
    return value


def _holds_promise(value: Any) -> bool:
    if isinstance(value, Promise):
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_promise(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_promise(v) for v in value.values())
    return False


class NodeCall:
    """What a task call returns inside a dynamic: its promise(s), and ``with_overrides`` for the node."""

    def __new__(cls, builder: NodeBuilder, node: Node, output_types: dict[str, Any], output_tuple: type | None) -> Any:
        if len(output_types) == 1 and output_tuple is None:
            ((var, py_type),) = output_types.items()
            result: Any = _OverridablePromise(node.id, var, py_type)
        elif not output_types:
            result = _NoOutputs()
        else:
            result = _OverridableOutputs({var: Promise(node.id, var, py_type) for var, py_type in output_types.items()})
        result._builder, result._node = builder, node
        return result


class _Overridable:
    _builder: NodeBuilder
    _node: Node

    def with_overrides(
        self,
        node_name: str | None = None,
        name: str | None = None,
        retries: int | None = None,
        timeout: int | datetime.timedelta | None = None,
        interruptible: bool | None = None,
        requests: Any = None,
        limits: Any = None,
    ) -> Any:
        """Change this call's node: its id (``node_name``), display name, retries, timeout, resources."""
        node = self._node
        if node_name is not None:
            old_id = node.id
            self._builder.rename(node, node_name)
            self._retarget(old_id, node.id)
        if name is not None:
            node.name = name
        if retries is not None:
            node.retries = retries
        if timeout is not None:
            node.timeout = timeout if isinstance(timeout, datetime.timedelta) else datetime.timedelta(seconds=timeout)
        if interruptible is not None:
            node.interruptible = interruptible
        node.requests = requests if requests is not None else node.requests
        node.limits = limits if limits is not None else node.limits
        return self

    def __rshift__(self, other: Any) -> Any:
        """``a >> b``: the node of ``b`` runs after that of ``a``, though no data passes between them."""
        if not isinstance(other, _Overridable):
            raise TypeError(f"{self._node.id} >> {other!r}: the right side must be what a task call returned")
        if self._node is not other._node and self._node not in other._node.runs_after:
            other._node.runs_after.append(self._node)
        return other

    def _promises(self) -> list[Promise]:
        raise NotImplementedError

    def _retarget(self, old_id: str, new_id: str) -> None:
        for promise in self._promises():
            if promise.node_id == old_id:
                promise.node_id = new_id


class _OverridablePromise(Promise, _Overridable):
    __slots__ = ("_builder", "_node")
    __rshift__ = _Overridable.__rshift__

    def _promises(self) -> list[Promise]:
        return [self]


class _OverridableOutputs(NodeOutputs, _Overridable):
    def _promises(self) -> list[Promise]:
        return list(self)


class _NoOutputs(_Overridable):
    def _promises(self) -> list[Promise]:
        return []

    def __repr__(self) -> str:
        return f"NoOutputs({self._node.id})"
