"""A dynamic task fanning out to 10,000 calls of one task plus a reducer: process start to futures.pb written.

Runs `flytelite execute` on the serialized dynamic task (as a backend would) several times and reports
the median wall time, peak RSS and the spec's size; then flytekit's `pyflyte-execute` on the same program
(imported from flytekit), with the serialization settings its dynamic needs, in the same run. flytekit's
side needs a flytekit venv (`--flytekit-venv /path/to/venv`); without one only ours is measured, and the
script says so.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROGRAM = '''
from flytelite import dynamic, task

@task
def square(x: int) -> int:
    return x * x

@task
def total(values: list[int]) -> int:
    return sum(values)

@dynamic
def fan_out(n: int) -> int:
    return total(values=[square(x=i) for i in range(n)])
'''


def run_once(workdir: Path, env: dict[str, str], args: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=workdir, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    assert status == 0, status
    return elapsed, usage.ru_maxrss / 1024


def flytekit_side(venv: Path, workdir: Path, calls: int, runs: int) -> tuple[list[float], list[float], int]:
    """pyflyte-execute on the same program, as the backend would start it: times, peak RSS, spec size."""
    folder = workdir / "flytekit"
    folder.mkdir()
    (folder / "bench_dynamic.py").write_text(PROGRAM.replace("from flytelite import", "from flytekit import"))
    python, bin_dir = str(venv / "bin" / "python"), venv / "bin"
    settings = subprocess.run(
        [python, "-c", "from flytekit.configuration import ImageConfig, SerializationSettings as S;"
         "print(S(image_config=ImageConfig.auto(img_name='img:1'), project='p', domain='d', version='v1').serialized_context)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(_F_SS_C=settings, FLYTE_INTERNAL_TASK_VERSION="v1", FLYTE_INTERNAL_TASK_PROJECT="p", FLYTE_INTERNAL_TASK_DOMAIN="d")
    times, rss = [], []
    for run in range(runs):
        out = folder / f"out{run}"
        args = [str(bin_dir / "pyflyte-execute"), "--inputs", str(workdir / "inputs.pb"), "--output-prefix", str(out),
                "--raw-output-data-prefix", str(folder / "raw"), "--resolver", "flytekit.core.python_auto_container.default_task_resolver",
                "--", "task-module", "bench_dynamic", "task-name", "fan_out"]
        elapsed, peak = run_once(folder, env, args)
        assert (out / "futures.pb").exists(), f"flytekit wrote no futures.pb: {os.listdir(out)}"
        times.append(elapsed)
        rss.append(peak)
    return times, rss, (folder / "out0" / "futures.pb").stat().st_size


def report(who: str, calls: int, times: list[float], rss: list[float], size: int) -> None:
    print(f"{who}: {calls} calls + reducer -> futures.pb: median {statistics.median(times) * 1000:.0f} ms "
          f"(runs {', '.join(f'{t * 1000:.0f}' for t in times)}), peak RSS {statistics.median(rss):.1f} MiB, spec {size / 1e6:.2f} MB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--flytekit-venv", default=None, help="a virtual environment with flytekit installed")
    parser.add_argument("--flytekit-runs", type=int, default=3)
    options = parser.parse_args()
    src = Path(__file__).resolve().parent.parent / "src"
    sys.path.insert(0, str(src))
    from flyteidl.core import literals_pb2

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "bench_dynamic.py").write_text(PROGRAM)
        sys.path.insert(0, str(workdir))
        import bench_dynamic

        from flytelite.model.template import SerializationSettings, to_task_template

        template = to_task_template(bench_dynamic.fan_out, SerializationSettings({"default": "img:1"}, version="v1"))
        inputs = literals_pb2.LiteralMap()
        inputs.literals["n"].scalar.primitive.integer = options.calls
        (workdir / "inputs.pb").write_bytes(inputs.SerializeToString())
        # the identity a backend gives the attempt, as on flytekit's side
        identity = {"FLYTE_INTERNAL_TASK_VERSION": "v1", "FLYTE_INTERNAL_TASK_PROJECT": "p", "FLYTE_INTERNAL_TASK_DOMAIN": "d"}
        env = dict(os.environ, PYTHONPATH=str(src), **identity, **{e.key: e.value for e in template.container.env})
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True)
        times, rss = [], []
        for run in range(options.runs):
            out = workdir / f"out{run}"
            args = [sys.executable, "-m", "flytelite", "execute", "--inputs", str(workdir / "inputs.pb"), "--output-prefix", str(out),
                    "--raw-output-data-prefix", str(workdir / "raw"), "--resolver", "flytelite.resolvers.module.default_task_resolver",
                    "--", "task-module", "bench_dynamic", "task-name", "fan_out"]
            elapsed, peak = run_once(workdir, env, args)
            assert (out / "futures.pb").exists(), "no futures.pb written"
            times.append(elapsed)
            rss.append(peak)
        size = (workdir / "out0" / "futures.pb").stat().st_size
        report("flytelite", options.calls, times, rss, size)
        if options.flytekit_venv is None:
            print("flytekit: not measured (no --flytekit-venv given)")
            return
        fk_times, fk_rss, fk_size = flytekit_side(Path(options.flytekit_venv).resolve(), workdir, options.calls, options.flytekit_runs)
        report("flytekit", options.calls, fk_times, fk_rss, fk_size)
        print(f"speed-up: {statistics.median(fk_times) / statistics.median(times):.1f}x, "
              f"memory: {statistics.median(fk_rss) / statistics.median(rss):.1f}x less")


if __name__ == "__main__":
    main()
