"""The image's weight and a task's cold start inside it, beside an image with flytekit on the same base.

    python benchmarks/image.py [--runs 20] [--cache .image] [--flytekit-venv DIR]

Builds (buildah, as ``make image-test`` does, on its locally made Debian base) this tree's image and
``benchmarks/flytekit.Dockerfile`` (``pip install flytekit==1.16.31``), then reports:
  - sizes: the whole image and the layer on top of the shared base (uncompressed, from the image store);
  - cold start of the two-integer task (``examples/arithmetic.py add``; flytekit's twin for
    ``pyflyte-execute``), local storage, as uid 1000, side by side in one hyperfine session:
    inside each image by ``chroot`` into its mounted root file system (no container runtime in the
    timing), and outside, with this tree's venv (and flytekit's with ``--flytekit-venv``). One
    ``buildah run`` of the same command shows what a container start adds (fewer runs).
Targets (issue 19): flytelite's layer <= 1/5 of flytekit's; start-up in the image <= 1.2x outside.
Needs root, buildah and podman (for the image sizes), hyperfine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from cold_start import FLYTEKIT_TASK, ensure_hyperfine, measure, write_inputs  # noqa: E402

from tests.image.containers import BASE_IMAGE, IMAGE, Container, build, buildah, ensure_base, image_exists  # noqa: E402

FLYTEKIT_IMAGE = "localhost/flytekit-bench"
BENCH_DIR = "/home/flyte/bench"
CLEAN_ENV = "HOME=/home/flyte PATH=/usr/local/bin:/usr/bin:/bin PYTHONUNBUFFERED=1"
FLYTELITE_ARGS = "--resolver flytelite.resolvers.module.default_task_resolver -- task-module arithmetic task-name add"
FLYTEKIT_ARGS = "--resolver flytekit.core.python_auto_container.default_task_resolver -- task-module fk_add task-name add"


def image_size(cache: Path, image: str) -> int:
    """Uncompressed bytes of all the image's layers."""
    command = ["podman", "--root", str(cache / "storage"), "--runroot", str(cache / "run"), "--storage-driver", "vfs",
               "image", "inspect", "--format", "{{.Size}}", image]  # fmt: skip
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def stage_task(folder: Path, flytekit: bool, owner: int | None = None) -> None:
    """The task module and its inputs in ``folder`` (owned by uid ``owner`` when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    if flytekit:
        (folder / "fk_add.py").write_text(FLYTEKIT_TASK)
    else:
        shutil.copy(ROOT / "examples" / "arithmetic.py", folder / "arithmetic.py")
    write_inputs(str(folder / "inputs.pb"))
    if owner is not None:
        for path in [folder, *folder.iterdir()]:
            os.chown(path, owner, owner)


def execute_line(bin_dir: str, folder: str, flytekit: bool) -> str:
    io_args = f"--inputs {folder}/inputs.pb --output-prefix {folder}/out --raw-output-data-prefix {folder}/raw"
    return f"{bin_dir}/{'pyflyte-execute' if flytekit else 'flytelite execute'} {io_args} {FLYTEKIT_ARGS if flytekit else FLYTELITE_ARGS}"


def inside(rootfs: Path, flytekit: bool) -> str:
    """The task's command run as uid 1000 in the image's root file system, with the image's environment."""
    stage_task(rootfs / BENCH_DIR.lstrip("/"), flytekit, owner=1000)
    hosts = rootfs / "etc" / "hosts"  # what a container runtime mounts there (flytekit resolves localhost)
    if "localhost" not in (hosts.read_text() if hosts.exists() else ""):  # the build leaves an empty one
        hosts.write_text("127.0.0.1 localhost\n")
    return f"chroot --userspec=1000:1000 {rootfs} /usr/bin/env -i -C {BENCH_DIR} {CLEAN_ENV} {execute_line('/usr/local/bin', BENCH_DIR, flytekit)}"


def outside(work: Path, venv_bin: str, flytekit: bool) -> str:
    folder = work / ("outside-flytekit" if flytekit else "outside-flytelite")
    stage_task(folder, flytekit)
    return f"/usr/bin/env -i -C {folder} HOME={work} PATH={venv_bin}:/usr/bin:/bin PYTHONUNBUFFERED=1 {execute_line(venv_bin, str(folder), flytekit)}"


