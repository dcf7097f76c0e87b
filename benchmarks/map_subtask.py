"""Start-up of one map subtask whose mapped input has 100,000 elements, against a trivial execute.

    python benchmarks/map_subtask.py [--runs 30] [--elements 100000]

Both commands run through hyperfine in one session (see cold_start.py for how); the subtask picks
element 99,999 of the list, so the whole list is read but only that element is converted.
Target (issue 6): within 1.3x of the trivial execute.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cold_start import BIN, ROOT, ensure_hyperfine, measure, print_table, write_inputs  # noqa: E402

MAPPED_TASK = '''
from flytelite import task


@task
def scaled(x: int, scale: int) -> int:
    return x * scale
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--elements", type=int, default=100_000)
    options = parser.parse_args()
    hyperfine = ensure_hyperfine()
    work = tempfile.mkdtemp(prefix="flytelite-map-bench-")
    try:
        run(hyperfine, work, options.runs, options.elements)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(hyperfine: str, work: str, runs: int, elements: int) -> None:
    from flytelite.types import encode_map

    with open(os.path.join(work, "mapped_bench.py"), "w") as f:
        f.write(MAPPED_TASK)
    subprocess.run([sys.executable, "-m", "compileall", "-q", work, os.path.join(ROOT, "src"), os.path.join(ROOT, "examples")], check=True, stdout=subprocess.DEVNULL)
    write_inputs(os.path.join(work, "add.pb"))
    with open(os.path.join(work, "map.pb"), "wb") as f:
        f.write(encode_map({"x": list(range(elements)), "scale": 3}, {"x": list[int], "scale": int}).SerializeToString())
    env = dict(os.environ, BATCH_JOB_ARRAY_INDEX_OFFSET=str(elements - 1), PYTHONPATH=work)
    prefix = f"--output-prefix {work}/out --raw-output-data-prefix {work}/raw"
    inner = "resolver flytelite.resolvers.module.default_task_resolver task-module mapped_bench task-name scaled"
    commands = {
        "execute": (f"{BIN}/flytelite execute --inputs {work}/add.pb {prefix} -- task-module arithmetic task-name add", os.path.join(ROOT, "examples")),
        "map-execute": (f"{BIN}/flytelite map-execute --inputs {work}/map.pb {prefix} -- vars scale {inner}", work),
    }
    results = measure(hyperfine, commands, env, runs, work)
    print(f"map input: {elements} elements, {os.path.getsize(os.path.join(work, 'map.pb')) / 2**20:.1f} MiB of inputs.pb")
    print_table(results, "execute")
    ratio = results["map-execute"][0] / results["execute"][0]
    print(f"target map subtask <= 1.3x trivial execute: {'met' if ratio <= 1.3 else 'MISSED'} ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
