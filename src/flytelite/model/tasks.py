"""The ``@task`` decorator and the task object a resolver rehydrates inside the container."""

from __future__ import annotations

import contextlib
import datetime
import functools
import types
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from ..runtime.context import ExecutionContext, current_context, use_context
from ..support.dotted import object_at
from ..types import BlobPaths, decode_map_bytes, encode_literals, literal_map_bytes, storing_blobs
from .contract import BaseTask, active_node_builder, as_task_config, blob_paths_of
from .interface import Interface, interface_of
from .metadata import (
    ALL_DECK_FIELDS,
    Cache,
    DeckField,
    ExtendedResources,
    PodTemplate,
    ResourceSpec,
    Resources,
    Secret,
    TaskMetadata,
    deck_fields_of,
)

if TYPE_CHECKING:
    from flyteidl.core import interface_pb2

# Resolvers are named by dotted path, as the container command names them: the model never imports them.
MODULE_RESOLVER = "flytelite.resolvers.module.default_task_resolver"


@contextlib.contextmanager
def running_in(ctx: ExecutionContext) -> Iterator[None]:
    """User code inside the block sees ``ctx`` as ``current_context()``, and files it makes go to ctx's folders."""
    with use_context(ctx), storing_blobs(blob_paths_of(ctx)):
        yield


# The task type ``flytelite serve`` runs: a backend routes it to the daemon's agent instead of a pod.
REUSABLE_TASK_TYPE = "flytelite-reusable"
# The same, answered within the backend's call (a synchronous agent): for tasks that end in seconds.
REUSABLE_SYNC_TASK_TYPE = "flytelite-reusable-sync"


def check_reusable(task: BaseTask) -> None:
    """Refuse a ``reusable=True`` task that flytelite serve's workers cannot run as its own pod would run it."""
    if not isinstance(task, Task) or not task.reusable:
        return
    config, extended = task.task_config, task.extended_resources
    reasons = []
    if config is not None:
        reasons.append(f"a {type(config).__name__} task_config, which shapes a pod of its own (torch elastic starts processes of its own, say)")
    if task.pod_template is not None or task.metadata.pod_template_name:
        reasons.append("a pod template, which shapes the task's own pod: a reusable task runs in the daemon's pod")
    if extended.accelerator is not None or extended.shared_memory:
        reasons.append("an accelerator or shared memory, which the backend gives a task's own pod: the workers share the daemon's")
    if reasons:
        raise ValueError(
            f"{task.name}: reusable=True runs the task in flytelite serve's warm workers, which cannot honour {'; '.join(reasons)}. "
            "Drop reusable=True to run it in a pod of its own"
        )


