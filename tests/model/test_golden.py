"""flytelite's DynamicJobSpecs and registration package against flytekit 1.16's, for the same programs.

The reference files in golden/flytekit/ come from tests/model/golden/generate.py, run with flytekit
in its own environment on tests/model/dynamic_programs/ (the same source, imported from flytekit).
Compared: node ids, bindings, upstream ids (as sets: flytekit's order is a set's), node metadata,
outputs, subworkflows, array nodes, and every task's id, type, interface and metadata. Not compared,
by design: container commands (ours run flytelite) and the runtime's version.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import dynamic_job_pb2, literals_pb2

from flytelite.model.template import to_task_template
from flytelite.runtime.context import ExecutionContext

from .futures_runner import PROGRAMS, SETTINGS

GOLDEN = Path(__file__).parent / "golden"
FLYTEKIT = GOLDEN / "flytekit"
DYNAMICS = json.loads((GOLDEN / "dynamics.json").read_text())
FLYTESNACKS = Path(__file__).parent / "flytesnacks_project"  # a project laid out as flytesnacks' examples are
KINDS = {"1": task_pb2.TaskSpec, "2": workflow_pb2.WorkflowSpec, "3": launch_plan_pb2.LaunchPlan}


@pytest.fixture(scope="module")
def modules(import_program):
    return {name: import_program(name) for name in ("fanout", "pipelines", "constructs")}


def compiled(modules, task_name: str, inputs: dict, tmp_path: Path) -> tuple[bytes | None, object]:
    module, _, function = task_name.rpartition(".")
    dynamic = getattr(modules[module], function)
    env = {e.key: e.value for e in to_task_template(dynamic, SETTINGS).container.env} | {"FLYTE_INTERNAL_TASK_VERSION": "v1"}
    ctx = ExecutionContext(working_directory=str(tmp_path), raw_output_prefix=str(tmp_path / "raw"))
    return dynamic.compile_futures(ctx, inputs, env, None, None)


def without_commands(task: object) -> None:
    task.container.Clear()  # type: ignore[attr-defined]
    task.metadata.ClearField("runtime")  # type: ignore[attr-defined]


def normalized_nodes(nodes) -> None:
    """Upstream ids sorted, in branch cases too: flytekit's order is a set's."""
    for node in nodes:
        upstream = sorted(node.upstream_node_ids)
        node.ClearField("upstream_node_ids")
        node.upstream_node_ids.extend(upstream)
        if node.HasField("branch_node"):
            if_else = node.branch_node.if_else
            cases = [if_else.case.then_node, *(block.then_node for block in if_else.other)]
            normalized_nodes(cases + ([if_else.else_node] if if_else.HasField("else_node") else []))


def normalized_spec(spec: dynamic_job_pb2.DynamicJobSpec) -> dynamic_job_pb2.DynamicJobSpec:
    normalized_nodes(spec.nodes)
    for task in spec.tasks:
        without_commands(task)
    for subworkflow in spec.subworkflows:
        # flytekit compiles a workflow on first use: inside a dynamic its node ids take the dynamic's
        # prefix ("dn0"); ours are the workflow's own ("n0"), the same as when it is registered.
        renamed = {node.id: f"node{index}" for index, node in enumerate(subworkflow.nodes)}
        _rename(subworkflow, renamed)
        normalized_nodes(subworkflow.nodes)
    return spec


def _rename(workflow, renamed: dict[str, str]) -> None:
    def promises(binding):
        kind = binding.WhichOneof("value")
        if kind == "promise" and binding.promise.node_id in renamed:
            binding.promise.node_id = renamed[binding.promise.node_id]
        for child in binding.collection.bindings if kind == "collection" else binding.map.bindings.values() if kind == "map" else []:
            promises(child)

    for node in workflow.nodes:
        node.id = renamed[node.id]
        upstream = [renamed[u] for u in node.upstream_node_ids]
        node.ClearField("upstream_node_ids")
        node.upstream_node_ids.extend(upstream)
        for binding in node.inputs:
            promises(binding.binding)
    for binding in workflow.outputs:
        promises(binding.binding)


@pytest.mark.parametrize("task_name", [name for name in DYNAMICS if (FLYTEKIT / f"{name}.futures.pb").exists()])
def test_the_dynamic_job_spec_is_flytekits(modules, tmp_path, task_name):
    spec_bytes, _ = compiled(modules, task_name, DYNAMICS[task_name], tmp_path)
    assert spec_bytes is not None
    ours = normalized_spec(dynamic_job_pb2.DynamicJobSpec.FromString(spec_bytes))
    theirs = normalized_spec(dynamic_job_pb2.DynamicJobSpec.FromString((FLYTEKIT / f"{task_name}.futures.pb").read_bytes()))
    assert ours == theirs


@pytest.mark.parametrize("task_name", [name for name in DYNAMICS if (FLYTEKIT / f"{name}.outputs.pb").exists()])
def test_a_dynamic_that_calls_nothing_writes_flytekits_outputs(modules, tmp_path, task_name):
    spec_bytes, rval = compiled(modules, task_name, DYNAMICS[task_name], tmp_path)
    assert spec_bytes is None
    module, _, function = task_name.rpartition(".")
    dynamic = getattr(modules[module], function)
    ours = {name: literals_pb2.Literal.FromString(data) for name, data in dynamic.encode_outputs(dynamic.python_interface.pack_outputs(rval)).items()}
    theirs = literals_pb2.LiteralMap.FromString((FLYTEKIT / f"{task_name}.outputs.pb").read_bytes())
    assert ours == dict(theirs.literals)


def package_members(tmp_path: Path, cwd: Path, targets: list[str], *options: str) -> dict[str, bytes]:
    output = tmp_path / "flyte-package.tgz"
    command = [sys.executable, "-m", "flytelite", "serialize", *targets, "--package", str(output), "--image", "ghcr.io/acme/app:1", *options]
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    with tarfile.open(output) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]


def parsed(name: str, data: bytes):
    message = KINDS[name[-4]].FromString(data)
    if isinstance(message, task_pb2.TaskSpec):
        without_commands(message.template)
    if isinstance(message, workflow_pb2.WorkflowSpec):
        for template in [message.template, *message.sub_workflows]:
            normalized_nodes(template.nodes)
    return message


def program_files(*modules: str) -> list[str]:
    return [str(PROGRAMS / f"{module}.py") for module in modules]


@pytest.mark.parametrize(
    ("golden", "cwd", "targets", "fast"),
    [
        ("package", PROGRAMS, program_files("fanout", "pipelines"), False),
        ("package-fast", PROGRAMS, program_files("fanout", "pipelines"), True),
        ("package-constructs", PROGRAMS, program_files("constructs"), False),
        # `pyflyte --pkgs workflows package` loads the package's modules in name order; flytelite is given them so
        ("package-flytesnacks", FLYTESNACKS, ["workflows.conditions", "workflows.scheduling"], False),
    ],
)
def test_the_registration_package_is_pyflyte_packages(tmp_path, golden, cwd, targets, fast):
    folder = FLYTEKIT / golden
    ours = package_members(tmp_path, cwd, targets, *(["--fast", "--source", str(PROGRAMS)] if fast else []))
    theirs_names = json.loads((folder / "members.json").read_text())
    assert list(ours) == sorted(ours)  # written in the order flytectl reads them
    ours_code = [n for n in ours if not n.endswith(".pb")]
    assert [n.startswith("fast") and n.endswith(".tar.gz") for n in ours_code] == [n.startswith("fast") for n in theirs_names if not n.endswith(".pb")]
    pb_names = [n for n in ours if n.endswith(".pb")]
    assert pb_names == sorted(n for n in theirs_names if n.endswith(".pb"))
    for name in pb_names:
        assert parsed(name, ours[name]) == parsed(name, (folder / name).read_bytes()), name
