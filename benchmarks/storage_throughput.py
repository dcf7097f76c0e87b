"""Storage throughput of flytelite.io on each server the tests start: SeaweedFS (S3), beside the AWS CLI,
and Azurite (Azure Blob), beside Azure's CLI (``az storage blob``).

Uploads and downloads one 512 MiB file and a folder of 2,000 files of 64 KiB, each timed ``--runs``
times (median reported). The AWS CLI is installed into ``benchmarks/.venv-awscli`` on first use. Azure's
CLI is not installed by this script (``pip install azure-cli`` takes minutes): give a venv that has it
with ``--azcli-venv`` (``python -m venv .venv-azcli && .venv-azcli/bin/pip install azure-cli``); without
one, Azurite is measured with flytelite only and the report says so. Both CLIs run with their defaults.
No GCS emulator serves obstore's XML API (see the README), so GCS is not measured.

    .venv/bin/python benchmarks/storage_throughput.py [--runs 3] [--big-mib 512] [--files 2000] [--servers s3,azure]
        [--azcli-venv .venv-azcli]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from azure_server import start_azure_server  # noqa: E402
from s3_server import start_s3_server  # noqa: E402

import flytelite.io as fio  # noqa: E402

AWSCLI_VENV = ROOT / "benchmarks" / ".venv-awscli"
MIB = 1 << 20


def aws_cli() -> Path:
    """The ``aws`` executable of the benchmark's own venv, created on first use."""
    aws = AWSCLI_VENV / "bin" / "aws"
    if not aws.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AWSCLI_VENV)], check=True)
        subprocess.run([str(AWSCLI_VENV / "bin" / "pip"), "install", "-q", "awscli"], check=True)
    return aws


def make_data(root: Path, big_mib: int, files: int) -> tuple[Path, Path]:
    big = root / "big.bin"
    with open(big, "wb") as out:
        for _ in range(big_mib):
            out.write(os.urandom(MIB))
    folder = root / "folder"
    for i in range(files):
        (folder / f"d{i % 20}").mkdir(parents=True, exist_ok=True)
        (folder / f"d{i % 20}" / f"f{i}.bin").write_bytes(os.urandom(64 << 10))
    return big, folder


