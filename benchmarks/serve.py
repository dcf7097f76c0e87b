"""``flytelite serve`` against cold ``flytelite execute``, on the same trivial task, in one run.

  sequential  1,000 tasks one after another through flyteidl's agent stubs (CreateTask, then GetTask
              until done), as a backend would; p50 and p99 per task
  concurrent  the same task from several client processes at once: tasks per second
  cold        ``python -m flytelite execute`` of the same task, one process per attempt (median)
  memory      the idle daemon: RSS and PSS of the server, the fork server and the workers
  paths       create to "the backend knows the outputs", through the backend-faithful client
              (tests/entrypoint/serve/backend.py): the asynchronous path (CreateTask, a GetTask at
              once as the backend's cache does on create, then one every resync interval) against the
              synchronous one (ExecuteTaskSync, a task type ListAgents marks is_sync)
  --soak      20,000 attempts from 4 client processes, 2 workers: every one must succeed; RSS of
              the daemon and its workers after warm-up and at the end

Targets (issue 15): p50 <= 5 ms, >= 300 tasks/s with 2 workers, >= 15x faster per task than a cold
execute. Outputs live on local storage; source files are byte-compiled first, as in an image.

    python benchmarks/serve.py [--tasks 1000] [--workers 2] [--clients 4] [--cold-runs 20] [--resync 5]
    python benchmarks/serve.py --soak [--soak-attempts 20000]
"""

from __future__ import annotations

import argparse
import compileall
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "entrypoint" / "serve"))

from agent_client import TASK_DIR, AgentClient, Daemon, create_request, int_inputs  # noqa: E402
from backend import Balancer, TaskRun, agent_registry  # noqa: E402


def run_tasks(port: int, work: str, first: int, count: int, poll: float) -> list[float]:
    """Per-task seconds of ``count`` sequential add tasks, each with its own output prefix."""
    client = AgentClient(port)
    seconds = []
    for index in range(first, first + count):
        request = client.create_request("add", f"{work}/t{index}", int_inputs(a=index, b=1))
        started = time.perf_counter()
        resource = client.wait(client.create(request), poll=poll)
        seconds.append(time.perf_counter() - started)
        if resource.phase != 3:  # SUCCEEDED
            raise RuntimeError(f"task {index} ended {resource.phase}: {resource.message}")
    client.close()
    return seconds


def _client_process(args: tuple[int, str, int, int, float]) -> list[float]:
    return run_tasks(*args)


def throughput(port: int, work: str, clients: int, tasks: int, poll: float, first: int = 100_000) -> float:
    """Tasks per second from ``clients`` processes, each task with its own output prefix (numbered from ``first``)."""
    per_client = tasks // clients
    jobs = [(port, work, first + n * per_client, per_client, poll) for n in range(clients)]
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        pool.map(_client_process, [(port, work, 0, 1, poll)] * clients)  # start-up and connection, untimed
        started = time.perf_counter()
        pool.map(_client_process, jobs)
        elapsed = time.perf_counter() - started
    return per_client * clients / elapsed


def cold_execute(work: str, env: dict[str, str], runs: int) -> float:
    inputs = Path(work) / "cold-inputs.pb"
    inputs.write_bytes(int_inputs(a=2, b=40).SerializeToString())
    command = [sys.executable, "-m", "flytelite", "execute", "--inputs", str(inputs), "--raw-output-data-prefix", f"{work}/cold-raw"]
    seconds = []
    for index in range(runs):
        argv = [*command, "--output-prefix", f"{work}/cold{index}", "--", "task-module", "serve_tasks", "task-name", "add"]
        started = time.perf_counter()
        subprocess.run(argv, cwd=TASK_DIR, env=env, check=True)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def process_tree(pid: int, depth: int = 0) -> list[tuple[int, int]]:
    """(pid, depth) of a process and all its descendants."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [(pid, depth), *(p for child in children for p in process_tree(int(child), depth + 1))]


def memory_kib(pid: int, depth: int) -> tuple[str, int, int]:
    """(what the process is, RSS, PSS) of one process of the daemon, sizes in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    command = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    role = "resource tracker" if "resource_tracker" in command else ("server", "fork server", "worker")[min(depth, 2)]
    return role, int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])


def create_to_known(port: int, work: str, name: str, runs: int, resync: float) -> tuple[float, int]:
    """Median seconds from the create to a terminal answer the backend has judged, and how many runs needed no resync."""
    balancer = Balancer([port])
    registry = agent_registry(balancer.channel())
    seconds, at_once = [], 0
    for index in range(runs):
        run = TaskRun(balancer, registry, create_request(name, f"{work}/{name}-{index}", int_inputs(a=index, b=1)))
        started = time.perf_counter()
        observed, rounds = run.step(), 0
        while observed is None:  # the cache syncs an item once when it is created, then every resync interval
            if rounds:
                time.sleep(resync)
            observed, rounds = run.step(), rounds + 1
        seconds.append(time.perf_counter() - started)
        at_once += rounds <= 1
        if observed.outcome != "SUCCEEDED":
            raise RuntimeError(f"{name} {index} ended {observed}")
    balancer.close()
    return statistics.median(seconds), at_once


