"""Two-process gloo all-reduce: flytelite's torch launcher vs ``torchrun --nproc_per_node=2``.

    .venv/bin/python benchmarks/torch_allreduce.py [--runs 7]

Each variant is a whole process from start to exit, run ``--runs`` times interleaved; the table
shows medians. The launcher variants use ``monitor_interval=0.1``, torchrun's default (``Elastic``'s
default of 5 s would put up to 5 s of polling into every run). Variants:

* ``torchrun``: ``torchrun --nproc_per_node=2 --master_port=<free>`` running ``allreduce_sum`` (from tests/torch_launcher/torch_examples.py);
* ``launcher spawn`` / ``launcher fork``: ``Elastic(...).run_function(allreduce_sum, ...)``;
* ``execute spawn`` / ``execute fork``: ``python -m flytelite execute`` on the tasks below.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from flytelite import task
from flytelite.torch_launcher.config import Elastic

HERE = os.path.dirname(os.path.abspath(__file__))
MONITOR_INTERVAL = 0.1

# The same all-reduce the launcher tests run (every rank contributes x + rank).
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "torch_launcher"))
from torch_examples import allreduce_sum  # noqa: E402


@task(task_config=Elastic(nproc_per_node=2, monitor_interval=MONITOR_INTERVAL))
def allreduce_spawn(x: float) -> float:
    return allreduce_sum(x)


@task(task_config=Elastic(nproc_per_node=2, monitor_interval=MONITOR_INTERVAL, start_method="fork"))
def allreduce_fork(x: float) -> float:
    return allreduce_sum(x)


def _launch(start_method: str) -> None:
    config = Elastic(nproc_per_node=2, monitor_interval=MONITOR_INTERVAL, start_method=start_method)
    assert config.run_function(allreduce_sum, {"x": 1.0}) == 3.0


def _inputs_file(folder: str) -> str:
    from flyteidl.core import literals_pb2

    literal_map = literals_pb2.LiteralMap()
    literal_map.literals["x"].scalar.primitive.float_value = 1.0
    path = os.path.join(folder, "inputs.pb")
    with open(path, "wb") as f:
        f.write(literal_map.SerializeToString())
    return path


def _commands(folder: str) -> dict[str, list[str]]:
    py, me = sys.executable, os.path.abspath(__file__)
    torchrun = os.path.join(os.path.dirname(py), "torchrun")

    def execute(task_name: str) -> list[str]:
        out = os.path.join(folder, task_name)
        return [py, "-m", "flytelite", "execute", "--inputs", _inputs_file(folder), "--output-prefix", out,
                "--raw-output-data-prefix", os.path.join(folder, "raw"), "--",
                "task-module", "torch_allreduce", "task-name", task_name]  # fmt: skip

    return {
        # A free port rather than torchrun's fixed 29500, which other jobs on the machine may hold.
        "torchrun": [torchrun, "--nproc_per_node=2", f"--master_port={_free_port()}", me, "--worker"],
        "launcher spawn": [py, me, "--launch", "spawn"],
        "launcher fork": [py, me, "--launch", "fork"],
        "execute spawn": execute("allreduce_spawn"),
        "execute fork": execute("allreduce_fork"),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _time_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds, and CPU seconds of the whole process tree (less noisy on a shared machine)."""
    cpu_before, started = _children_cpu(), time.perf_counter()
    subprocess.run(command, cwd=HERE, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for descendants, workers included
    return usage.ru_utime + usage.ru_stime


def benchmark(runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        commands = _commands(folder)
        timings: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                timings[name].append(_time_once(command))
    baseline_wall, baseline_cpu = (statistics.median(column) for column in zip(*timings["torchrun"]))
    print(f"{'variant':<16} {'wall median s':>14} {'wall min s':>11} {'vs torchrun':>12} {'cpu median s':>13} {'vs torchrun':>12}   ({runs} runs)")
    for name, values in timings.items():
        walls, cpus = zip(*values)
        wall, cpu = statistics.median(walls), statistics.median(cpus)
        print(f"{name:<16} {wall:>14.3f} {min(walls):>11.3f} {wall / baseline_wall:>11.2f}x {cpu:>13.3f} {cpu / baseline_cpu:>11.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--launch", choices=["spawn", "fork"], help="(internal) one launcher run")
    parser.add_argument("--worker", action="store_true", help="(internal) one torchrun worker")
    args = parser.parse_args()
    if args.worker:
        allreduce_sum(1.0)
    elif args.launch:
        _launch(args.launch)
    else:
        benchmark(args.runs)


if __name__ == "__main__":
    main()
