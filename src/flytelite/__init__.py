"""flytelite: a lean, fast runtime for Flyte tasks, and a small API to write them.

Names are loaded on first use so that a task module importing ``from flytelite import task`` pays
only for what it uses: start-up time is what a short task costs.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "task": "flytelite.task",
    "Task": "flytelite.task",
    "Resources": "flytelite.task_metadata",
    "Secret": "flytelite.task_metadata",
    "TaskMetadata": "flytelite.task_metadata",
    "current_context": "flytelite.context",
    "ExecutionContext": "flytelite.context",
    "IgnoreOutputs": "flytelite.exceptions",
    "RecoverableException": "flytelite.exceptions",
    "TaskError": "flytelite.exceptions",
    "File": "flytelite.files",
    "Directory": "flytelite.files",
}

__all__ = sorted(_EXPORTS)


class _Package(types.ModuleType):
    """Keeps ``flytelite.task`` the decorator when the submodule of that name is imported.

    Importing ``flytelite.task`` (the module) binds the package attribute ``task`` to the module, which
    would make a later ``from flytelite import task`` return the module instead of the decorator. An
    export whose name is its own module's name is bound to the exported object instead.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flytelite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
