"""flytelite serialize: TaskTemplates whose command, rendered as a backend would, runs the task."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from flyteidl.core import tasks_pb2

from flytelite.types import encode_map

TASKS = '''
from flytelite import Resources, task

@task(retries=3, requests=Resources(cpu="2"), container_image="{{.image.trainer.fqn}}:{{.image.trainer.version}}")
def add(a: int, b: int = 3) -> int:
    return a + b

@task
def hello(name: str) -> str:
    return "hello " + name
'''


def _module(tmp_path: Path, source: str = TASKS, name: str = "registered") -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / f"{name}.py").write_text(source)
    return code


def _templates(folder: Path) -> list[tasks_pb2.TaskTemplate]:
    return [tasks_pb2.TaskTemplate.FromString(p.read_bytes()) for p in sorted(folder.glob("*.pb"))]


def _render(args: list[str], values: dict[str, str], script: bool = False) -> list[str]:
    """The args with placeholders filled in, and ``flytelite`` run from this venv."""
    rendered = []
    for arg in args:
        for placeholder, value in values.items():
            arg = arg.replace(placeholder, value)
        rendered.append(arg)
    if script:  # every `flytelite` in the line (fast-execute's inner command too) is this venv's
        return [str(Path(sys.executable).parent / "flytelite") if a == "flytelite" else a for a in rendered]
    return [sys.executable, "-m", "flytelite", *rendered[1:]]


def test_serialized_tasks_carry_identity_metadata_image_and_our_command(ep, tmp_path):
    code = _module(tmp_path)
    result = ep.flytelite(
        "serialize", "registered", "-o", str(tmp_path / "spec"), "--image", "ghcr.io/acme/base:7",
        "--image", "trainer=ghcr.io/acme/trainer:2", "--project", "p", "--version", "v9", cwd=code,
    )
    assert result.returncode == 0, result.describe()
    add, hello = _templates(tmp_path / "spec")
    assert (add.id.name, add.id.project, add.id.version) == ("registered.add", "p", "v9")
    assert add.metadata.retries.retries == 3 and add.container.resources.requests[0].value == "2"
    assert add.container.image == "ghcr.io/acme/trainer:2" and hello.container.image == "ghcr.io/acme/base:7"
    assert list(add.container.args[-5:]) == ["--", "task-module", "registered", "task-name", "add"]
    assert "registered.add" in (tmp_path / "spec" / "tasks.txt").read_text()


def test_the_rendered_command_runs_the_task(ep, tmp_path):
    code = _module(tmp_path)
    assert ep.flytelite("serialize", "registered", "-o", str(tmp_path / "spec"), "--image", "x/y:1", "--image", "trainer=x/t:1", cwd=code).returncode == 0
    add = _templates(tmp_path / "spec")[0]
    inputs = ep.write_inputs(encode_map({"a": 4}, {"a": int}))
    command = _render(list(add.container.args), values={
        "{{.input}}": str(inputs), "{{.outputPrefix}}": str(ep.out), "{{.rawOutputDataPrefix}}": str(ep.raw),
        "{{.checkpointOutputPrefix}}": str(tmp_path / "ckpt"), "{{.prevCheckpointPrefix}}": '""',
    })
    result = ep.run(command, cwd=code)
    assert result.outputs().literals["o0"].scalar.primitive.integer == 7


def test_the_fast_variant_runs_from_the_packaged_code(ep, tmp_path):
    code = _module(tmp_path)
    archive = tmp_path / "code.tar.gz"
    assert ep.flytelite("package", str(code), "-o", str(archive)).returncode == 0
    assert ep.flytelite("serialize", "registered", "-o", str(tmp_path / "spec"), "--fast", "--image", "x/y:1", "--image", "trainer=x/t:1", cwd=code).returncode == 0
    hello = _templates(tmp_path / "spec")[1]
    assert list(hello.container.args[:2]) == ["flytelite", "fast-execute"]
    inputs = ep.write_inputs(encode_map({"name": "fast"}, {"name": str}))
    elsewhere = tmp_path / "pod"
    elsewhere.mkdir()
    command = _render(list(hello.container.args), script=True, values={
        "{{ .remote_package_path }}": str(archive), "{{ .dest_dir }}": str(tmp_path / "unpacked"),
        "{{.input}}": str(inputs), "{{.outputPrefix}}": str(ep.out), "{{.rawOutputDataPrefix}}": str(ep.raw),
        "{{.checkpointOutputPrefix}}": "", "{{.prevCheckpointPrefix}}": "",
    })
    result = ep.run(command, cwd=elsewhere)
    assert result.outputs().literals["o0"].scalar.primitive.string_value == "hello fast", shlex.join(command)


def test_bad_input_gets_a_clear_error_and_nothing_is_written(ep, tmp_path):
    code = _module(tmp_path, "X = 1\n", name="empty")
    _module(tmp_path, "from flytelite import task\n@task\ndef f(x: set) -> int:\n    return 1\n", name="inexpressible")
    _module(tmp_path)
    spec = tmp_path / "spec"
    cases = [
        (["empty"], "defines no @task"),
        (["inexpressible"], "set is not a Flyte type"),
        (["registered", "--image", "x/y:1"], "only these images were given: default"),
    ]
    for args, message in cases:
        extra = [] if "--image" in args else ["--image", "x/y:1", "--image", "trainer=x/t:1"]
        result = ep.flytelite("serialize", args[0], "-o", str(spec), *args[1:], *extra, cwd=code)
        assert result.returncode == 1 and message in result.stderr, result.describe()
        assert not spec.exists() and not list(tmp_path.glob("spec.partial-*"))
    spec.mkdir()
    (spec / "keep.txt").write_text("mine")
    result = ep.flytelite("serialize", "registered", "-o", str(spec), "--image", "x/y:1", "--image", "trainer=x/t:1", cwd=code)
    assert result.returncode == 1 and "already holds files" in result.stderr
    assert [p.name for p in spec.iterdir()] == ["keep.txt"]


def test_the_rendered_command_runs_with_everything_on_s3(ep, tmp_path, s3_bucket, s3_env):
    from flytelite import io

    code = _module(tmp_path)
    assert ep.flytelite("serialize", "registered", "-o", str(tmp_path / "spec"), "--image", "x/y:1", "--image", "trainer=x/t:1", cwd=code).returncode == 0
    hello = _templates(tmp_path / "spec")[1]
    prefix = f"s3://{s3_bucket}/exec"
    io.write_bytes(f"{prefix}/inputs.pb", encode_map({"name": "s3"}, {"name": str}).SerializeToString())
    command = _render(list(hello.container.args), values={
        "{{.input}}": f"{prefix}/inputs.pb", "{{.outputPrefix}}": f"{prefix}/out", "{{.rawOutputDataPrefix}}": f"{prefix}/raw",
        "{{.checkpointOutputPrefix}}": f"{prefix}/ckpt", "{{.prevCheckpointPrefix}}": "",
    })
    result = ep.run(command, env=s3_env, cwd=code)
    assert result.returncode == 0, result.describe()
    from flyteidl.core import literals_pb2

    outputs = literals_pb2.LiteralMap.FromString(io.read_bytes(f"{prefix}/out/outputs.pb"))
    assert outputs.literals["o0"].scalar.primitive.string_value == "hello s3"


MAPPED = '''
from flytelite import map_task, task

@task
def scaled(x: int, factor: int) -> int:
    return x * factor

scaled_each = map_task(scaled, bound_inputs=["factor"])
'''
# flytekit's name: md5 of the sorted bound inputs, concurrency, min_successes, min_success_ratio ("factorNoneNone1.0")
MAP_TASK_NAME = "mapping.map_scaled_9b54353e50e4b413ee153a96ede37cb2-arraynode"


def test_a_map_task_serializes_to_map_execute_and_its_subtasks_run(ep, tmp_path):
    code = _module(tmp_path, MAPPED, name="mapping")
    assert ep.flytelite("serialize", "mapping", "-o", str(tmp_path / "spec"), "--image", "x/y:1", cwd=code).returncode == 0
    templates = {t.id.name: t for t in _templates(tmp_path / "spec")}
    assert set(templates) == {"mapping.scaled", MAP_TASK_NAME}
    args = list(templates[MAP_TASK_NAME].container.args)
    assert args[:2] == ["flytelite", "map-execute"]
    assert args[args.index("--") :] == ["--", "vars", "factor", "resolver", "flytelite.resolvers.module.default_task_resolver",
                                        "task-module", "mapping", "task-name", "scaled"]  # fmt: skip
    inputs = ep.write_inputs(encode_map({"x": [5, 6, 7], "factor": 10}, {"x": list[int], "factor": int}))
    command = _render(args, values={"{{.input}}": str(inputs), "{{.outputPrefix}}": str(ep.out), "{{.rawOutputDataPrefix}}": str(ep.raw),
                                    "{{.checkpointOutputPrefix}}": "", "{{.prevCheckpointPrefix}}": ""})  # fmt: skip
    result = ep.run(command, env={"BATCH_JOB_ARRAY_INDEX_VAR_NAME": "IDX", "IDX": "2"}, cwd=code)
    assert result.outputs().literals["o0"].scalar.primitive.integer == 70


def test_specs_carry_the_template_and_the_description_of_docs(ep, tmp_path):
    from flyteidl.admin import task_pb2

    source = TASKS.replace("def hello(name: str) -> str:\n", 'def hello(name: str) -> str:\n    """Greets.\n\n    By name."""\n')
    code = _module(tmp_path, source)
    result = ep.flytelite(
        "serialize", "registered", "-o", str(tmp_path / "spec"), "--image", "ghcr.io/acme/base:7",
        "--image", "trainer=ghcr.io/acme/trainer:2", cwd=code,
    )
    assert result.returncode == 0, result.describe()
    specs = [task_pb2.TaskSpec.FromString(p.read_bytes()) for p in sorted((tmp_path / "spec" / "specs").glob("*.pb"))]
    assert [spec.template for spec in specs] == _templates(tmp_path / "spec")
    hello = specs[1].description
    assert (hello.short_description, hello.long_description.value) == ("Greets.", "By name.")
