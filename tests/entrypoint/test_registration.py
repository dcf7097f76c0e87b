"""`flytelite serialize --package`: the files `flytectl register files` takes, registered as it does, then run."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from google.protobuf.message import Message

from flytelite.types import to_literal, to_python

from ..model.futures_runner import PROGRAMS, run_workflow
KINDS = {"1": task_pb2.TaskSpec, "2": workflow_pb2.WorkflowSpec, "3": launch_plan_pb2.LaunchPlan}
EXPECTED_FILES = [
    "00_fanout.square_1.pb",
    "01_fanout.add_1.pb",
    "02_pipelines.sub_2.pb",
    "03_pipelines.sub_3.pb",
    "04_fanout.fan_out_1.pb",
    "05_fanout.map_square_6b3bd0353da5de6e84d7982921ead2b3-arraynode_1.pb",
    "06_fanout.total_1.pb",
    "07_pipelines.pipeline_2.pb",
    "08_pipelines.pipeline_3.pb",
    "09_pipelines.passthrough_2.pb",
    "10_pipelines.passthrough_3.pb",
    "11_pipelines.nested_2.pb",
    "12_pipelines.nested_3.pb",
    "13_pipelines.calls_workflow_1.pb",
]


def package(tmp_path: Path, *options: str) -> Path:
    output = tmp_path / "flyte-package.tgz"
    command = [sys.executable, "-m", "flytelite", "serialize", str(PROGRAMS / "pipelines.py"), "--package", str(output), "--image", "ghcr.io/acme/app:1", *options]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return output


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def identifiers(message) -> list[identifier_pb2.Identifier]:
    """Every Identifier inside a message, at any depth."""
    found = []
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            values = [value]
        else:  # repeated, or a map of messages
            values = value.values() if field.message_type.GetOptions().map_entry else value
        for item in values:
            found += [item] if isinstance(item, identifier_pb2.Identifier) else identifiers(item)
    return found


def register(path: Path, upload: Path, dest: Path) -> list:
    """What flytectl register files does: parse by suffix in name order, fill ids, upload the code, fill its placeholders."""
    entities = []
    for name, data in sorted(members(path).items()):
        if name.startswith("fast"):
            upload.write_bytes(data)
            continue
        message = KINDS[name[-4]].FromString(data)
        for identifier in identifiers(message):
            identifier.project, identifier.domain, identifier.version = "flytesnacks", "development", "v9"
        for spec in [message] if isinstance(message, task_pb2.TaskSpec) else []:
            args = spec.template.container.args
            args[:] = [{"{{ .remote_package_path }}": str(upload), "{{ .dest_dir }}": str(dest)}.get(a, a) for a in args]
        entities.append(message)
    return entities


def test_the_package_has_pyflyte_names_order_and_empty_ids(tmp_path):
    files = members(package(tmp_path))
    assert list(files) == EXPECTED_FILES
    parsed = [KINDS[name[-4]].FromString(data) for name, data in files.items()]
    ids = [i for message in parsed for i in identifiers(message)]
    assert ids and all((i.project, i.domain, i.version) == ("", "", "") for i in ids)
    pipeline_spec, plan = parsed[7], parsed[8]
    assert [w.id.name for w in pipeline_spec.sub_workflows] == ["pipelines.sub"]
    assert plan.id.resource_type == identifier_pb2.LAUNCH_PLAN and plan.spec.workflow_id.name == "pipelines.pipeline"
    defaults = plan.spec.default_inputs.parameters
    assert defaults["n"].required and defaults["extra"].default.scalar.primitive.integer == 1
    assert parsed[0].template.container.args[:2] == ["flytelite", "execute"]  # not fast: no code archive to fetch


def test_a_fast_package_registered_like_flytectl_runs_the_workflow_from_its_code_archive(tmp_path):
    path = package(tmp_path, "--fast", "--source", str(PROGRAMS))
    names = list(members(path))
    assert names[:-1] == EXPECTED_FILES and names[-1].startswith("fast") and names[-1].endswith(".tar.gz")
    run_dir = tmp_path / "cluster"  # nothing of the programs on the path: the code comes from the archive
    run_dir.mkdir()
    entities = register(path, tmp_path / "uploaded.tar.gz", tmp_path / "dest")
    tasks = [e.template for e in entities if isinstance(e, task_pb2.TaskSpec)]
    spec = next(e for e in entities if isinstance(e, workflow_pb2.WorkflowSpec) and e.template.id.name == "pipelines.pipeline")
    plan = next(e for e in entities if isinstance(e, launch_plan_pb2.LaunchPlan) and e.id.name == "pipelines.pipeline")
    assert spec.template.id == plan.spec.workflow_id and spec.template.id.version == "v9"
    assert tasks[0].container.args[:7] == ["flytelite", "fast-execute", "--additional-distribution", str(tmp_path / "uploaded.tar.gz"), "--dest-dir", str(tmp_path / "dest"), "--"]
    inputs = literals_pb2.LiteralMap(literals={"n": to_literal(3, int)})
    inputs.literals["extra"].CopyFrom(plan.spec.default_inputs.parameters["extra"].default)  # the launch plan's default
    outputs = run_workflow(spec.template, inputs, tasks, list(spec.sub_workflows), tmp_path / "run", run_dir)
    assert [to_python(outputs.literals[k], int) for k in ("o0", "o1")] == [36, 19]


@pytest.mark.parametrize("options", [[], ["-o", "out", "--package", "p.tgz"]])
def test_serialize_needs_exactly_one_of_a_folder_and_a_package(tmp_path, options):
    command = [sys.executable, "-m", "flytelite", "serialize", str(PROGRAMS / "fanout.py"), "--image", "img:1", *options]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "give either -o <folder>" in done.stderr