def median_seconds(action: Callable[[int], None], runs: int) -> float:
    """Median wall time of ``action(run_index)``; each run writes to fresh names, so nothing is cached."""
    times = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fresh(path: Path) -> str:
    """``path`` as a string, after removing what an earlier run left there."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    return str(path)


def flytelite_cases(bucket_uri: str, big: Path, folder: Path, out: Path) -> dict[str, Callable[[int], None]]:
    base = f"{bucket_uri}/flytelite"
    return {
        "upload file": lambda run: fio.put_file(str(big), f"{base}/big{run}.bin"),
        "download file": lambda run: fio.get_file(f"{base}/big{run}.bin", fresh(out / "big.bin")),
        "upload folder": lambda run: fio.put_dir(str(folder), f"{base}/folder{run}"),
        "download folder": lambda run: fio.get_dir(f"{base}/folder{run}", fresh(out / "folder")),
    }


def awscli_cases(bucket: str, big: Path, folder: Path, out: Path) -> dict[str, Callable[[int], None]]:
    aws = str(aws_cli())
    base = f"s3://{bucket}/awscli"

    def cp(*args: str) -> None:
        subprocess.run([aws, "s3", "cp", "--quiet", "--no-progress", *args], check=True)

    return {
        "upload file": lambda run: cp(str(big), f"{base}/big{run}.bin"),
        "download file": lambda run: cp(f"{base}/big{run}.bin", fresh(out / "big.bin")),
        "upload folder": lambda run: cp("--recursive", str(folder), f"{base}/folder{run}"),
        "download folder": lambda run: cp("--recursive", f"{base}/folder{run}", fresh(out / "folder")),
    }


def az_cli(venv: str | None) -> Path | None:
    """The ``az`` executable of ``venv``; None, said plainly, when no venv is given or it has no ``az``."""
    if venv is None:
        print("az storage blob: not compared (no --azcli-venv given)")
        return None
    az = Path(venv).resolve() / "bin" / "az"
    if not az.exists():
        print(f"az storage blob: not compared ({az} does not exist: pip install azure-cli into {venv})")
        return None
    return az


def azcli_cases(
    az: Path, connection_string: str, container: str, big: Path, folder: Path, out: Path, config_dir: Path
) -> dict[str, Callable[[int], None]]:
    # its own config folder, so that the benchmark neither reads nor writes the user's ~/.azure
    env = {**os.environ, "AZURE_CONFIG_DIR": str(config_dir), "AZURE_CORE_COLLECT_TELEMETRY": "no"}
    common = ["--connection-string", connection_string, "--no-progress", "--only-show-errors", "--output", "none"]

    def blob(command: str, *args: str) -> None:
        subprocess.run([str(az), "storage", "blob", command, *common, *args], check=True, env=env)

    def big_blob(run: int) -> list[str]:
        return ["--container-name", container, "--name", f"azcli/big{run}.bin"]

    def download_folder(run: int) -> None:
        destination = fresh(out / "folder")
        os.makedirs(destination)
        blob("download-batch", "--source", container, "--pattern", f"azcli/folder{run}/*", "--destination", destination)

    return {
        "upload file": lambda run: blob("upload", *big_blob(run), "--file", str(big)),
        "download file": lambda run: blob("download", *big_blob(run), "--file", fresh(out / "big.bin")),
        "upload folder": lambda run: blob(
            "upload-batch", "--destination", container, "--destination-path", f"azcli/folder{run}", "--source", str(folder)
        ),
        "download folder": download_folder,
    }


def run(server: Any, big: Path, folder: Path, work: Path, runs: int, az: Path | None) -> dict[str, dict[str, float]]:
    """Median seconds per case of flytelite.io on ``server``, and of the cloud's CLI where there is one."""
    os.environ.update(server.env())
    bucket = server.create_bucket("benchmark")
    tools = {f"flytelite.io ({server.kind})": lambda: flytelite_cases(server.base_uri(bucket), big, folder, work / "out")}
    if server.kind == "s3":
        tools["aws s3 cp"] = lambda: awscli_cases(bucket, big, folder, work / "out")
    if server.kind == "azure" and az is not None:
        tools["az storage blob"] = lambda: azcli_cases(az, server.connection_string(), bucket, big, folder, work / "out", work / "azure-config")
    return {tool: {name: median_seconds(action, runs) for name, action in cases().items()} for tool, cases in tools.items()}


def report(results: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    sizes = {"file": args.big_mib * MIB, "folder": args.files * (64 << 10)}
    print(f"\nmedian of {args.runs} runs; file = {args.big_mib} MiB, folder = {args.files} x 64 KiB\n")
    print(f"{'case':<16} " + "  ".join(f"{tool:>26}" for tool in results))
    for case in next(iter(results.values())):
        size = sizes[case.split()[1]]
        cells = [f"{t[case]:7.2f} s {size / MIB / t[case]:8.1f} MiB/s" for t in results.values()]
        print(f"{case:<16} " + "  ".join(f"{c:>26}" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big-mib", type=int, default=512)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--servers", default="s3,azure", help="comma-separated: s3 (SeaweedFS), azure (Azurite)")
    parser.add_argument("--azcli-venv", default=None, help="a venv with azure-cli installed, to compare on Azurite")
    args = parser.parse_args()
    starters = {"s3": start_s3_server, "azure": start_azure_server}
    servers = args.servers.split(",")
    if "s3" in servers:
        aws_cli()  # install before the clock starts
    az = az_cli(args.azcli_venv) if "azure" in servers else None
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="flytelite-bench-") as tmp:
        work = Path(tmp)
        big, folder = make_data(work, args.big_mib, args.files)
        for kind in servers:
            server = starters[kind](work / kind)
            try:
                results.update(run(server, big, folder, work, args.runs, az))
            finally:
                server.stop()
    report(results, args)


if __name__ == "__main__":
    main()
