"""Map tasks: one subtask of an array node runs one element of its list inputs.

Bound inputs pass whole; every other input is a list of which the subtask takes element
``BATCH_JOB_ARRAY_INDEX_OFFSET + $BATCH_JOB_ARRAY_INDEX_VAR_NAME``. Only that element is converted
to Python, so a subtask's cost barely grows with the length of the list. The map-task resolver
(``flytelite.resolvers.map_task``) rebuilds a :class:`MapSubtask` from its loader args.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ..support.dotted import object_at
from ..support.exceptions import TaskError
from ..types import BlobPaths, InterfaceMismatch, converting, decode_map_bytes, map_entries, to_python
from .contract import BaseTask, active_node_builder
from .interface import Interface

if TYPE_CHECKING:
    from ..runtime.context import ExecutionContext
    from .tasks import Task

MAP_RESOLVER = "flytelite.resolvers.map_task.default_map_task_resolver"
# Flyte v1.16.8: the array node gives each sub-node a mocked k8s plugin state (flytepropeller/pkg/controller/
# nodes/array/handler.go:714-734, 777-780; utils.go:41-50), which the web-API plugin decodes into its own
# state and fails (pluginmachinery/internal/webapi/core.go:41-53; gob refuses the uint8 Phase of
# nodes/task/k8s/plugin_manager.go:53-65 for the int Phase of webapi/state.go:12,40-42): a system error
# before any CreateTask. A map template is also task type version 1, and the agent registry is filled
# for version 0 only (plugins/webapi/agent/client.go:22,136,157,165; plugin.go:405-408).
MAP_OVER_REUSABLE = (
    "map_task({name}): the task is reusable=True, and a Flyte backend (1.16) cannot send an array node's "
    "sub-nodes to an agent such as flytelite serve: each sub-node gets a Kubernetes plugin's state, which the "
    "agent plugin cannot read, so it fails before any request is sent. Fan out with a @dynamic that calls the "
    "task once per item instead (its nodes are plain task nodes, which do reach flytelite serve), or map a "
    "copy of the task without reusable=True (its sub-nodes run as pods)"
)


def array_index(environ: Mapping[str, str]) -> int:
    """This subtask's element, from the variables the array plugin sets."""
    offset = int(environ.get("BATCH_JOB_ARRAY_INDEX_OFFSET") or 0)
    index_variable = environ.get("BATCH_JOB_ARRAY_INDEX_VAR_NAME")
    return offset + int((environ.get(index_variable) if index_variable else None) or 0)


def map_task_name(inner_name: str, bound_inputs: list[str]) -> str:
    """flytekit's registered name of a map task: ``<module>.map_<function>_<md5>-arraynode``.

    The digest covers what flytekit hashes: the bound inputs, concurrency, min_successes and
    min_success_ratio (flytelite's map tasks take the defaults of the last three).
    """
    import hashlib

    module, _, function = inner_name.rpartition(".")
    settings = f"{','.join(sorted(bound_inputs))}{None}{None}{1.0}"
    return f"{module}.map_{function}_{hashlib.md5(settings.encode(), usedforsecurity=False).hexdigest()}-arraynode"


