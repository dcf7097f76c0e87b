"""The ``@task`` decorator and the task object a resolver rehydrates inside the container."""

from __future__ import annotations

import datetime
import functools
import types
from typing import TYPE_CHECKING, Any, Callable

from .context import ExecutionContext, current_context, use_context
from .interface import Interface, interface_of
from .task_metadata import ResourceSpec, Resources, Secret, TaskMetadata
from .type_engine import decode_map, decode_map_bytes, encode_literals, encode_map

if TYPE_CHECKING:
    from flyteidl.core import interface_pb2, literals_pb2



# The task type ``flytelite serve`` runs: a backend routes it to the daemon's agent instead of a pod.
REUSABLE_TASK_TYPE = "flytelite-reusable"


class Task:
    """A Python function with a typed interface, run by Flyte in a container or called locally.

    ``dispatch_execute`` runs the hooks in flytekit's order: ``pre_execute``, input conversion,
    ``execute``, ``post_execute``, output conversion. Calling the task with Python values goes
    through the same conversions, so a local call catches the type errors a cluster would.
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
        reusable: bool = False,
    ) -> None:
        if reusable and getattr(task_config, "task_type", None):
            raise ValueError(f"{fn.__name__}: reusable=True runs in flytelite serve's workers and cannot be combined with a {type(task_config).__name__} task_config")
        self._fn = fn
        self.name = f"{fn.__module__}.{fn.__name__}"
        self.python_interface: Interface = interface_of(fn)
        self.metadata = metadata
        self.resources = resources
        self.environment = dict(environment or {})
        self.container_image = container_image
        self.secret_requests = list(secret_requests or [])
        self.enable_deck = enable_deck
        self.task_config = task_config
        self._task_resolver = task_resolver
        self.reusable = reusable
        self.command_fn: Callable[[Any], list[str]] | None = None
        functools.update_wrapper(self, fn)  # type: ignore[arg-type]

    @property
    def function(self) -> Callable[..., Any]:
        return self._fn

    @property
    def task_type(self) -> str:
        if self.reusable:
            return REUSABLE_TASK_TYPE
        return getattr(self.task_config, "task_type", "python-task")

    @property
    def interface(self) -> interface_pb2.TypedInterface:
        return self.python_interface.to_typed_interface()

    @property
    def task_resolver(self) -> Any:
        if self._task_resolver is None:
            from .resolvers.module import default_task_resolver

            return default_task_resolver
        return self._task_resolver

    def set_resolver(self, resolver: Any) -> None:
        self._task_resolver = resolver

    def set_command_fn(self, command_fn: Callable[[Any], list[str]] | None) -> None:
        """Replace the container command: ``command_fn(serialization settings) -> args``."""
        self.command_fn = command_fn

    def reset_command_fn(self) -> None:
        self.command_fn = None

    # --- the hooks, in the order dispatch_execute calls them --------------------------------------

    def pre_execute(self, params: ExecutionContext) -> ExecutionContext:
        return params

    def execute(self, **kwargs: Any) -> Any:
        runner = getattr(self.task_config, "run_function", None)
        if runner is not None:
            return runner(self._fn, kwargs)
        result = self._fn(**kwargs)
        if isinstance(result, types.CoroutineType):
            import asyncio

            return asyncio.run(result)
        return result

    def post_execute(self, params: ExecutionContext, rval: Any) -> Any:
        return rval

    def decode_inputs(self, input_bytes: bytes) -> dict[str, Any]:
        """Python inputs of a serialized ``LiteralMap``."""
        iface = self.python_interface
        return decode_map_bytes(input_bytes, iface.inputs, iface.defaults, what="input")

    def encode_outputs(self, rval: Any) -> dict[str, bytes]:
        """The return value as one serialized ``Literal`` per output name."""
        return encode_literals(self.python_interface.pack_outputs(rval), self.python_interface.outputs, what="output")

    def dispatch_execute(self, ctx: ExecutionContext, input_map: literals_pb2.LiteralMap) -> literals_pb2.LiteralMap:
        """Run the task on literal inputs and return its literal outputs."""
        from flyteidl.core import literals_pb2

        from ._literal_bytes import literal_map_bytes

        with use_context(ctx):
            params = self.pre_execute(ctx)
            with use_context(params):
                native_inputs = self.decode_inputs(input_map.SerializeToString())
                rval = self.execute(**native_inputs)
                rval = self.post_execute(params, rval)
                return literals_pb2.LiteralMap.FromString(literal_map_bytes(self.encode_outputs(rval)))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
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
        known_types = {name: self.python_interface.inputs[name] for name in kwargs}
        input_map = encode_map(kwargs, known_types, what="input")
        output_map = self.dispatch_execute(current_context(), input_map)
        values = decode_map(output_map, self.python_interface.outputs, what="output")
        return self.python_interface.unpack_outputs(values)

    def __repr__(self) -> str:
        return f"Task({self.name})"


def task(
    _fn: Callable[..., Any] | None = None,
    *,
    cache: bool = False,
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
    enable_deck: bool = False,
    task_config: Any = None,
    task_resolver: Any = None,
    reusable: bool = False,
) -> Any:
    """Make a Flyte task of a function: ``@task`` or ``@task(retries=2, cache=True, cache_version="1")``.

    ``reusable=True`` gives the task the type ``flytelite serve`` runs, in warm workers instead of a pod.
    """
    metadata = TaskMetadata(
        cache=cache,
        cache_version=cache_version,
        cache_serialize=cache_serialize,
        cache_ignore_input_vars=cache_ignore_input_vars,
        retries=retries,
        timeout=timeout,  # type: ignore[arg-type]
        interruptible=interruptible,
        deprecated=deprecated,
        pod_template_name=pod_template_name,
    )
    resource_spec = ResourceSpec.build(requests, limits, resources)

    def wrap(fn: Callable[..., Any]) -> Task:
        return Task(
            fn,
            metadata=metadata,
            resources=resource_spec,
            environment=environment,
            container_image=container_image,
            secret_requests=secret_requests,
            enable_deck=enable_deck,
            task_config=task_config,
            task_resolver=task_resolver,
            reusable=reusable,
        )

    return wrap(_fn) if _fn is not None else wrap
