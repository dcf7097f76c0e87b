"""The contract every resolver keeps, and the one place that loads a resolver by its dotted path."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from ..model.tasks import MODULE_RESOLVER as DEFAULT_RESOLVER
from ..support.dotted import object_at


@runtime_checkable
class Resolver(Protocol):
    """How the container finds a task again from the loader args it was registered with.

    ``location()`` is the dotted path ``--resolver`` names it by, ``loader_args(task)`` what follows
    ``--`` in the task's command, and ``load_task(loader_args)`` the inverse of ``loader_args``.
    """

    def name(self) -> str: ...

    def location(self) -> str: ...

    def loader_args(self, task: Any) -> list[str]: ...

    def load_task(self, loader_args: list[str]) -> Any: ...


def load_resolver(path: str | None) -> Resolver:
    """The resolver object at a dotted path (a class found there is instantiated).

    Running a task needs only ``load_task``: a resolver written for the container alone may leave out
    the methods that serialization uses.
    """
    path = path or DEFAULT_RESOLVER
    resolver = object_at(path, "resolver")
    if isinstance(resolver, type):
        resolver = resolver()
    if not callable(getattr(resolver, "load_task", None)):
        raise TypeError(f"resolver {path!r} has no load_task(loader_args) method")
    return resolver
