"""What a task is to the rest of flytelite, and what a task config provides: the two contracts, in one place.

:class:`BaseTask` is the task as the execute pipeline runs it (``flytelite execute``, serve's workers,
``flytelite run``), as the template builder serializes it, and as a workflow or dynamic task calls
it. :class:`~flytelite.model.tasks.Task` (``@task``, ``@dynamic``) and
:class:`~flytelite.model.map_task.MapSubtask` (``map_task``) are its implementations; a resolver
must return one of them, and the pipeline refuses anything else.

:class:`TaskConfig` is what ``@task(task_config=...)`` takes: a plugin config such as
``flytelite.Elastic`` or ``flytelite.PyTorch`` names the template's task type (the backend plugin
that runs it), puts its settings in the template's ``custom``, and decides how the function runs in
the container.
"""

from __future__ import annotations

import abc
import sys
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..types import BlobPaths, literal_map_bytes

if TYPE_CHECKING:
    from flyteidl.core import interface_pb2, literals_pb2

    from ..runtime.context import ExecutionContext
    from .interface import Interface
    from .metadata import DeckField, ExtendedResources, PodTemplate, ResourceSpec, Secret, TaskMetadata


def active_node_builder() -> Any:
    """The node builder a call inside a dynamic or workflow adds to, if any.

    A builder exists only once the node builder's module is loaded (by ``@dynamic`` or ``@workflow``),
    so a plain task's start-up does not import it.
    """
    nodes = sys.modules.get(f"{__package__}.nodes")
    return None if nodes is None else nodes.active_builder()


def blob_paths_of(ctx: ExecutionContext) -> BlobPaths:
    """Where the codecs of an attempt store blobs: its raw output prefix and its working directory."""
    return BlobPaths(ctx.raw_output_prefix, ctx.working_directory)


class TaskConfig:
    """The base of a plugin config. What a subclass overrides, and who reads it:

    - ``task_type``: the template's ``type``, which selects the backend plugin (the template builder).
    - ``task_type_version``: the template's ``task_type_version`` (the template builder).
    - :meth:`custom`: the template's ``custom``, the plugin's settings as a JSON-ready dict, or ``None``.
    - :meth:`run_function`: how the task's function runs in the container (``Task.execute``);
      torch's configs start their workers here, which is when torch is first imported.
    """

    task_type = "python-task"
    task_type_version = 0

    def custom(self) -> dict[str, Any] | None:
        return None

    def run_function(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        return fn(**kwargs)


class BaseTask(abc.ABC):
    """A task. The members below are everything the pipeline, the template builder and serve use.

    Identity and interfaces:
      ``name``; ``task_type`` and ``task_type_version`` (the template's); ``execute_verb``, the
      ``flytelite`` command that runs it in a container; ``python_interface``, what one run decodes
      and returns; ``call_interface``, what a call in a workflow or dynamic binds;
      ``registered_interface``, the template's ``TypedInterface``.
    Settings serialized in its template:
      ``metadata``, ``resources``, ``container_image``, :meth:`container_env`, ``secret_requests``,
      ``extended_resources``, ``pod_template``, ``config`` (the :class:`TaskConfig`), ``command_fn`` (a replaced
      command, or ``None``), ``enable_deck``, ``deck_fields``, ``documentation``, ``task_resolver``.
    Running, in the pipeline's order:
      :meth:`decode_inputs`, :meth:`compile_futures` (which runs :meth:`run_hooks`, or, for a
      dynamic task, builds its spec), :meth:`encode_outputs`; :meth:`dispatch_execute` chains them.
    """

    name: str
    python_interface: Interface
    execute_verb: str = "execute"
    task_type_version: int = 0
    metadata: TaskMetadata
    resources: ResourceSpec
    container_image: str | None
    secret_requests: list[Secret]
    extended_resources: ExtendedResources
    pod_template: PodTemplate | None
    task_config: Any  # as given to ``@task``; ``config`` is the contract's view of it
    config: TaskConfig
    command_fn: Callable[[Any], list[str]] | None
    enable_deck: bool
    deck_fields: tuple[DeckField, ...]

    @property
    @abc.abstractmethod
    def task_type(self) -> str: ...

    @property
    def call_interface(self) -> Interface:
        return self.python_interface

    @property
    def interface(self) -> interface_pb2.TypedInterface:
        """The ``TypedInterface`` of one run (``python_interface``'s)."""
        return self.python_interface.to_typed_interface()

    @property
    def registered_interface(self) -> interface_pb2.TypedInterface:
        return self.call_interface.to_typed_interface()

    @property
    @abc.abstractmethod
    def function(self) -> Callable[..., Any]:
        """The user's function (the deck's source code; ``serialize`` finds a module's tasks by it)."""

    @property
    @abc.abstractmethod
    def documentation(self) -> Any: ...

    @property
    @abc.abstractmethod
    def task_resolver(self) -> Any: ...

    @abc.abstractmethod
    def container_env(self, settings: Any) -> dict[str, str]: ...

    @abc.abstractmethod
    def decode_inputs(self, input_bytes: bytes, blobs: BlobPaths | None = None) -> dict[str, Any]:
        """Python inputs of a serialized ``LiteralMap``."""

    @abc.abstractmethod
    def run_hooks(self, ctx: ExecutionContext, inputs: dict[str, Any]) -> Any:
        """Run the task on Python inputs with ``ctx`` current; its return value."""

    @abc.abstractmethod
    def encode_outputs(self, values: dict[str, Any], blobs: BlobPaths | None = None) -> dict[str, bytes]:
        """Packed outputs as one serialized ``Literal`` per output name."""

    def compile_futures(
        self, ctx: ExecutionContext, inputs: dict[str, Any], environ: Mapping[str, str], distribution: str | None, dest_dir: str | None
    ) -> tuple[bytes | None, Any]:
        """A container run: ``(serialized DynamicJobSpec, None)`` for a dynamic task that called tasks, else ``(None, return value)``."""
        return None, self.run_hooks(ctx, inputs)

    def dispatch_execute(self, ctx: ExecutionContext, input_map: literals_pb2.LiteralMap) -> literals_pb2.LiteralMap:
        """Run the task on literal inputs and return its literal outputs."""
        from flyteidl.core import literals_pb2

        blobs = blob_paths_of(ctx)
        rval = self.run_hooks(ctx, self.decode_inputs(input_map.SerializeToString(), blobs))
        outputs = self.encode_outputs(self.python_interface.pack_outputs(rval), blobs)
        return literals_pb2.LiteralMap.FromString(literal_map_bytes(outputs))


class _GivenConfig(TaskConfig):
    """A config that does not subclass :class:`TaskConfig`, read through the contract: what it lacks is the default."""

    def __init__(self, given: Any) -> None:
        self.given = given

    @property
    def task_type(self) -> str:  # type: ignore[override]
        return getattr(self.given, "task_type", TaskConfig.task_type)

    @property
    def task_type_version(self) -> int:  # type: ignore[override]
        return getattr(self.given, "task_type_version", TaskConfig.task_type_version)

    def custom(self) -> dict[str, Any] | None:
        custom = getattr(self.given, "custom", None)
        return custom() if callable(custom) else None

    def run_function(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        run_function = getattr(self.given, "run_function", None)
        return run_function(fn, kwargs) if callable(run_function) else fn(**kwargs)


def as_task_config(task_config: Any) -> TaskConfig:
    """The contract's view of ``@task(task_config=...)``: the config itself, the defaults for ``None``."""
    if isinstance(task_config, TaskConfig):
        return task_config
    return TaskConfig() if task_config is None else _GivenConfig(task_config)