def ensure_images(cache: Path, rebuild: bool) -> None:
    ensure_base(cache)
    if rebuild or not image_exists(cache, IMAGE):
        build(cache, IMAGE)
    if not image_exists(cache, FLYTEKIT_IMAGE):
        with tempfile.TemporaryDirectory() as empty:  # the peer's Dockerfile copies nothing
            build(cache, FLYTEKIT_IMAGE, context=Path(empty), dockerfile=ROOT / "benchmarks" / "flytekit.Dockerfile")


def report_sizes(cache: Path) -> tuple[int, int]:
    base, ours, theirs = (image_size(cache, image) for image in (BASE_IMAGE, IMAGE, FLYTEKIT_IMAGE))
    mb = 1e6
    print(f"base image {base / mb:.1f} MB")
    print(f"flytelite: image {ours / mb:.1f} MB, layer {(ours - base) / mb:.1f} MB")
    print(f"flytekit:  image {theirs / mb:.1f} MB, layer {(theirs - base) / mb:.1f} MB")
    ratio = (ours - base) / (theirs - base)
    print(f"flytelite layer / flytekit layer = {ratio:.3f}; target <= 0.2: {'met' if ratio <= 0.2 else 'MISSED'}")
    return ours - base, theirs - base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--cache", default=str(ROOT / ".image"), help="the image cache of `make image-test`")
    parser.add_argument("--flytekit-venv", default=None, help="a venv with flytekit, for its start-up outside an image")
    parser.add_argument("--no-rebuild", action="store_true", help="use the flytelite image already built")
    options = parser.parse_args()
    hyperfine = ensure_hyperfine()
    cache = Path(options.cache).resolve()
    ensure_images(cache, rebuild=not options.no_rebuild)
    report_sizes(cache)
    ours, theirs = Container(cache, IMAGE), Container(cache, FLYTEKIT_IMAGE)
    work = Path(tempfile.mkdtemp(prefix="flytelite-image-bench-"))
    try:
        commands = {
            "flytelite outside": (outside(work, str(ROOT / ".venv" / "bin"), False), str(work)),
            "flytelite in image": (inside(ours.mount(), False), "/"),
            "flytekit in image": (inside(theirs.mount(), True), "/"),
        }
        if options.flytekit_venv:
            commands["flytekit outside"] = (outside(work, str(Path(options.flytekit_venv).resolve() / "bin"), True), str(work))
        results = measure(hyperfine, commands, {"PATH": os.environ["PATH"]}, options.runs, str(work))
        container_start = buildah_run_ms(hyperfine, ours, work, min(options.runs, 10))
        print_results(results, container_start)
        check_outputs(ours.mount(), theirs.mount(), work)
    finally:
        ours.remove()
        theirs.remove()
        shutil.rmtree(work, ignore_errors=True)


def buildah_run_ms(hyperfine: str, container: Container, work: Path, runs: int) -> float:
    """Median of the same task through ``buildah run`` (container set-up included)."""
    line = execute_line("/usr/local/bin", BENCH_DIR, False).split()
    command = " ".join(container.command(line, workdir=BENCH_DIR))
    return measure(hyperfine, {"flytelite via buildah run": (command, "/")}, {"PATH": os.environ["PATH"]}, runs, str(work))["flytelite via buildah run"][0]


def print_results(results: dict[str, tuple[float, float]], container_start_ms: float) -> None:
    print(f"{'cold start, trivial task':<26} {'median ms':>10} {'peak RSS MiB':>13}")
    for name, (median_ms, rss) in results.items():
        print(f"{name:<26} {median_ms:>10.1f} {rss:>13.1f}")
    print(f"{'flytelite via buildah run':<26} {container_start_ms:>10.1f}")
    ratio = results["flytelite in image"][0] / results["flytelite outside"][0]
    print(f"flytelite in image / outside = {ratio:.2f}; target <= 1.2: {'met' if ratio <= 1.2 else 'MISSED'}")
    print(f"flytekit in image / flytelite in image = {results['flytekit in image'][0] / results['flytelite in image'][0]:.1f}")


def check_outputs(ours_root: Path, theirs_root: Path, work: Path) -> None:
    """A run that wrote error.pb also exits 0: every measured case must have left outputs.pb."""
    folders = {"flytelite in image": ours_root / BENCH_DIR.lstrip("/"), "flytekit in image": theirs_root / BENCH_DIR.lstrip("/"),
               "flytelite outside": work / "outside-flytelite", "flytekit outside": work / "outside-flytekit"}  # fmt: skip
    for name, folder in folders.items():
        if folder.exists():
            print(f"{name}: {'outputs.pb written' if (folder / 'out' / 'outputs.pb').exists() else 'NO outputs.pb'}")


if __name__ == "__main__":
    main()
