"""Memory a large string input costs `flytelite execute`, as a multiple of the string's size.

Runs the attempt on a task ``length(s: str) -> int`` with a string of ``--mib`` MiB and with a
one-character string, several times each, and reports the medians of the difference over the string's
size: of the peak RSS of the whole process, and of the RSS while the task runs (what stays held
beside the task's own copy of the string).

    python benchmarks/string_input_memory.py [--mib 256] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

BIN = os.path.dirname(sys.executable)
MIB = 1 << 20
TASK = '''
from flytelite import task


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@task
def length(s: str) -> int:
    with open("rss_at_task", "w") as out:
        out.write(str(_rss_kib()))
    return len(s)
'''


def run_once(folder: str, size: int) -> tuple[float, float]:
    """(peak RSS, RSS while the task runs) in MiB of one attempt on a string of ``size`` bytes."""
    from flytelite.types import encode_map

    inputs = os.path.join(folder, "inputs.pb")
    with open(inputs, "wb") as out:
        out.write(encode_map({"s": "x" * size}, {"s": str}, what="input").SerializeToString())
    command = [
        f"{BIN}/flytelite", "execute", "--inputs", inputs, "--output-prefix", os.path.join(folder, "out"),
        "--raw-output-data-prefix", os.path.join(folder, "raw"), "--", "task-module", "strtask", "task-name", "length",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([folder, os.environ.get("PYTHONPATH", "")])}
    # Started from a small probe: a child forked from this process would count its memory as its own peak.
    probe = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    out = subprocess.run([sys.executable, "-c", probe, *command], cwd=folder, env=env, capture_output=True, text=True, check=True)
    with open(os.path.join(folder, "rss_at_task")) as rss:
        return int(out.stdout.split()[-1]) / 1024, int(rss.read()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "strtask.py"), "w") as out:
            out.write(TASK)
        peaks, held = [], []
        for _ in range(args.runs):  # interleaved, so both sizes see the same machine
            small_peak, small_task = run_once(folder, 1)
            large_peak, large_task = run_once(folder, args.mib * MIB)
            peaks.append((large_peak - small_peak) / args.mib)
            held.append((large_task - small_task) / args.mib)
    print(f"string of {args.mib} MiB, {args.runs} runs (medians, in multiples of the string's size):")
    print(f"  peak RSS of the attempt:        {statistics.median(peaks):.2f}x")
    print(f"  RSS while the task runs:        {statistics.median(held):.2f}x")


if __name__ == "__main__":
    main()
