"""The default resolver: a task is an attribute of an importable module."""

from __future__ import annotations

import importlib
from typing import Any


class ModuleTaskResolver:
    """Loader args ``task-module <dotted.module> task-name <attribute>``."""

    def name(self) -> str:
        return "module"

    def location(self) -> str:
        return f"{__name__}.default_task_resolver"

    def loader_args(self, task: Any) -> list[str]:
        fn = task.function
        return ["task-module", fn.__module__, "task-name", fn.__name__]

    def load_task(self, loader_args: list[str]) -> Any:
        if len(loader_args) != 4 or loader_args[0] != "task-module" or loader_args[2] != "task-name":
            raise ValueError(f"expected loader args 'task-module <module> task-name <name>', got {' '.join(loader_args)!r}")
        module_name, task_name = loader_args[1], loader_args[3]
        module = importlib.import_module(module_name)
        try:
            return getattr(module, task_name)
        except AttributeError:
            raise AttributeError(f"module {module_name!r} ({module.__file__}) has no attribute {task_name!r}") from None


default_task_resolver = ModuleTaskResolver()
