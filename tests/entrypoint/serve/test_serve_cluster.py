"""The daemon in a cluster, as Flyte 1.16.8's backend sees it (``backend.py``): failure kinds, restarts,
replicas, duplicate creates, bursts, drain. Every scenario starts its own daemons."""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import threading
import time
from pathlib import Path

import pytest
from flyteidl.core import errors_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .agent_client import Daemon, create_request, int_inputs
from .backend import Balancer, Observed, TaskRun, agent_registry, outputs, run_all

pytestmark = pytest.mark.slow
SYS_TGKILL = {"x86_64": 234, "aarch64": 131}[platform.machine()]  # asm/unistd.h
SERVE = ["--preload", "serve_tasks", "--cancel-grace", "3"]


def start_runs(balancer: Balancer, specs: list[tuple[str, Path, dict]], registry: dict[str, bool] | None = None) -> list[TaskRun]:
    registry = agent_registry(balancer.channel()) if registry is None else registry
    return [TaskRun(balancer, registry, create_request(name, prefix, int_inputs(**inputs))) for name, prefix, inputs in specs]


def value(prefix: Path) -> int:
    return outputs(str(prefix)).literals["o0"].scalar.primitive.integer


def error_document(prefix: Path) -> errors_pb2.ContainerError:
    return errors_pb2.ErrorDocument.FromString((prefix / "error.pb").read_bytes()).error


@pytest.fixture
def daemons(module_env, tmp_path):
    """Start daemons sharing one state folder, as replicas of one deployment; all stopped after the test."""
    started: list[Daemon] = []

    def start(*args: str) -> Daemon:
        started.append(Daemon([*SERVE, *args], module_env, state_dir=tmp_path / "state"))
        return started[-1]

    yield start
    for daemon in started:
        if daemon.process.poll() is None:
            daemon.kill()


def test_failure_kinds_reach_the_backend_on_both_paths(daemons, tmp_path):
    daemon = daemons("--workers", "2")
    balancer = Balancer([daemon.port])
    registry = agent_registry(balancer.channel())
    assert registry == {"flytelite-reusable": False, "flytelite-reusable-sync": True}
    cases = {
        "add": ({"a": 1, "b": 2}, Observed("SUCCEEDED")),
        "boom": ({"a": 3}, Observed("PERMANENT_FAILURE", "USER", "USER:RuntimeError")),
        "crash": ({"code": 3}, Observed("RETRYABLE_FAILURE", "SYSTEM", "SYSTEM")),  # a worker that died
        # No outputs declared: the backend never reads the prefix (agent/plugin.go:417), so the kind is USER.
        "fail_without_outputs": ({"a": 4}, Observed("PERMANENT_FAILURE", "USER", "TaskFailedWithError")),
        "add_sync": ({"a": 1, "b": 2}, Observed("SUCCEEDED")),
        "boom_sync": ({"a": 3}, Observed("PERMANENT_FAILURE", "USER", "USER:RuntimeError")),
        "crash_sync": ({"code": 3}, Observed("RETRYABLE_FAILURE", "SYSTEM", "SYSTEM")),
        # The sync path keeps agent_error's code (agent/plugin.go:245, 310-313), not its kind.
        "fail_without_outputs_sync": ({"a": 4}, Observed("PERMANENT_FAILURE", "USER", "USER:RuntimeError")),
    }
    runs = start_runs(balancer, [(name, tmp_path / name, inputs) for name, (inputs, _) in cases.items()], registry)
    seen = run_all(runs, timeout=60)
    for (name, (_, expected)), observed, run in zip(cases.items(), seen, runs):
        assert (observed.outcome, observed.kind, observed.code) == (expected.outcome, expected.kind, expected.code), (name, observed)
        assert run.creates == 1 and run.sync_failure_count == 0
    assert value(tmp_path / "add") == 3 and value(tmp_path / "add_sync") == 3
    sync_run = runs[list(cases).index("add_sync")]
    assert sync_run.resource_meta is None  # answered within the call: no GetTask at all
    # The abort of an attempt that ended, or one this daemon never saw, succeeds (webapi/core.go:109-113).
    assert [run.abort() for run in runs[:2]] == [None, None]
    ghost = TaskRun(balancer, registry, create_request("add", tmp_path / "ghost"))
    ghost.resource_meta = b'{"v":1,"attempt":"0","prefix":"/nowhere","owner":"gone","outputs":true}'
    assert ghost.abort() is None
    balancer.close()


