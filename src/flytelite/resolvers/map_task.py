"""The map-task resolver: loader args ``vars <comma-separated bound input names> resolver <inner
resolver path> <its args...>`` name the inner task and the inputs that pass whole."""

from __future__ import annotations

from ..model.map_task import MAP_RESOLVER, MapSubtask
from .base import load_resolver

LOCATION = MAP_RESOLVER


class MapTaskResolver:
    def name(self) -> str:
        return "map"

    def location(self) -> str:
        return LOCATION

    def loader_args(self, task: MapSubtask) -> list[str]:
        return ["vars", ",".join(task.bound_inputs), "resolver", task.inner_resolver, *task.inner_args]

    def load_task(self, loader_args: list[str]) -> MapSubtask:
        if len(loader_args) < 4 or loader_args[0] != "vars" or loader_args[2] != "resolver":
            raise ValueError(f"expected loader args 'vars <bound names> resolver <path> <args...>', got {' '.join(loader_args)!r}")
        bound = [name for name in loader_args[1].split(",") if name]
        inner_resolver, inner_args = loader_args[3], loader_args[4:]
        inner = load_resolver(inner_resolver).load_task(inner_args)
        return MapSubtask(inner, bound, inner_resolver, inner_args)


default_map_task_resolver = MapTaskResolver()
