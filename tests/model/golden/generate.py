"""Regenerate tests/model/golden/ with the real flytekit: the futures.pb of each dynamic, and `pyflyte package`'s files.

Run ONLY under the dedicated flytekit virtual environment:

    /work/main/.venv-flytekit/bin/python tests/model/golden/generate.py

The programs are tests/model/dynamic_programs/{fanout,pipelines,constructs}.py themselves, with `from flytelite import`
read as `from flytekit import`: the very same source, so task and node names match. Nothing in the product or
in the normal test run imports flytekit; the files written here are what our specs are compared with.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROGRAMS = HERE.parent / "dynamic_programs"
BIN = Path(sys.executable).parent
IMAGE = "ghcr.io/acme/app:1"
# (dynamic task, inputs): each run by pyflyte-execute as the backend would
DYNAMICS = json.loads((HERE / "dynamics.json").read_text())
# golden folder -> the folder of the programs and the modules or packages `pyflyte package` is given, in order
PACKAGES = {
    "package": (PROGRAMS, ["fanout", "pipelines"]),
    "package-constructs": (PROGRAMS, ["constructs"]),
    "package-flytesnacks": (HERE.parent / "flytesnacks_project", ["workflows"]),
}


def flytekit_copy(programs: Path, folder: Path) -> None:
    for path in programs.rglob("*.py"):
        source = path.read_text().replace("from flytelite import", "from flytekit import")
        (folder / path.relative_to(programs)).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.relative_to(programs)).write_text(source)


def dynamic_spec(folder: Path, task_name: str, inputs: dict[str, int | str], out: Path) -> None:
    """Run the dynamic task with pyflyte-execute; keep the futures.pb (or outputs.pb) it writes."""
    sys.path.insert(0, str(folder))
    from flyteidl.core import literals_pb2
    from flytekit.configuration import ImageConfig, SerializationSettings

    settings = SerializationSettings(image_config=ImageConfig.auto(img_name=IMAGE), project="p", domain="d", version="v1")
    literal_inputs = literals_pb2.LiteralMap()
    for name, value in inputs.items():
        primitive = literal_inputs.literals[name].scalar.primitive
        if isinstance(value, int):
            primitive.integer = value
        else:
            primitive.string_value = value
    run = folder / f"run-{task_name}"
    run.mkdir()
    (run / "inputs.pb").write_bytes(literal_inputs.SerializeToString())
    module, _, function = task_name.rpartition(".")
    env = dict(os.environ, _F_SS_C=settings.serialized_context, FLYTE_INTERNAL_TASK_PROJECT="p", FLYTE_INTERNAL_TASK_DOMAIN="d",
               FLYTE_INTERNAL_TASK_NAME=task_name, FLYTE_INTERNAL_TASK_VERSION="v1", FLYTE_INTERNAL_PROJECT="p",
               FLYTE_INTERNAL_DOMAIN="d", FLYTE_INTERNAL_NAME=task_name, FLYTE_INTERNAL_VERSION="v1")
    command = [str(BIN / "pyflyte-execute"), "--inputs", str(run / "inputs.pb"), "--output-prefix", str(run / "out"),
               "--raw-output-data-prefix", str(run / "raw"), "--resolver", "flytekit.core.python_auto_container.default_task_resolver",
               "--", "task-module", module, "task-name", function]
    subprocess.run(command, cwd=folder, env=env, check=True)
    written = [name for name in ("futures.pb", "outputs.pb") if (run / "out" / name).exists()]
    assert len(written) == 1, os.listdir(run / "out")
    shutil.copy(run / "out" / written[0], out / f"{task_name}.{written[0]}")


def package(folder: Path, out: Path, name: str, fast: bool) -> None:
    """`pyflyte package` of the modules of PACKAGES[name]; the members' names and bytes, the code archive's name only."""
    dest_name = f"{name}-fast" if fast else name
    target = folder / f"{dest_name}.tgz"
    pkgs = [option for module in PACKAGES[name][1] for option in ("--pkgs", module)]
    command = [str(BIN / "pyflyte"), *pkgs, "package", "--image", IMAGE, "-o", str(target), "--source", "."]
    subprocess.run(command + (["--fast"] if fast else []), cwd=folder, check=True)
    dest = out / dest_name
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    with tarfile.open(target) as archive:
        names = archive.getnames()
        for member in archive.getmembers():
            if member.name.endswith(".pb"):
                (dest / Path(member.name).name).write_bytes(archive.extractfile(member).read())
    (dest / "members.json").write_text(json.dumps(names, indent=1) + "\n")


def main() -> None:
    out = HERE / "flytekit"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "programs"
        flytekit_copy(PROGRAMS, folder)
        for task_name, inputs in DYNAMICS.items():
            dynamic_spec(folder, task_name, inputs, out)
        package(folder, out, "package", fast=False)
        package(folder, out, "package", fast=True)
        package(folder, out, "package-constructs", fast=False)
        project = Path(tmp) / "flytesnacks"
        flytekit_copy(PACKAGES["package-flytesnacks"][0], project)
        package(project, out, "package-flytesnacks", fast=False)
    print(f"wrote {len(os.listdir(out))} entries to {out}")


if __name__ == "__main__":
    main()
