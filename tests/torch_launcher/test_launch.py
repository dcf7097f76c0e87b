"""The launcher with real worker processes: gloo on CPU, two workers per node unless said otherwise."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

import torch_examples  # noqa: E402  (this folder is on sys.path under pytest)

from flytelite.runtime.context import ExecutionContext, ExecutionIdentity, use_context  # noqa: E402
from flytelite.support.exceptions import IgnoreOutputs, TaskError  # noqa: E402
from flytelite.torch_launcher.config import Elastic, PyTorch, Worker  # noqa: E402

HERE = Path(__file__).parent
START_METHODS = ["spawn", "fork"]


def elastic(start_method: str, **overrides) -> Elastic:
    settings = {"nproc_per_node": 2, "start_method": start_method, "monitor_interval": 0.1}
    return Elastic(**{**settings, **overrides})


@pytest.mark.parametrize("start_method", START_METHODS)
def test_rank_0_returns_the_all_reduced_sum(start_method: str) -> None:
    handler_before = signal.getsignal(signal.SIGTERM)
    assert elastic(start_method).run_function(torch_examples.allreduce_sum, {"x": 1.0}) == 3.0  # (1+0) + (1+1)
    assert signal.getsignal(signal.SIGTERM) is handler_before


def test_worker_gets_a_minimal_context_and_rank_0_decks_come_back(tmp_path: Path) -> None:
    parent = ExecutionContext(
        execution_id=ExecutionIdentity(name="exec-42"),
        working_directory=str(tmp_path),
        raw_output_prefix="s3://bucket/raw",
    )
    with use_context(parent):
        seen = elastic("spawn").run_function(torch_examples.describe_worker, {})
    assert seen["raw_output_prefix"] == "s3://bucket/raw"
    assert seen["execution_name"] == "exec-42"
    assert seen["working_directory"] == str(tmp_path / "rank-0")
    assert (seen["omp_num_threads"], seen["torch_threads"]) == ("1", 1)
    assert parent.decks == ["deck from rank 0"]
    # A spawned worker loads no more of flytelite than the context it needs.
    assert not [m for m in seen["modules"] if m.startswith(("flytelite.entrypoint", "flytelite.model.tasks", "click", "structlog"))]


def test_forked_workers_use_one_thread_each_and_hand_back_decks() -> None:
    parent = ExecutionContext()
    with use_context(parent):
        seen = elastic("fork").run_function(torch_examples.describe_worker, {})
    assert (seen["omp_num_threads"], seen["torch_threads"]) == ("1", 1)
    assert parent.decks == ["deck from rank 0"]


def test_a_forked_worker_never_collects_what_it_inherited() -> None:
    # Collecting the parent's objects in a forked child crashed it (SIGSEGV while garbage-collecting,
    # seen when earlier launches had run in the same parent); the worker freezes them instead.
    assert elastic("fork").run_function(torch_examples.frozen_object_count, {}) > 1000
    assert elastic("spawn").run_function(torch_examples.frozen_object_count, {}) == 0


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_raising_worker_becomes_a_task_error_with_its_traceback(start_method: str) -> None:
    with pytest.raises(TaskError) as failed:
        elastic(start_method).run_function(torch_examples.fail_in_rank, {"failing_rank": 1})
    error = failed.value
    assert error.summary == "torch elastic worker rank 1 failed: ValueError: boom from rank 1"
    assert 'in fail_in_rank\n    raise ValueError(f"boom from rank {failing_rank}")' in error.details
    assert "_worker.py" not in error.details  # the user's frames only
    assert not error.recoverable


def test_the_raising_rank_is_named_even_when_its_peers_fail_after_it() -> None:
    with pytest.raises(TaskError) as failed:
        elastic("spawn").run_function(torch_examples.fail_in_rank, {"failing_rank": 1, "in_collective": True})
    assert failed.value.summary.startswith("torch elastic worker rank 1 failed: ValueError")


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_worker_killed_by_sigkill_is_reported_as_possibly_out_of_memory(start_method: str) -> None:
    with pytest.raises(TaskError) as failed:
        elastic(start_method).run_function(torch_examples.die_by_signal_in_rank, {"dying_rank": 1})
    assert failed.value.summary == "torch elastic worker rank 1 was killed by signal SIGKILL (it may have run out of memory)"


def test_a_killed_worker_is_the_root_cause_over_its_peers_collective_errors() -> None:
    with pytest.raises(TaskError) as failed:
        elastic("spawn").run_function(torch_examples.die_by_signal_in_rank, {"dying_rank": 1, "in_collective": True})
    assert failed.value.summary.startswith("torch elastic worker rank 1 was killed by signal SIGKILL")


@pytest.mark.parametrize("start_method", START_METHODS)
def test_a_recoverable_exception_in_a_worker_makes_a_recoverable_error(start_method: str) -> None:
    with pytest.raises(TaskError) as failed:
        elastic(start_method).run_function(torch_examples.fail_in_rank, {"failing_rank": 0, "recoverable": True})
    assert failed.value.recoverable
    assert failed.value.error_code == "USER:Recoverable"
    assert "RecoverableException: flaky storage seen by rank 0" in failed.value.summary


@pytest.mark.parametrize("start_method", START_METHODS)
def test_max_restarts_lets_a_flaky_group_succeed(start_method: str, tmp_path: Path) -> None:
    config = elastic(start_method, max_restarts=1)
    restart_count = config.run_function(torch_examples.fail_first_time_in_rank_1, {"marker_dir": str(tmp_path)})
    assert restart_count == 1


def test_pytorch_replica_runs_once_and_only_rank_0_keeps_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    config = PyTorch(worker=Worker(replicas=1))
    calls = []
    monkeypatch.setenv("RANK", "0")
    assert config.run_function(lambda v: calls.append(v) or v * 2, {"v": 21}) == 42
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(IgnoreOutputs):
        config.run_function(lambda v: calls.append(v) or v * 2, {"v": 21})
    assert calls == [21, 21]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_node_agent(tmp_path: Path, name: str, function: str, kwargs: dict, elastic_args: dict, env: dict) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / f"{name}.json"
    command = [sys.executable, str(HERE / "torch_node_agent.py"), function, json.dumps(kwargs), json.dumps(elastic_args), str(out)]
    return subprocess.Popen(command, env={**os.environ, **env}), out


def test_two_node_agents_share_one_c10d_endpoint_and_one_node_returns(tmp_path: Path) -> None:
    env = {"PET_RDZV_ENDPOINT": f"127.0.0.1:{_free_port()}", "PET_NNODES": "2", "_F_NM": "two-nodes"}
    elastic_args = {"nnodes": 2, "nproc_per_node": 2, "start_method": "fork", "monitor_interval": 0.1, "rdzv_configs": {"timeout": 60, "join_timeout": 60}}
    agents = [_start_node_agent(tmp_path, f"node{i}", "allreduce_sum", {"x": 1.0}, elastic_args, env) for i in range(2)]
    outcomes = []
    for process, out in agents:
        assert process.wait(timeout=120) == 0
        outcomes.append(json.loads(out.read_text()))
    assert sorted(outcomes, key=str) == [{"ignored": True}, {"result": 10.0}]  # 4 * 1 + (0 + 1 + 2 + 3)


def test_sigterm_to_the_agent_stops_the_workers_and_raises_terminated(tmp_path: Path) -> None:
    agent, out = _start_node_agent(tmp_path, "agent", "wait_forever", {"pid_dir": str(tmp_path)}, {"nproc_per_node": 2, "monitor_interval": 0.1}, {})
    pid_files = [tmp_path / "rank-0.pid", tmp_path / "rank-1.pid"]
    deadline = time.monotonic() + 60
    while not all(p.exists() and p.read_text() for p in pid_files):
        assert time.monotonic() < deadline and agent.poll() is None, "workers did not start"
        time.sleep(0.1)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=60) == 143
    assert json.loads(out.read_text()) == {"terminated": "SIGTERM"}
    for pid_file in pid_files:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)


def test_a_rendezvous_that_times_out_is_a_recoverable_system_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PET_NNODES", "2")  # a second node that never comes
    config = elastic("fork", nnodes=2, rdzv_configs={"timeout": 2, "join_timeout": 2})
    with pytest.raises(TaskError) as failed:
        config.run_function(torch_examples.allreduce_sum, {"x": 1.0})
    assert failed.value.summary.startswith("torch elastic rendezvous at localhost:0 failed: RendezvousTimeoutError")
    assert (failed.value.origin, failed.value.recoverable) == ("SYSTEM", True)


def test_rank_0_exiting_without_a_return_value_is_an_error() -> None:
    with pytest.raises(TaskError, match="rank 0 exited without returning a value"):
        elastic("spawn").run_function(torch_examples.exit_quietly, {})
