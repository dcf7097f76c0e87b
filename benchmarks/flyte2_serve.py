"""A Flyte 2 leaf task warm through ``flytelite serve`` against a cold ``a0``, side by side in one run.

  warm   a trivial task (``f2_tasks.add``, task type ``actor``) through the agent stubs, one attempt
         after another, each timed from CreateTask to "outputs known" as the backend sees it: GetTask
         polled until SUCCEEDED, then ``outputs.pb`` read from the output prefix (the connector plugin
         reads it when the response carries no outputs); p50 and p99
         (``--connector``: through Flyte 2's connector services instead, with the client written from
         the connector plugin's Go, flyteidl2's stubs; outputs.pb read by the plugin's rule)
  cold   the same attempt by flyte's ``a0`` entry in a fresh process, as in a pod (median)

Target (issue 23): warm >= 50x faster than a cold ``a0``. Outputs live on local storage; source files
are byte-compiled first, as in an image. Needs ``flytelite[serve,flyte2]``.

    python benchmarks/flyte2_serve.py [--tasks 300] [--cold-runs 10] [--poll 0.0002] [--connector]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flyteidl.core import literals_pb2  # noqa: E402

from tests.entrypoint.serve.agent_client import AgentClient, Daemon, int_inputs  # noqa: E402
from tests.entrypoint.serve.flyte2 import ACTOR_TASK_TYPE, FLYTE2_TASK_DIR, cold_a0, create_request  # noqa: E402

SUCCEEDED = 3


def warm_attempts(port: int, work: str, first: int, count: int, poll: float) -> list[float]:
    """Seconds from CreateTask to the outputs read back, per attempt, ``count`` attempts in sequence."""
    client = AgentClient(port)
    seconds = []
    for index in range(first, first + count):
        prefix = f"{work}/t{index}"
        os.makedirs(prefix)  # a0 writes into an existing folder on local storage
        request = create_request("add", prefix, int_inputs(a=index, b=1), f"{work}/run")
        started = time.perf_counter()
        resource = client.wait(client.create(request), poll=poll)
        outputs = literals_pb2.LiteralMap.FromString(Path(prefix, "outputs.pb").read_bytes())
        seconds.append(time.perf_counter() - started)
        if resource.phase != SUCCEEDED or outputs.literals["o0"].scalar.primitive.integer != index + 1:
            raise RuntimeError(f"attempt {index} ended {resource.phase}: {resource.message}")
    client.close()
    return seconds


def warm_connector_attempts(port: int, work: str, first: int, count: int, poll: float) -> list[float]:
    """As :func:`warm_attempts`, through the connector services as Flyte 2's backend calls them."""
    from flyteidl2.core import literals_pb2 as literals2, tasks_pb2

    from tests.entrypoint.serve.connector_client import ConnectorBackend, executor_environment, substitute_run_start_time, task_execution_id
    from tests.entrypoint.serve.flyte2 import flyte2_template

    backend = ConnectorBackend(port)
    template = substitute_run_start_time(tasks_pb2.TaskTemplate.FromString(flyte2_template("add").SerializeToString()), "2026-01-02T03:04:05Z")
    environment, identifier = executor_environment(f"{work}/run"), task_execution_id("f2_tasks.add")
    seconds = []
    for index in range(first, first + count):
        prefix = f"{work}/c{index}"
        os.makedirs(prefix)
        inputs = literals2.LiteralMap.FromString(int_inputs(a=index, b=1).SerializeToString())
        started = time.perf_counter()
        outcome = backend.wait(backend.create(template, inputs, prefix, environment, identifier), poll=poll)
        seconds.append(time.perf_counter() - started)
        if outcome.phase != SUCCEEDED or outcome.error is not None or outcome.outputs.literals["o0"].scalar.primitive.integer != index + 1:
            raise RuntimeError(f"attempt {index} ended {outcome}")
    backend.close()
    return seconds


def cold_attempts(work: str, env: dict[str, str], runs: int) -> list[float]:
    seconds = []
    for index in range(runs):
        started = time.perf_counter()
        finished = cold_a0("add", f"{work}/cold{index}", int_inputs(a=index, b=1), f"{work}/run", env)
        seconds.append(time.perf_counter() - started)
        if finished.returncode != 0 or not Path(work, f"cold{index}", "outputs.pb").exists():
            raise RuntimeError(f"cold a0 {index} failed ({finished.returncode}): {finished.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=300)
    parser.add_argument("--cold-runs", type=int, default=10)
    parser.add_argument("--poll", type=float, default=0.0002, help="seconds between GetTask calls")
    parser.add_argument("--connector", action="store_true", help="warm attempts through the connector services (flyteidl2)")
    options = parser.parse_args()
    compileall.compile_dir(str(ROOT / "src"), quiet=1)
    compileall.compile_dir(str(FLYTE2_TASK_DIR), quiet=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "FLYTELITE_LOG_LEVEL": "warning"}
    with tempfile.TemporaryDirectory(prefix="flytelite-flyte2-bench-") as work:
        env["TMPDIR"] = work
        daemon = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE], {**env, "FLYTELITE_LOG_LEVEL": "info"}, cwd=FLYTE2_TASK_DIR)
        try:
            run = warm_connector_attempts if options.connector else warm_attempts
            run(daemon.port, work, 0, 20, options.poll)  # warm-up: the worker's first attempt, connections
            warm = sorted(run(daemon.port, work, 1000, options.tasks, options.poll))
        finally:
            daemon.stop()
        cold = cold_attempts(work, env, options.cold_runs)
    p50, p99 = warm[len(warm) // 2], warm[int(len(warm) * 0.99) - 1]
    cold_median = statistics.median(cold)
    print(f"warm ({'connector' if options.connector else 'agent'} services), {options.tasks} sequential attempts, 1 worker: p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms (create to outputs.pb read)")
    print(f"cold a0 (median of {options.cold_runs}): {cold_median * 1e3:.1f} ms = {cold_median / p50:.1f}x the warm p50")


if __name__ == "__main__":
    main()
