"""The names ``flytelite`` exports: user code written against them keeps working."""

from __future__ import annotations

import subprocess
import sys

import flytelite

PUBLIC = [
    "Annotations",
    "BatchSize",
    "Cache",
    "CleanPodPolicy",
    "CronSchedule",
    "Deck",
    "DeckField",
    "Description",
    "Directory",
    "Documentation",
    "Elastic",
    "Email",
    "ExecutionContext",
    "File",
    "FixedRate",
    "FlyteDirectory",
    "FlyteFile",
    "FlyteRecoverableException",
    "FlyteliteError",
    "FlyteliteException",
    "GPUAccelerator",
    "HashMethod",
    "IgnoreOutputs",
    "Labels",
    "LaunchPlan",
    "MarkdownRenderer",
    "Master",
    "PagerDuty",
    "PodTemplate",
    "PyTorch",
    "RecoverableException",
    "Resources",
    "RestartPolicy",
    "RunPolicy",
    "Secret",
    "SecurityContext",
    "Slack",
    "SourceCode",
    "StructuredDataset",
    "TableRenderer",
    "Task",
    "TaskError",
    "TaskMetadata",
    "TopFrameRenderer",
    "Worker",
    "Workflow",
    "WorkflowExecutionPhase",
    "conditional",
    "current_context",
    "dynamic",
    "kwtypes",
    "map_task",
    "span",
    "task",
    "workflow",
]


def test_the_exported_names_are_pinned() -> None:
    assert flytelite.__all__ == PUBLIC


def test_every_exported_name_resolves() -> None:
    for name in PUBLIC:
        assert getattr(flytelite, name) is not None, name


def test_importing_the_package_loads_nothing_else() -> None:
    code = "import sys, flytelite; print(sorted(m for m in sys.modules if m.startswith('flytelite')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['flytelite']"


def test_a_task_module_needs_only_the_task_decorator() -> None:
    code = "import sys; from flytelite import task; print('structlog' in sys.modules, 'logging' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