def test_a_duplicate_create_runs_the_body_once_on_any_replica(daemons, tmp_path):
    first, second = daemons("--workers", "2"), daemons("--workers", "2")
    runs_file = tmp_path / "runs.txt"
    request = create_request("count_runs", tmp_path / "once", int_inputs(path=str(runs_file), seconds=1.0))
    balancer = Balancer([first.port, second.port])
    run = TaskRun(balancer, agent_registry(balancer.channel()), request)
    run.launch()
    meta = run.resource_meta
    for _ in range(3):  # webapi/core.go:94-96: the backend's write after a create failed; it creates again
        run.launch()
        assert run.resource_meta == meta
    [observed] = run_all([run], timeout=30)
    assert observed.outcome == "SUCCEEDED" and runs_file.read_text().count("\n") == 1
    run.launch()  # after the end too: the same attempt, not a second run
    assert run.resource_meta == meta and runs_file.read_text().count("\n") == 1
    balancer.close()


def test_a_daemon_killed_mid_run_and_restarted_leaves_no_task_hanging(daemons, tmp_path):
    daemon = daemons("--workers", "2", "--lost-after", "3")
    balancer = Balancer([daemon.port])
    registry = agent_registry(balancer.channel())
    finished = start_runs(balancer, [("add", tmp_path / f"done{i}", {"a": i, "b": 1}) for i in range(4)], registry)
    assert all(o.outcome == "SUCCEEDED" for o in run_all(finished, timeout=30))
    running = start_runs(balancer, [("sleepy", tmp_path / f"running{i}", {"seconds": 60.0}) for i in range(2)], registry)
    queued = start_runs(balancer, [("sleepy", tmp_path / f"queued{i}", {"seconds": 60.0}) for i in range(3)], registry)
    for run in running + queued:
        run.launch()
    time.sleep(1.0)  # the first two run, the others wait for a worker
    daemon.kill()
    # The pod restarts within the backend's resync interval (>= 5 s): its polls meet the new daemon.
    balancer.ports = [daemons("--workers", "2", "--lost-after", "3").port]
    started = time.monotonic()
    seen = run_all(finished + running + queued, timeout=60, interval=0.2)
    assert time.monotonic() - started < 60
    assert [o.outcome for o in seen[:4]] == ["SUCCEEDED"] * 4
    for observed in seen[4:]:  # killed ones: recoverable SYSTEM, retried from the system budget
        assert (observed.outcome, observed.kind) == ("RETRYABLE_FAILURE", "SYSTEM"), observed
    assert all("Terminated" in error_document(tmp_path / f"running{i}").message for i in range(2))
    assert all("attempt lost" in error_document(tmp_path / f"queued{i}").message for i in range(3))
    assert max(run.sync_failure_count for run in finished + running + queued) == 0
    balancer.close()


def test_two_replicas_behind_round_robin_calls_give_one_verdict_per_prefix(daemons, tmp_path):
    balancer = Balancer([daemons("--workers", "2").port, daemons("--workers", "2").port])
    specs = [("add", tmp_path / f"t{i}", {"a": i, "b": i}) for i in range(60)]
    specs += [("count_runs", tmp_path / f"c{i}", {"path": str(tmp_path / f"c{i}.runs"), "seconds": 0.2}) for i in range(6)]
    runs = start_runs(balancer, specs)
    seen = run_all(runs, timeout=60, interval=0.05)
    assert [o.outcome for o in seen] == ["SUCCEEDED"] * len(specs)
    assert [value(tmp_path / f"t{i}") for i in range(60)] == [2 * i for i in range(60)]
    assert all((tmp_path / f"c{i}.runs").read_text().count("\n") == 1 for i in range(6))
    assert not list(tmp_path.glob("*/error.pb"))
    assert max(run.sync_failure_count for run in runs) == 0
    balancer.close()


def test_a_burst_of_1000_creates_with_2_workers_all_succeed(daemons, tmp_path):
    balancer = Balancer([daemons("--workers", "2").port])
    runs = start_runs(balancer, [("add", tmp_path / f"b{i}", {"a": i, "b": 1}) for i in range(1000)])
    for run in runs:  # every create first, as a burst of nodes starting does
        run.launch()
    waiting = [run for run in runs if run.resource_meta is not None]
    assert len(waiting) == 1000
    seen = run_all(runs, timeout=180, interval=0.2)
    assert [o.outcome for o in seen] == ["SUCCEEDED"] * 1000
    assert value(tmp_path / "b999") == 1000
    balancer.close()


