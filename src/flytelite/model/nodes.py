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
import re
from typing import Any, Iterator

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
    """One output of a node that has not run yet: pass it to another task, or return it."""

    __slots__ = ("node_id", "var", "py_type")

    def __init__(self, node_id: str, var: str, py_type: Any) -> None:
        self.node_id, self.var, self.py_type = node_id, var, py_type

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

    def __getitem__(self, key: Any) -> Any:
        raise self._misuse("indexed")

    def __repr__(self) -> str:
        return f"Promise({self.node_id}.{self.var})"


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


class NodeBuilder:
    """Collects the nodes of a body in call order: ids ``dn0``, ``dn1``, ... in a dynamic, ``n0``, ... in a workflow."""

    def __init__(self, id_prefix: str = "dn") -> None:
        self.id_prefix = id_prefix
        self.nodes: list[Node] = []
        self._counter = 0

    def add(self, task: Any, inputs: dict[str, Any]) -> Any:
        """A node calling ``task`` with ``inputs`` (name -> value or promise); its outputs as promises."""
        node = Node(f"{self.id_prefix}{self._counter}", task, inputs)
        self._counter += 1
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
        self.nodes.append(node)
        return NodeCall(self, node, declared.outputs, declared.output_tuple)

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
        for node in nodes:
            outputs = node.task(**{name: resolved(value, results) for name, value in node.inputs.items()})
            results[node.id] = node.task.call_interface.pack_outputs(outputs)
    return resolved(rval, results)


def resolved(value: Any, results: dict[str, dict[str, Any]]) -> Any:
    """``value`` with each promise replaced by the output it names."""
    if isinstance(value, Promise):
        return results[value.node_id][value.var]
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

    def _promises(self) -> list[Promise]:
        raise NotImplementedError

    def _retarget(self, old_id: str, new_id: str) -> None:
        for promise in self._promises():
            if promise.node_id == old_id:
                promise.node_id = new_id


class _OverridablePromise(Promise, _Overridable):
    __slots__ = ("_builder", "_node")

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
