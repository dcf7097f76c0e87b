"""Resolvers: how the container finds the task object again from the loader args it was given.

A resolver is any object with ``load_task(loader_args) -> task`` and ``loader_args(task) -> list``;
``--resolver`` names one by dotted path (``package.module.attribute``). Without it the module
resolver is used (``task-module <module> task-name <attribute>``).
"""

from __future__ import annotations

import importlib
from typing import Any

DEFAULT_RESOLVER = "flytelite.resolvers.module.default_task_resolver"


def load_resolver(path: str | None) -> Any:
    """The resolver object at a dotted path (a class found there is instantiated)."""
    path = path or DEFAULT_RESOLVER
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ValueError(f"resolver {path!r} is not a dotted path like 'package.module.resolver'")
    try:
        resolver = getattr(importlib.import_module(module_name), attribute)
    except AttributeError:
        raise ValueError(f"resolver {path!r}: module {module_name!r} has no attribute {attribute!r}") from None
    if isinstance(resolver, type):
        resolver = resolver()
    if not callable(getattr(resolver, "load_task", None)):
        raise TypeError(f"resolver {path!r} has no load_task(loader_args) method")
    return resolver
