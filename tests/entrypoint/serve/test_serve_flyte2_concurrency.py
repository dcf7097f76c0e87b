"""A reuse policy's ``concurrency``: that many attempts of an async Flyte 2 task at once in one worker.

``f3_concurrent.nap`` (concurrency 3) records its process id and time window; the daemon has one
worker, so attempts that overlap ran in one process, each in its own thread calling flyte's
``_run_action``. Each prefix's files are compared with a cold ``a0``'s for the same inputs.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

from .agent_client import AgentClient, Daemon, int_inputs
from .flyte2 import ACTOR_TASK_TYPE, FLYTE2_TASK_DIR, cold_a0, create_request
from .test_serve_flyte2 import files

pytestmark = pytest.mark.skipif(importlib.util.find_spec("flyte") is None, reason="flyte (Flyte 2's SDK, the extra flytelite[flyte2]) is not installed")

Phase = execution_pb2.TaskExecution
MODULE = "f3_concurrent"
NAP_MS = 1500


@pytest.fixture(scope="module")
def one_worker(module_env: dict[str, str]) -> Iterator[AgentClient]:
    daemon = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE], module_env, cwd=FLYTE2_TASK_DIR)
    agent = AgentClient(daemon.port)
    yield agent
    agent.close()
    daemon.stop()


def nap_request(tmp_path: Path, tag: str, record_dir: Path, env: dict[str, str] | None = None) -> agent_pb2.CreateTaskRequest:
    prefix = tmp_path / tag
    prefix.mkdir()
    # Each attempt is its own action: the per-action variables differ, the rest of the environment not.
    return create_request("nap", str(prefix), nap_inputs(tag, record_dir), str(tmp_path / "run"), {"ACTION_NAME": f"a-{tag}", **(env or {})}, MODULE)


def nap_inputs(tag: str, record_dir: Path):
    return int_inputs(tag=tag, milliseconds=NAP_MS, record_dir=str(record_dir))


def records(record_dir: Path, tags: list[str]) -> list[dict[str, float]]:
    return [json.loads((record_dir / f"{tag}.json").read_text()) for tag in tags]


def overlap(windows: list[dict[str, float]]) -> bool:
    """Whether every window was open at one moment."""
    return max(w["start"] for w in windows) < min(w["end"] for w in windows)


def warmed_up(client: AgentClient, tmp_path: Path) -> Path:
    """The folder the naps record in, after one attempt the worker ran alone (its first imports the task)."""
    record_dir = tmp_path / "records"
    record_dir.mkdir()
    warm = client.wait(client.create(nap_request(tmp_path, "warm", record_dir)), timeout=120)
    assert warm.phase == Phase.SUCCEEDED, warm.message
    return record_dir


def start_naps(client: AgentClient, tmp_path: Path, tags: list[str]) -> tuple[Path, list[bytes], str]:
    """Naps ``tags`` created in a warmed-up worker, once all have started: their record folder, their
    resource metas, and the one process id they run in."""
    record_dir = warmed_up(client, tmp_path)
    metas = [client.create(nap_request(tmp_path, tag, record_dir)) for tag in tags]
    started = [record_dir / f"{tag}.started" for tag in tags]
    deadline = time.monotonic() + 60
    while not all(path.exists() for path in started) and time.monotonic() < deadline:
        time.sleep(0.02)
    pids = {path.read_text() for path in started}
    assert len(pids) == 1, pids
    return record_dir, metas, pids.pop()


@pytest.mark.slow
def test_concurrent_attempts_run_at_once_in_one_worker_and_write_a_cold_a0s_files(one_worker: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    record_dir = warmed_up(one_worker, tmp_path)
    tags = ["x", "y", "z"]
    metas = [one_worker.create(nap_request(tmp_path, tag, record_dir)) for tag in tags]
    resources = [one_worker.wait(meta, timeout=120) for meta in metas]
    assert [r.phase for r in resources] == [Phase.SUCCEEDED] * 3, [r.message for r in resources]
    windows = records(record_dir, tags)
    assert len({w["pid"] for w in windows} | {records(record_dir, ["warm"])[0]["pid"]}) == 1
    assert overlap(windows), windows
    for tag in ["warm", *tags]:  # each prefix holds its own attempt's outputs, as a cold a0 writes them
        cold = tmp_path / f"cold-{tag}"
        finished = cold_a0("nap", str(cold), nap_inputs(tag, record_dir), str(tmp_path / "run"), module_env, MODULE)
        assert finished.returncode == 0, finished.stderr[-3000:]
        warm_files = files(tmp_path / tag)
        assert warm_files == files(cold)
        assert f"{tag} slept".encode() in warm_files["outputs.pb"]


def test_the_reuse_policys_concurrency_is_read_from_the_template(tmp_path: Path) -> None:
    from flytelite.entrypoint.serve.request import build_spec

    request = nap_request(tmp_path, "t", tmp_path)
    spec = build_spec("a", request.template, request.inputs, request.output_prefix, request.task_execution_metadata)
    assert spec.options["concurrency"] == 3  # f3_concurrent.env's ReusePolicy
    assert spec.options["idle_ttl"] == 60


@pytest.mark.parametrize("parallelism", [0, 2.5, -1])
def test_a_concurrency_flyte_would_not_write_is_refused(tmp_path: Path, parallelism: float) -> None:
    from flytelite.entrypoint.serve.request import InvalidRequest, build_spec

    request = nap_request(tmp_path, "t", tmp_path)
    request.template.custom.fields["spec"].struct_value.fields["parallelism"].number_value = parallelism
    with pytest.raises(InvalidRequest, match="concurrency"):
        build_spec("a", request.template, request.inputs, request.output_prefix, request.task_execution_metadata)


@pytest.mark.slow
def test_attempts_whose_environments_differ_run_one_after_the_other(one_worker: AgentClient, tmp_path: Path) -> None:
    """Another value of a variable that may configure flyte: the second waits for the first, in the same worker."""
    record_dir = warmed_up(one_worker, tmp_path)
    metas = [one_worker.create(nap_request(tmp_path, tag, record_dir, {"FLYTE_SOMETHING": tag})) for tag in ("p", "q")]
    resources = [one_worker.wait(meta, timeout=120) for meta in metas]
    assert [r.phase for r in resources] == [Phase.SUCCEEDED] * 2, [r.message for r in resources]
    windows = records(record_dir, ["p", "q"])
    assert not overlap(windows), windows
    assert windows[0]["pid"] == windows[1]["pid"]


@pytest.mark.slow
def test_a_worker_killed_with_attempts_in_flight_gives_each_one_verdict(one_worker: AgentClient, tmp_path: Path) -> None:
    tags = ["k1", "k2", "k3"]
    record_dir, metas, pid = start_naps(one_worker, tmp_path, tags)
    os.kill(int(pid), 9)
    for tag, meta in zip(tags, metas):
        resource = one_worker.wait(meta, timeout=60)
        # The task declares outputs: the verdict is the error document the pool wrote, read by the backend.
        assert resource.phase == Phase.SUCCEEDED, resource.message
        assert "was killed by SIGKILL" in resource.message
        assert (resource.agent_error.origin, resource.agent_error.kind) == (execution_pb2.ExecutionError.SYSTEM, agent_pb2.AgentError.RECOVERABLE)
        assert list(files(tmp_path / tag)) == ["error.pb"]
        assert not (record_dir / f"{tag}.json").exists()
    after = one_worker.wait(one_worker.create(nap_request(tmp_path, "after", record_dir)), timeout=120)
    assert after.phase == Phase.SUCCEEDED, after.message


@pytest.mark.slow
def test_deleting_one_concurrent_attempt_leaves_the_others_running(one_worker: AgentClient, tmp_path: Path) -> None:
    tags = ["c1", "c2", "c3"]
    record_dir, metas, pid = start_naps(one_worker, tmp_path, tags)
    one_worker.delete(metas[1], task_type=ACTOR_TASK_TYPE)
    cancelled = one_worker.wait(metas[1], timeout=30)
    assert cancelled.phase == Phase.ABORTED, cancelled.message
    assert "cancelled in the worker, whose other attempts ran on" in cancelled.message
    assert list(files(tmp_path / "c2")) == ["error.pb"]
    assert not (record_dir / "c2.json").exists()
    for tag, meta in ((tags[0], metas[0]), (tags[2], metas[2])):
        resource = one_worker.wait(meta, timeout=60)
        assert resource.phase == Phase.SUCCEEDED, resource.message
        assert list(files(tmp_path / tag)) == ["outputs.pb"]
    assert {str(window["pid"]) for window in records(record_dir, [tags[0], tags[2]])} == {pid}  # the worker was not replaced


@pytest.mark.slow
def test_an_attempt_deleted_while_it_waits_its_turn_ends_at_once(one_worker: AgentClient, tmp_path: Path) -> None:
    """It waits behind an attempt of another environment: deleted, it never runs and need not wait for that one."""
    record_dir, metas, pid = start_naps(one_worker, tmp_path, ["running"])
    waiting = one_worker.create(nap_request(tmp_path, "waiting", record_dir, {"FLYTE_SOMETHING": "else"}))
    deadline = time.monotonic() + 30
    while one_worker.get(waiting).phase != Phase.RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)  # sent to the worker (the pool's RUNNING), where it waits for "running" to end
    one_worker.delete(waiting, task_type=ACTOR_TASK_TYPE)
    cancelled = one_worker.wait(waiting, timeout=30)
    assert cancelled.phase == Phase.ABORTED, cancelled.message
    assert "cancelled in the worker" in cancelled.message
    assert not (record_dir / "running.json").exists()  # it ended before the attempt it waited for
    assert list(files(tmp_path / "waiting")) == ["error.pb"]
    running = one_worker.wait(metas[0], timeout=60)
    assert running.phase == Phase.SUCCEEDED, running.message
    assert not (record_dir / "waiting.started").exists()
    assert str(records(record_dir, ["running"])[0]["pid"]) == pid


@pytest.mark.slow
def test_concurrent_parents_each_call_their_child_through_their_own_controller(module_env: dict[str, str], s3_server, s3_bucket: str, tmp_path: Path) -> None:
    """Three parents at once in one worker, each its own action, each calling a child through the fake
    ActionsService: each gets its own child's result, as a cold a0 of it does."""
    from .flyte2_actions import FakeActionsBackend
    from .test_serve_flyte2_nested import storage_env

    env = {**module_env, **storage_env(s3_server.env())}
    backend = FakeActionsBackend(FLYTE2_TASK_DIR, env)
    daemon = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE, "--flyte2-endpoint", backend.endpoint], env, cwd=FLYTE2_TASK_DIR)
    client = AgentClient(daemon.port)
    try:
        record_dir = tmp_path / "records"
        record_dir.mkdir()
        values = {"warm": 1, "p1": 10, "p2": 20, "p3": 30}  # the first runs alone: the worker imports the task
        resources = {}
        for group in (["warm"], ["p1", "p2", "p3"]):
            metas = {tag: client.create(parent_request(tmp_path / tag, tag, values[tag], record_dir, f"s3://{s3_bucket}/warm")) for tag in group}
            resources.update({tag: client.wait(meta, timeout=180) for tag, meta in metas.items()})
        assert all(r.phase == Phase.SUCCEEDED for r in resources.values()), {tag: r.message for tag, r in resources.items()}
        windows = records(record_dir, ["p1", "p2", "p3"])
        assert overlap(windows) and len({w["pid"] for w in windows}) == 1, windows
        for tag, value in values.items():
            assert integer_output(tmp_path / tag) == value + 1
        cold = tmp_path / "cold-p2"
        cold_env = {**env, **backend.pod_environ(), "ACTION_NAME": "p2"}
        finished = cold_a0("nap_and_call", str(cold), int_inputs(tag="p2", a=20, record_dir=str(record_dir)), f"s3://{s3_bucket}/cold", cold_env, MODULE)
        assert finished.returncode == 0, finished.stderr[-3000:]
        assert (tmp_path / "p2" / "outputs.pb").read_bytes() == (cold / "outputs.pb").read_bytes()
        output = "".join(daemon.lines)
        assert "did not stop cleanly" not in output and "Traceback" not in output, output[-3000:]
    finally:
        client.close()
        daemon.stop()
        backend.stop()


def parent_request(prefix: Path, tag: str, a: int, record_dir: Path, run_base: str) -> agent_pb2.CreateTaskRequest:
    """``nap_and_call`` as action ``tag`` of the run (each parent's children are its own at the backend)."""
    prefix.mkdir()
    request = create_request("nap_and_call", str(prefix), int_inputs(tag=tag, a=a, record_dir=str(record_dir)), run_base, {"ACTION_NAME": tag}, MODULE)
    args = request.template.container.args
    args[list(args).index("--name") + 1] = tag
    return request


def integer_output(prefix: Path) -> int:
    from flyteidl.core import literals_pb2

    return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.integer