class MapSubtask(BaseTask):
    """The inner task, seen through one element of its mapped inputs.

    One run decodes only its element of each mapped list and runs the inner task on it; the
    template is the inner task's, with the list-form interface and the ``map-execute`` command.
    """

    execute_verb = "map-execute"
    task_type_version = 1  # the array-node map task's template, as flytekit 1.16 registers it

    def __init__(self, inner: Task, bound_inputs: list[str], inner_resolver: str, inner_args: list[str]) -> None:
        if inner.reusable:
            raise ValueError(MAP_OVER_REUSABLE.format(name=inner.name))
        unknown = set(bound_inputs) - set(inner.python_interface.inputs)
        if unknown:
            raise ValueError(f"bound input(s) {', '.join(sorted(unknown))} are not inputs of {inner.name}")
        self._inner = inner
        self.name = map_task_name(inner.name, bound_inputs)
        self.bound_inputs = bound_inputs
        self.inner_resolver = inner_resolver
        self.inner_args = inner_args
        # The template's settings are the inner task's.
        self.metadata, self.resources, self.container_image = inner.metadata, inner.resources, inner.container_image
        self.secret_requests, self.extended_resources, self.pod_template = inner.secret_requests, inner.extended_resources, inner.pod_template
        self.task_config, self.config, self.command_fn = inner.task_config, inner.config, inner.command_fn
        self.enable_deck, self.deck_fields = inner.enable_deck, inner.deck_fields
        self.bound_values: dict[str, Any] = {}  # a functools.partial's values of bound inputs, given at each call

    @property
    def task_type(self) -> str:
        return self._inner.task_type

    @property
    def python_interface(self) -> Interface:
        """One element's interface: the inner task's."""
        return self._inner.python_interface

    @property
    def function(self) -> Callable[..., Any]:
        return self._inner.function

    @property
    def documentation(self) -> Any:
        return self._inner.documentation

    def container_env(self, settings: Any) -> dict[str, str]:
        return self._inner.container_env(settings)

    def run_hooks(self, ctx: ExecutionContext, inputs: dict[str, Any]) -> Any:
        return self._inner.run_hooks(ctx, inputs)

    def encode_outputs(self, values: dict[str, Any], blobs: BlobPaths | None = None) -> dict[str, bytes]:
        return self._inner.encode_outputs(values, blobs)

    @property
    def call_interface(self) -> Interface:
        """The list form: every mapped input and every output is a list of its declared type."""
        inner = self._inner.python_interface
        inputs = {name: t if name in self.bound_inputs else list[t] for name, t in inner.inputs.items()}  # type: ignore[valid-type]
        outputs = {name: list[t] for name, t in inner.outputs.items()}  # type: ignore[valid-type]
        return Interface(inputs, {}, outputs, None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """In a dynamic's container run, an array node; otherwise the inner task once per element, locally."""
        if args:
            raise TypeError(f"call map task {self.name} with keyword arguments")
        kwargs = {**self.bound_values, **kwargs}
        builder = active_node_builder()
        if builder is not None:
            return builder.add(self, kwargs)
        mapped = [name for name in kwargs if name not in self.bound_inputs]
        lengths = {len(kwargs[name]) for name in mapped}
        if len(lengths) > 1:
            raise ValueError(f"the mapped inputs of {self.name} ({', '.join(mapped)}) must have the same length")
        results = [self._inner(**{n: kwargs[n][i] if n in mapped else kwargs[n] for n in kwargs}) for i in range(lengths.pop() if lengths else 0)]
        names = list(self._inner.python_interface.outputs)
        if len(names) <= 1:
            return results if names else None
        return tuple(list(column) for column in zip(*results))

    @property
    def task_resolver(self) -> Any:
        return object_at(MAP_RESOLVER, "resolver")

    def decode_inputs(self, input_bytes: bytes, blobs: BlobPaths | None = None) -> dict[str, Any]:
        # Only the mapped lists' own literals are parsed, and only the chosen element is converted.
        from flyteidl.core import literals_pb2

        iface = self._inner.python_interface
        spans = map_entries(input_bytes)
        mapped = [name for name in iface.inputs if name in spans and name not in self.bound_inputs]
        whole = {name: py_type for name, py_type in iface.inputs.items() if name not in mapped}
        values = decode_map_bytes(input_bytes, whole, iface.defaults, what="input", blobs=blobs)
        index = array_index(os.environ)
        for name in mapped:
            start, end = spans[name]
            lit = literals_pb2.Literal.FromString(input_bytes[start:end])
            values[name] = self._element(name, iface.inputs[name], lit, index, blobs)
        return {name: values[name] for name in iface.inputs}

    @staticmethod
    def _element(name: str, py_type: Any, lit: Any, index: int, blobs: BlobPaths | None) -> Any:
        if lit.WhichOneof("value") != "collection":
            raise InterfaceMismatch(f"mapped input '{name}' must be a list, got a {lit.WhichOneof('value')} literal")
        elements = lit.collection.literals
        if not 0 <= index < len(elements):
            raise TaskError(
                f"map index {index} is outside mapped input '{name}', which has {len(elements)} elements "
                "(BATCH_JOB_ARRAY_INDEX_OFFSET + the index variable must be below the list's length)",
                origin="SYSTEM",
            )
        with converting(f"input '{name}' element {index}"):
            return to_python(elements[index], py_type, blobs)


def map_task(task: Task | functools.partial[Any], bound_inputs: Iterable[str] = ()) -> MapSubtask:
    """``task`` run once per element of its list inputs (all but ``bound_inputs``), as an array node does.

    ``functools.partial(task, name=value)`` binds ``name`` to ``value`` for every element. Serializing
    the result gives the ``flytelite map-execute`` command of the subtasks.
    """
    values: dict[str, Any] = {}
    if isinstance(task, functools.partial):
        if task.args:
            raise TypeError("map_task of a functools.partial binds inputs by name: give them as keywords")
        task, values = task.func, dict(task.keywords)
    resolver = task.task_resolver
    subtask = MapSubtask(task, sorted({*bound_inputs, *values}), resolver.location(), resolver.loader_args(task))
    subtask.bound_values = values
    return subtask