def daemon_rss_kib(pid: int) -> int:
    return sum(memory_kib(p, depth)[1] for p, depth in process_tree(pid) if "resource_tracker" not in Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace"))


def soak(options: argparse.Namespace, env: dict[str, str]) -> None:
    """``--soak``: many attempts through one daemon; none lost, memory flat after warm-up."""
    with tempfile.TemporaryDirectory(prefix="flytelite-serve-soak-") as work, tempfile.TemporaryDirectory(dir=options.scratch) as scratch:
        env["TMPDIR"] = scratch
        daemon = Daemon(["--workers", str(options.workers), "--preload", "serve_tasks"], {**env, "FLYTELITE_LOG_LEVEL": "info"})
        try:
            warm = options.soak_attempts // 10
            throughput(daemon.port, work, options.clients, warm, options.poll)
            time.sleep(1)
            after_warm_up = daemon_rss_kib(daemon.process.pid)
            started = time.perf_counter()
            rate = throughput(daemon.port, work, options.clients, options.soak_attempts, options.poll, first=10_000_000)  # raises on any failure
            elapsed = time.perf_counter() - started
            time.sleep(1)
            at_end = daemon_rss_kib(daemon.process.pid)
        finally:
            daemon.stop()
    print(f"soak: {options.soak_attempts} attempts (+{warm} warm-up), {options.workers} workers, {options.clients} client processes: all succeeded, {elapsed:.0f} s, {rate:.0f} tasks/s")
    print(f"RSS of the daemon and its workers: {after_warm_up / 1024:.1f} MiB after warm-up, {at_end / 1024:.1f} MiB at the end: {(at_end - after_warm_up) / 1024:+.1f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--cold-runs", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.0002, help="seconds between GetTask calls")
    parser.add_argument("--scratch", default=None, help="where attempts make their scratch folders (TMPDIR; default: the system's)")
    parser.add_argument("--resync", type=float, default=5.0, help="the backend's resync interval, seconds (webApi.caching.resyncInterval, 5 at least)")
    parser.add_argument("--path-runs", type=int, default=5, help="create-to-known samples per path")
    parser.add_argument("--soak", action="store_true", help="run the soak instead (see above)")
    parser.add_argument("--soak-attempts", type=int, default=20_000)
    options = parser.parse_args()
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FLYTELITE_LOG_LEVEL": "warning"}
    if options.soak:
        soak(options, env)
        return
    with tempfile.TemporaryDirectory(prefix="flytelite-serve-bench-") as work, tempfile.TemporaryDirectory(dir=options.scratch) as scratch:
        env["TMPDIR"] = scratch  # each attempt's scratch folder, apart from the outputs, as in a pod
        daemon = Daemon(["--workers", str(options.workers), "--preload", "serve_tasks"], {**env, "FLYTELITE_LOG_LEVEL": "info"})
        try:
            time.sleep(1)
            tree = process_tree(daemon.process.pid)
            sizes = [memory_kib(pid, depth) for pid, depth in tree]
            run_tasks(daemon.port, work, 0, 50, options.poll)  # warm-up: connections, caches
            seconds = sorted(run_tasks(daemon.port, work, 1000, options.tasks, options.poll))
            rate = throughput(daemon.port, work, options.clients, options.tasks, options.poll)
            async_known, async_at_once = create_to_known(daemon.port, work, "add", options.path_runs, options.resync)
            sync_known, _ = create_to_known(daemon.port, work, "add_sync", options.path_runs * 20, options.resync)
        finally:
            daemon.stop()
        cold = cold_execute(work, env, options.cold_runs)
    p50, p99 = seconds[len(seconds) // 2], seconds[int(len(seconds) * 0.99) - 1]
    print(f"sequential, {options.tasks} tasks, {options.workers} workers: p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms, mean {statistics.mean(seconds) * 1e3:.2f} ms")
    print(f"concurrent, {options.clients} client processes: {rate:.0f} tasks/s")
    print(f"cold flytelite execute (median of {options.cold_runs}): {cold * 1e3:.1f} ms = {cold / p50:.1f}x the daemon's p50")
    print(
        f"create to outputs known by the backend, trivial task: asynchronous {async_known * 1e3:.1f} ms median of {options.path_runs}"
        f" ({async_at_once} known at the GetTask on create, the rest after a {options.resync:g} s resync);"
        f" synchronous {sync_known * 1e3:.2f} ms median of {options.path_runs * 20}"
    )
    rss, pss = sum(r for _, r, _ in sizes), sum(p for _, _, p in sizes)
    each = ", ".join(f"{role} {r / 1024:.1f}" for role, r, _ in sizes)
    print(f"idle daemon, {len(tree)} processes: RSS {rss / 1024:.1f} MiB summed, PSS {pss / 1024:.1f} MiB (shared pages counted once); RSS MiB: {each}")


if __name__ == "__main__":
    main()