class Task(BaseTask):
    """A Python function with a typed interface, run by Flyte in a container or called locally.

    :meth:`run_hooks` runs ``pre_execute``, ``execute`` and ``post_execute`` in flytekit's order; the
    container's pipeline and a local call both use it. Calling the task with Python values goes
    through the same conversions a cluster makes (Python -> literals -> Python, once each way), so a
    local call catches the type errors a cluster would.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        metadata: TaskMetadata,
        resources: ResourceSpec,
        environment: dict[str, str] | None = None,
        container_image: str | None = None,
        secret_requests: list[Secret] | None = None,
        enable_deck: bool = False,
        task_config: Any = None,
        task_resolver: Any = None,
        extended_resources: ExtendedResources | None = None,
        pod_template: PodTemplate | None = None,
        pickle_untyped: bool = False,
        deck_fields: Iterable[DeckField | str] | None = ALL_DECK_FIELDS,
        docs: Any = None,
        reusable: bool = False,
        sync: bool = False,
    ) -> None:
        if sync and not reusable:
            raise ValueError(f"{fn.__name__}: sync=True is for tasks run by flytelite serve: add reusable=True")
        self._fn = fn
        self.name = f"{fn.__module__}.{fn.__name__}"
        self.python_interface: Interface = interface_of(fn, pickle_untyped)
        self.metadata = metadata
        self.resources = resources
        self.environment = dict(environment or {})
        self.container_image = container_image
        self.secret_requests = list(secret_requests or [])
        self.enable_deck = enable_deck
        self.deck_fields = deck_fields_of(deck_fields)
        self._docs = docs
        self.task_config = task_config
        self.config = as_task_config(task_config)
        self._task_resolver = task_resolver
        self.extended_resources = extended_resources or ExtendedResources()
        self.pod_template = pod_template
        self.reusable, self.sync = reusable, sync
        self.command_fn: Callable[[Any], list[str]] | None = None
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]
        check_reusable(self)

    @property
    def function(self) -> Callable[..., Any]:
        return self._fn

    @functools.cached_property
    def documentation(self) -> Any:
        """The task's ``Documentation`` as flytekit registers it (``docs=`` and the docstring)."""
        from .documentation import documentation_of

        return documentation_of(self._fn, self._docs)

    @property
    def task_type(self) -> str:
        if self.reusable:
            return REUSABLE_SYNC_TASK_TYPE if self.sync else REUSABLE_TASK_TYPE
        return self.config.task_type

    @property
    def task_type_version(self) -> int:  # type: ignore[override]
        return self.config.task_type_version

    @functools.cached_property
    def interface(self) -> interface_pb2.TypedInterface:
        return self.python_interface.to_typed_interface()

    @property
    def registered_interface(self) -> interface_pb2.TypedInterface:
        return self.interface

    @property
    def task_resolver(self) -> Any:
        if self._task_resolver is None:
            return object_at(MODULE_RESOLVER, "resolver")
        return self._task_resolver

    def set_resolver(self, resolver: Any) -> None:
        self._task_resolver = resolver

    def set_command_fn(self, command_fn: Callable[[Any], list[str]] | None) -> None:
        """Replace the container command: ``command_fn(serialization settings) -> args``."""
        self.command_fn = command_fn

    def reset_command_fn(self) -> None:
        self.command_fn = None

    # --- the hooks, in the order run_hooks calls them ---------------------------------------------

    def pre_execute(self, params: ExecutionContext) -> ExecutionContext:
        return params

    def execute(self, **kwargs: Any) -> Any:
        if self.task_config is not None:
            return self.config.run_function(self._fn, kwargs)
        result = self._fn(**kwargs)
        if isinstance(result, types.CoroutineType):
            import asyncio

            return asyncio.run(result)
        return result

    def post_execute(self, params: ExecutionContext, rval: Any) -> Any:
        return rval

    def run_hooks(self, ctx: ExecutionContext, inputs: dict[str, Any]) -> Any:
        """``pre_execute``, ``execute``, ``post_execute`` with the context current; the return value."""
        with running_in(ctx):
            params = self.pre_execute(ctx)
            with running_in(params):
                rval = self.execute(**inputs)
                return self.post_execute(params, rval)

    # --- conversions ------------------------------------------------------------------------------

    def decode_inputs(self, input_bytes: bytes, blobs: BlobPaths | None = None) -> dict[str, Any]:
        """Python inputs of a serialized ``LiteralMap``."""
        iface = self.python_interface
        return decode_map_bytes(input_bytes, iface.inputs, iface.defaults, what="input", blobs=blobs)

    def encode_outputs(self, values: dict[str, Any], blobs: BlobPaths | None = None) -> dict[str, bytes]:
        """Packed outputs (:meth:`Interface.pack_outputs`) as one serialized ``Literal`` per output name."""
        return encode_literals(values, self.python_interface.outputs, what="output", blobs=blobs)

    def container_env(self, settings: Any) -> dict[str, str]:
        """The environment of the task's container in its template."""
        return {**settings.env, **self.environment}

    def named_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """A call's positional and keyword arguments by input name."""
        names = list(self.python_interface.inputs)
        if len(args) > len(names):
            raise TypeError(f"{self.name} takes {len(names)} inputs, {len(args)} were given")
        for name, value in zip(names, args):
            if name in kwargs:
                raise TypeError(f"{self.name} got input '{name}' twice")
            kwargs[name] = value
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"{self.name} has no input named {', '.join(sorted(unknown))}")
        return kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        kwargs = self.named_inputs(args, kwargs)
        builder = active_node_builder()
        if builder is not None:  # inside a dynamic task's container run: a node, not a run
            return builder.add(self, kwargs)
        iface, ctx = self.python_interface, current_context()
        blobs = blob_paths_of(ctx)
        known_types = {name: iface.inputs[name] for name in kwargs}
        input_bytes = literal_map_bytes(encode_literals(kwargs, known_types, what="input", blobs=blobs))
        rval = self.run_hooks(ctx, self.decode_inputs(input_bytes, blobs))
        output_bytes = literal_map_bytes(self.encode_outputs(iface.pack_outputs(rval), blobs))
        return iface.unpack_outputs(decode_map_bytes(output_bytes, iface.outputs, what="output", blobs=blobs))

    def __repr__(self) -> str:
        return f"Task({self.name})"


