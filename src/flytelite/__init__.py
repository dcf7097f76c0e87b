"""flytelite: a lean, fast runtime for Flyte tasks, and a small API to write them.

Names are loaded on first use so that a task module importing ``from flytelite import task`` pays
only for what it uses: start-up time is what a short task costs.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "task": "flytelite.model.tasks",
    "dynamic": "flytelite.model.dynamic",
    "workflow": "flytelite.model.workflow",
    "Workflow": "flytelite.model.workflow",
    "Task": "flytelite.model.tasks",
    "Resources": "flytelite.model.metadata",
    "Secret": "flytelite.model.metadata",
    "Cache": "flytelite.model.metadata",
    "DeckField": "flytelite.model.metadata",
    "PodTemplate": "flytelite.model.metadata",
    "GPUAccelerator": "flytelite.model.accelerators",
    "TaskMetadata": "flytelite.model.metadata",
    "Documentation": "flytelite.model.documentation",
    "Description": "flytelite.model.documentation",
    "SourceCode": "flytelite.model.documentation",
    "current_context": "flytelite.runtime.context",
    "ExecutionContext": "flytelite.runtime.context",
    "IgnoreOutputs": "flytelite.support.exceptions",
    "RecoverableException": "flytelite.support.exceptions",
    "FlyteRecoverableException": "flytelite.support.exceptions",
    "TaskError": "flytelite.support.exceptions",
    "FlyteliteError": "flytelite.support.exceptions",
    "FlyteliteException": "flytelite.support.exceptions",
    "File": "flytelite.types.files",
    "Directory": "flytelite.types.files",
    "FlyteFile": "flytelite.types.files",
    "FlyteDirectory": "flytelite.types.files",
    "StructuredDataset": "flytelite.types.datasets",
    "HashMethod": "flytelite.types.annotations",
    "BatchSize": "flytelite.types.annotations",
    "kwtypes": "flytelite.types.datasets",
    "map_task": "flytelite.model.map_task",
    "conditional": "flytelite.model.conditions",
    "LaunchPlan": "flytelite.model.launch_plan",
    "CronSchedule": "flytelite.model.launch_plan",
    "FixedRate": "flytelite.model.launch_plan",
    "Email": "flytelite.model.launch_plan",
    "Slack": "flytelite.model.launch_plan",
    "PagerDuty": "flytelite.model.launch_plan",
    "Labels": "flytelite.model.launch_plan",
    "Annotations": "flytelite.model.launch_plan",
    "WorkflowExecutionPhase": "flytelite.model.launch_plan",
    "SecurityContext": "flytelite.model.launch_plan",
    "Deck": "flytelite.runtime.deck",
    "span": "flytelite.runtime.deck",
    "MarkdownRenderer": "flytelite.runtime.renderers",
    "TopFrameRenderer": "flytelite.runtime.renderers",
    "TableRenderer": "flytelite.runtime.renderers",
    "Elastic": "flytelite.torch_launcher.config",
    "PyTorch": "flytelite.torch_launcher.config",
    "Master": "flytelite.torch_launcher.config",
    "Worker": "flytelite.torch_launcher.config",
    "RunPolicy": "flytelite.torch_launcher.config",
    "CleanPodPolicy": "flytelite.torch_launcher.config",
    "RestartPolicy": "flytelite.torch_launcher.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flytelite' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
