"""Flyte 2 tasks that call other tasks, against a loopback fake of the backend's ActionsService.

The parent runs cold (the ``a0`` console script) or warm (``flytelite serve --flyte2-endpoint``);
either way its child runs as a cold ``a0`` the fake starts, with the run's base on SeaweedFS (a nested
call uploads the child's inputs under ``_U_RUN_BASE``, which local storage cannot do when the folder
does not exist yet).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("flyte") is None, reason="flyte (Flyte 2's SDK, the extra flytelite[flyte2]) is not installed"),
    pytest.mark.slow,
]

if importlib.util.find_spec("flyte") is not None:  # the fake is built on flyte's generated Connect service
    from flyteidl.core import execution_pb2, literals_pb2
    from flyteidl2.common import phase_pb2

    from .agent_client import AgentClient, Daemon
    from .flyte2 import ACTOR_TASK_TYPE, FLYTE2_TASK_DIR, cold_a0, create_request, literal_inputs
    from .flyte2_actions import FakeActionsBackend

Phase = None if importlib.util.find_spec("flyte") is None else execution_pb2.TaskExecution


def storage_env(s3_env: dict[str, str]) -> dict[str, str]:
    """The server's settings under both names: flyte's own (FLYTE_AWS_*) and the AWS ones flytelite reads."""
    return {**s3_env, "FLYTE_AWS_ENDPOINT": s3_env["AWS_ENDPOINT_URL"], "FLYTE_AWS_ACCESS_KEY_ID": s3_env["AWS_ACCESS_KEY_ID"], "FLYTE_AWS_SECRET_ACCESS_KEY": s3_env["AWS_SECRET_ACCESS_KEY"]}


@pytest.fixture
def backend(module_env: dict[str, str], s3_env: dict[str, str]) -> Iterator[FakeActionsBackend]:
    running = FakeActionsBackend(FLYTE2_TASK_DIR, {**module_env, **storage_env(s3_env)})
    yield running
    running.stop()


def outputs(prefix: Path) -> literals_pb2.LiteralMap:
    # flyteidl2.task.Outputs (repeated NamedLiteral, field 1) is a LiteralMap on the wire.
    return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes())


def run_cold(backend: FakeActionsBackend, env: dict[str, str], name: str, prefix: Path, run_base: str, **inputs: int):
    finished = cold_a0(name, str(prefix), literal_inputs(**inputs), run_base, {**env, **backend.pod_environ()})
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished


def test_a_cold_parent_runs_its_child_through_the_backend(backend: FakeActionsBackend, module_env, s3_env, s3_bucket: str, tmp_path: Path) -> None:
    run_base = f"s3://{s3_bucket}/run"
    run_cold(backend, {**module_env, **storage_env(s3_env)}, "parent", tmp_path / "out", run_base, a=3)
    assert outputs(tmp_path / "out").literals["o0"].scalar.primitive.integer == 4
    [enqueued] = backend.service.enqueued
    assert enqueued.action.parent_action_name == "a1"
    assert enqueued.action.task.spec.task_template.id.name.endswith("add")
    [child] = backend.service.children.values()
    assert child.phase == phase_pb2.ACTION_PHASE_SUCCEEDED, child.log.decode()[-3000:]
    assert child.output_uri.startswith(f"s3://{s3_bucket}/") and child.output_uri.endswith(f"/run/{enqueued.action.action_id.name}/1")
