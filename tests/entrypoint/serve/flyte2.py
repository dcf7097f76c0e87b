"""Flyte 2 tasks as the backend hands them to a connector, and the same attempt run by a cold ``a0``.

Templates are serialized by flyte's own ``get_proto_task`` (task type ``actor`` for the reusable
environment) and read as Flyte 1 TaskTemplates, whose fields share their numbers, so they travel
through the agent protocol; the placeholders of the ``a0`` args are filled in as the backend does.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from flyteidl.admin import agent_pb2
from flyteidl.core import literals_pb2, tasks_pb2

from .agent_client import render

FLYTE2_TASK_DIR = Path(__file__).resolve().parent / "flyte2_tasks"
ACTOR_TASK_TYPE = "actor"  # flyte/_internal/runtime/reuse.py add_reusable


@functools.lru_cache(maxsize=None)
def flyte2_template(name: str, module: str = "f2_tasks") -> tasks_pb2.TaskTemplate:
    """The TaskTemplate flyte registers for ``module.name`` (the image holds the code: no bundle)."""
    import importlib

    from flyte._internal.runtime.task_serde import get_proto_task
    from flyte.models import SerializationContext

    if str(FLYTE2_TASK_DIR) not in sys.path:
        sys.path.insert(0, str(FLYTE2_TASK_DIR))
    task = getattr(importlib.import_module(module), name)
    context = SerializationContext(version="v1", project="p", domain="d", org="o", root_dir=FLYTE2_TASK_DIR)
    return tasks_pb2.TaskTemplate.FromString(get_proto_task(task, context).SerializeToString())


def render_a0(template: tasks_pb2.TaskTemplate, prefix: str, raw: str) -> tasks_pb2.TaskTemplate:
    """The template as the backend sends it: a Flyte 1 template's placeholders, then the run's."""
    rendered = render(template, prefix, raw, f"{prefix}/inputs.pb")
    run_values = {"{{.runName}}": "r1", "{{.actionName}}": "a1", "{{.runStartTime}}": "2026-01-02T03:04:05Z"}
    args = [run_values.get(arg, arg) for arg in rendered.container.args]
    del rendered.container.args[:]
    rendered.container.args.extend(args)
    return rendered


def run_environ(run_base: str) -> dict[str, str]:
    """The variables the backend sets for an action (flyte/_bin/runtime.py reads them)."""
    return {
        "ACTION_NAME": "a1",
        "RUN_NAME": "r1",
        "_U_RUN_BASE": run_base,
        "FLYTE_INTERNAL_EXECUTION_PROJECT": "p",
        "FLYTE_INTERNAL_EXECUTION_DOMAIN": "d",
        "_U_ORG_NAME": "o",
    }


def create_request(
    name: str, prefix: str, inputs: literals_pb2.LiteralMap, run_base: str, env: dict[str, str] | None = None, module: str = "f2_tasks"
) -> agent_pb2.CreateTaskRequest:
    template = render_a0(flyte2_template(name, module), prefix, f"{prefix}-raw")
    metadata = agent_pb2.TaskExecutionMetadata(namespace="p-d", environment_variables={**run_environ(run_base), **(env or {})})
    return agent_pb2.CreateTaskRequest(inputs=inputs, template=template, output_prefix=prefix, task_execution_metadata=metadata)


def cold_a0(
    name: str, prefix: str, inputs: literals_pb2.LiteralMap, run_base: str, env: dict[str, str], module: str = "f2_tasks"
) -> subprocess.CompletedProcess[str]:
    """The same attempt in a fresh ``a0`` process, as in a pod: inputs written where ``--inputs`` names them."""
    os.makedirs(prefix, exist_ok=True)
    Path(prefix, "inputs.pb").write_bytes(inputs.SerializeToString())
    args = list(render_a0(flyte2_template(name, module), prefix, f"{prefix}-raw").container.args)
    a0 = Path(sys.executable).with_name("a0")
    return subprocess.run([str(a0), *args[1:]], cwd=FLYTE2_TASK_DIR, env={**env, **run_environ(run_base)}, capture_output=True, text=True, timeout=120)