def test_sigterm_drains_and_a_replica_answers_afterwards(daemons, tmp_path):
    first = daemons("--workers", "2", "--drain-grace", "2")
    other = daemons("--workers", "2")
    balancer = Balancer([first.port])
    registry = agent_registry(balancer.channel())
    short = start_runs(balancer, [("sleepy", tmp_path / f"short{i}", {"seconds": 0.5}) for i in range(2)], registry)
    long = start_runs(balancer, [("sleepy", tmp_path / "long", {"seconds": 60.0})], registry)
    for run in short + long:
        run.launch()
    first.process.send_signal(signal.SIGTERM)
    health = health_pb2_grpc.HealthStub(balancer.channel())
    deadline = time.monotonic() + 30  # a bound on a stalled machine, not a timing check
    while health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status != health_pb2.HealthCheckResponse.NOT_SERVING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    late = start_runs(balancer, [("add", tmp_path / "late", {"a": 1, "b": 1})], registry)
    late[0].launch()  # accepted while draining: a refusal would fail the task as USER
    assert late[0].observed is None and late[0].resource_meta is not None
    seen = run_all(short + late, timeout=30, interval=0.1)
    assert [o.outcome for o in seen] == ["SUCCEEDED"] * 3
    assert first.process.wait(30) == 0
    # The long one was stopped at the grace deadline with execute's SIGTERM document.
    error = error_document(tmp_path / "long")
    assert "Terminated" in error.message and error.kind == errors_pb2.ContainerError.RECOVERABLE
    balancer.ports = [other.port]  # the pod is gone: the Service sends the backend's calls to the replica
    [observed] = run_all(long, timeout=30, interval=0.1)
    assert (observed.outcome, observed.kind) == ("RETRYABLE_FAILURE", "SYSTEM")
    balancer.close()


def test_a_sigterm_the_kernel_hands_to_another_thread_still_drains(daemons):
    # kill(2) may deliver a process's signal to any thread that does not block it; CPython runs the
    # handler only in the main thread, once it wakes. tgkill(2) picks the thread, as the kernel may.
    daemon = daemons("--workers", "1")
    other_threads = [int(tid) for tid in os.listdir(f"/proc/{daemon.process.pid}/task") if int(tid) != daemon.process.pid]
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.syscall(SYS_TGKILL, daemon.process.pid, other_threads[0], signal.SIGTERM) == 0, ctypes.get_errno()
    assert daemon.process.wait(30) == 0
    assert [e["event"] for e in daemon.logs()][-2:] == ["draining: stopping the attempts left", "stopped"]


def test_a_rolling_restart_of_two_replicas_under_load_fails_no_task(daemons, tmp_path):
    replicas = [daemons("--workers", "2", "--drain-grace", "10"), daemons("--workers", "2", "--drain-grace", "10")]
    balancer = Balancer([replica.port for replica in replicas])
    registry = agent_registry(balancer.channel())
    runs: list[TaskRun] = []
    stop = threading.Event()

    def load() -> None:
        index = 0
        while not stop.is_set():
            run = TaskRun(balancer, registry, create_request("sleepy", tmp_path / f"l{index}", int_inputs(seconds=0.2)))
            runs.append(run)
            run.step()
            index += 1
            time.sleep(0.02)

    loader = threading.Thread(target=load)
    loader.start()
    try:
        for position in range(2):
            time.sleep(1.0)
            old = replicas[position]
            # Kubernetes takes the terminating pod out of the endpoints, then sends SIGTERM; the new pod joins.
            balancer.ports = [port for port in balancer.ports if port != old.port]
            old.process.send_signal(signal.SIGTERM)
            replicas[position] = daemons("--workers", "2", "--drain-grace", "10")
            balancer.ports = [*balancer.ports, replicas[position].port]
            assert old.process.wait(30) == 0
        time.sleep(1.0)
    finally:
        stop.set()
        loader.join()
    seen = run_all(list(runs), timeout=60, interval=0.1)
    assert len(runs) > 50
    assert [o.outcome for o in seen] == ["SUCCEEDED"] * len(runs), [o for o in seen if o.outcome != "SUCCEEDED"][:3]
    balancer.close()


def test_an_ended_attempt_forgotten_by_its_daemon_is_answered_from_its_output_prefix(daemons, tmp_path):
    daemon = daemons("--workers", "1", "--keep-finished", "0", "--lost-after", "0.6")
    balancer = Balancer([daemon.port])
    registry = agent_registry(balancer.channel())
    runs = start_runs(balancer, [("add", tmp_path / "ok", {"a": 1, "b": 1}), ("boom", tmp_path / "bad", {"a": 2})], registry)
    for run in runs:
        run.launch()
    time.sleep(3)  # ended, then dropped from memory at a liveness beat
    assert not [e for e in daemon.logs() if e.get("event") == "attempt lost"]
    seen = run_all(runs, timeout=10)
    assert [(o.outcome, o.kind) for o in seen] == [("SUCCEEDED", ""), ("PERMANENT_FAILURE", "USER")]
    assert not [e for e in daemon.logs() if e.get("event") == "attempt lost"]
    balancer.close()