def task(
    _fn: Callable[..., Any] | None = None,
    *,
    cache: bool | Cache = False,
    cache_version: str = "",
    cache_serialize: bool = False,
    cache_ignore_input_vars: tuple[str, ...] = (),
    retries: int = 0,
    timeout: int | datetime.timedelta | None = None,
    interruptible: bool | None = None,
    deprecated: str = "",
    environment: dict[str, str] | None = None,
    requests: Resources | None = None,
    limits: Resources | None = None,
    resources: Resources | None = None,
    container_image: str | None = None,
    secret_requests: list[Secret] | None = None,
    pod_template_name: str | None = None,
    pod_template: PodTemplate | None = None,
    accelerator: Any = None,
    shared_memory: bool | str | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    enable_deck: bool = False,
    pickle_untyped: bool = False,
    deck_fields: Iterable[DeckField | str] | None = ALL_DECK_FIELDS,
    docs: Any = None,
    task_config: Any = None,
    task_resolver: Any = None,
    reusable: bool = False,
    sync: bool = False,
    task_class: type[Task] | None = None,
) -> Any:
    """Make a Flyte task of a function: ``@task`` or ``@task(retries=2, cache=True, cache_version="1")``.

    ``reusable=True`` gives the task the type ``flytelite serve`` runs, in warm workers instead of a pod;
    with ``sync=True`` the daemon answers within the backend's call, with the outputs (no polling).
    """
    if docs is not None:
        from .documentation import Documentation

        if not isinstance(docs, Documentation):
            raise ValueError(f"docs takes a flytelite Documentation, not {type(docs).__name__}")
    if pod_template is not None and not isinstance(pod_template, PodTemplate):
        raise ValueError(f"pod_template takes a flytelite PodTemplate, not {type(pod_template).__name__}")
    metadata = TaskMetadata.with_cache(
        cache,
        cache_version,
        cache_serialize,
        cache_ignore_input_vars,
        retries=retries,
        timeout=timeout,  # type: ignore[arg-type]
        interruptible=interruptible,
        deprecated=deprecated,
        pod_template_name=pod_template_name,
        labels=labels,
        annotations=annotations,
    )
    extended = ExtendedResources(accelerator, shared_memory)
    resource_spec = ResourceSpec.build(requests, limits, resources)

    def wrap(fn: Callable[..., Any]) -> Task:
        return (task_class or Task)(
            fn,
            metadata=metadata,
            resources=resource_spec,
            environment=environment,
            container_image=container_image,
            secret_requests=secret_requests,
            enable_deck=enable_deck,
            task_config=task_config,
            task_resolver=task_resolver,
            extended_resources=extended,
            pod_template=pod_template,
            pickle_untyped=pickle_untyped,
            deck_fields=deck_fields,
            docs=docs,
            reusable=reusable,
            sync=sync,
        )

    return wrap(_fn) if _fn is not None else wrap
