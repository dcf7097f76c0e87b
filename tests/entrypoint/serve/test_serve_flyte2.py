"""Flyte 2 attempts (``a0`` commands) in warm workers: the files under the output prefix are a cold ``a0``'s.

Each attempt runs twice, warm through a real daemon (CreateTask, GetTask until it ends) and cold
through the ``a0`` console script in a fresh process with the same inputs and environment, into two
output prefixes whose files are compared byte for byte.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2

from .agent_client import AgentClient, Daemon, int_inputs, render, task_template, written
from .flyte2 import ACTOR_TASK_TYPE, FLYTE2_TASK_DIR, cold_a0, create_request

pytestmark = pytest.mark.skipif(importlib.util.find_spec("flyte") is None, reason="flyte (Flyte 2's SDK, the extra flytelite[flyte2]) is not installed")

Phase = execution_pb2.TaskExecution


@pytest.fixture(scope="module")
def flyte2_daemon(module_env: dict[str, str]) -> Iterator[Daemon]:
    running = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE, "--task-type", "flytelite-reusable"], module_env, cwd=FLYTE2_TASK_DIR)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def flyte2_client(flyte2_daemon: Daemon) -> Iterator[AgentClient]:
    agent = AgentClient(flyte2_daemon.port)
    yield agent
    agent.close()


def run_warm(client: AgentClient, name: str, prefix: Path, inputs, run_base: Path):
    os.makedirs(prefix, exist_ok=True)  # a0 writes into an existing folder (local storage makes none)
    meta = client.create(create_request(name, str(prefix), inputs, str(run_base)))
    return client.wait(meta, timeout=120)


def files(prefix: Path) -> dict[str, bytes]:
    """What a0 left under ``prefix``: not the inputs (the cold run's) nor the daemon's claim record."""
    return {name: (prefix / name).read_bytes() for name in written(prefix) if name != "inputs.pb"}


def warm_and_cold(client: AgentClient, env: dict[str, str], tmp_path: Path, name: str, inputs):
    warm, cold = tmp_path / "warm", tmp_path / "cold"
    resource = run_warm(client, name, warm, inputs, tmp_path / "run")
    finished = cold_a0(name, str(cold), inputs, str(tmp_path / "run"), env)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return resource, files(warm), files(cold)


@pytest.mark.slow
def test_leaf_outputs_are_a_cold_a0s(flyte2_client: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    resource, warm, cold = warm_and_cold(flyte2_client, module_env, tmp_path, "add", int_inputs(a=3, b=4))
    assert resource.phase == Phase.SUCCEEDED, resource.message
    assert list(warm) == ["outputs.pb"]
    assert warm == cold


@pytest.mark.slow
def test_warm_attempts_see_their_own_inputs(flyte2_client: AgentClient, tmp_path: Path) -> None:
    from flyteidl.core import literals_pb2

    for a in (1, 20, 300):
        prefix = tmp_path / f"out{a}"
        resource = run_warm(flyte2_client, "add", prefix, int_inputs(a=a, b=2), tmp_path / "run")
        assert resource.phase == Phase.SUCCEEDED, resource.message
        # flyteidl2.task.Outputs (repeated NamedLiteral, field 1) is a LiteralMap on the wire.
        outputs = literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes())
        assert outputs.literals["o0"].scalar.primitive.integer == a + 2


@pytest.mark.slow
def test_dataclass_output_is_a_cold_a0s(flyte2_client: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    resource, warm, cold = warm_and_cold(flyte2_client, module_env, tmp_path, "point", int_inputs(a=5))
    assert resource.phase == Phase.SUCCEEDED, resource.message
    assert warm == cold and "outputs.pb" in warm


@pytest.mark.slow
def test_file_output_is_a_cold_a0s(flyte2_client: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    """Both runs upload to one destination (the warm file moved aside first): outputs.pb names it alike."""
    destination = tmp_path / "files" / "numbers.txt"
    destination.parent.mkdir()
    inputs = int_inputs(a=4, destination=str(destination))
    resource = run_warm(flyte2_client, "text_file", tmp_path / "warm", inputs, tmp_path / "run")
    assert resource.phase == Phase.SUCCEEDED, resource.message
    warm_text = destination.read_text()
    destination.unlink()
    finished = cold_a0("text_file", str(tmp_path / "cold"), inputs, str(tmp_path / "run"), module_env)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert warm_text == destination.read_text() == "0\n1\n2\n3"
    assert files(tmp_path / "warm") == files(tmp_path / "cold")
    assert str(destination).encode() in files(tmp_path / "warm")["outputs.pb"]


@pytest.mark.slow
def test_error_document_is_a_cold_a0s(flyte2_client: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    resource, warm, cold = warm_and_cold(flyte2_client, module_env, tmp_path, "boom", int_inputs(a=7))
    assert list(warm) == ["error.pb"]
    assert warm == cold
    # The task declares outputs: the backend reads the error document from the prefix.
    assert resource.phase == Phase.SUCCEEDED
    assert "boom 7" in resource.message


@pytest.mark.slow
def test_a_worker_killed_mid_attempt_gives_one_verdict(flyte2_daemon: Daemon, flyte2_client: AgentClient, tmp_path: Path) -> None:
    prefix = tmp_path / "killed"
    prefix.mkdir()
    pid_file = tmp_path / "pid"
    inputs = int_inputs(pid_file=str(pid_file), seconds=60)
    meta = flyte2_client.create(create_request("sleepy", str(prefix), inputs, str(tmp_path / "run")))
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(int(pid_file.read_text()), 9)
    resource = flyte2_client.wait(meta, timeout=60)
    # The task declares outputs: the verdict is the error document the pool wrote, read by the backend.
    assert resource.phase == Phase.SUCCEEDED
    assert "was killed by SIGKILL" in resource.message
    assert (resource.agent_error.origin, resource.agent_error.kind) == (execution_pb2.ExecutionError.SYSTEM, agent_pb2.AgentError.RECOVERABLE)
    assert list(files(prefix)) == ["error.pb"]
    # The next attempt runs in a fresh worker.
    after = run_warm(flyte2_client, "add", tmp_path / "after", int_inputs(a=1, b=1), tmp_path / "run")
    assert after.phase == Phase.SUCCEEDED, after.message


@pytest.mark.slow
def test_flyte1_attempts_never_load_flyte(flyte2_client: AgentClient, tmp_path: Path) -> None:
    """A Flyte 1 attempt before and after a Flyte 2 one: its worker (a fresh one) has none of flyte's modules."""
    if str(FLYTE2_TASK_DIR) not in sys.path:
        sys.path.insert(0, str(FLYTE2_TASK_DIR))
    from flyteidl.admin import agent_pb2

    from .agent_client import execution_metadata

    def probe(name: str) -> str:
        prefix = str(tmp_path / name)
        template = render(task_template("flyte_modules", module="f1_probe"), prefix, f"{prefix}-raw", f"{prefix}/inputs.pb")
        request = agent_pb2.CreateTaskRequest(template=template, output_prefix=prefix, task_execution_metadata=execution_metadata(task="f1_probe.flyte_modules"))
        resource = flyte2_client.wait(flyte2_client.create(request), timeout=120)
        assert resource.phase == Phase.SUCCEEDED, resource.message
        from flyteidl.core import literals_pb2

        return literals_pb2.LiteralMap.FromString((tmp_path / name / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.string_value

    assert probe("before") == ""
    assert run_warm(flyte2_client, "add", tmp_path / "f2", int_inputs(a=1, b=2), tmp_path / "run").phase == Phase.SUCCEEDED
    assert probe("after") == ""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda args: args.remove("--version") or args.remove("v1"), "no --version"),
        (lambda args: args.append("--frobnicate"), "a0 has no option '--frobnicate'"),
        (lambda args: args.__setitem__(slice(args.index("--resolver"), None), []), "names no task"),
    ],
)
def test_bad_a0_args_are_refused(flyte2_client: AgentClient, tmp_path: Path, change, message: str) -> None:
    request = create_request("add", str(tmp_path), int_inputs(a=1, b=2), str(tmp_path / "run"))
    args = list(request.template.container.args)
    change(args)
    del request.template.container.args[:]
    request.template.container.args.extend(args)
    with pytest.raises(grpc.RpcError) as caught:
        flyte2_client.create(request)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()


def test_a_run_without_its_identity_is_refused(tmp_path: Path) -> None:
    from flytelite.entrypoint.serve.request import InvalidRequest, build_spec

    request = create_request("add", str(tmp_path), int_inputs(a=1, b=2), str(tmp_path / "run"))
    del request.task_execution_metadata.environment_variables["_U_RUN_BASE"]
    with pytest.raises(InvalidRequest, match="_U_RUN_BASE"):
        build_spec("a", request.template, request.inputs, request.output_prefix, request.task_execution_metadata)


def test_the_reuse_policy_is_read_from_the_template(tmp_path: Path) -> None:
    from flytelite.entrypoint.serve.request import build_spec

    request = create_request("add", str(tmp_path), int_inputs(a=1, b=2), str(tmp_path / "run"))
    spec = build_spec("a", request.template, request.inputs, request.output_prefix, request.task_execution_metadata)
    assert spec.flyte2_bundle == ""
    assert spec.options["idle_ttl"] == 60  # f2_tasks.env's ReusePolicy


def test_the_server_side_never_imports_flyte(tmp_path: Path) -> None:
    """Parsing an a0 request, the pool and the worker modules: none of it imports flyte (only a Flyte 2 worker does)."""
    request = create_request("add", str(tmp_path), int_inputs(a=1, b=2), str(tmp_path / "run"))
    (tmp_path / "request.pb").write_bytes(request.SerializeToString())
    code = (
        "import sys\n"
        "from flyteidl.admin import agent_pb2\n"
        "import flytelite.entrypoint.serve.server, flytelite.entrypoint.serve.flyte2_worker, flytelite.entrypoint.pipeline\n"
        "from flytelite.entrypoint.serve.request import build_spec\n"
        f"r = agent_pb2.CreateTaskRequest.FromString(open({str(tmp_path / 'request.pb')!r}, 'rb').read())\n"
        "spec = build_spec('a', r.template, r.inputs, r.output_prefix, r.task_execution_metadata)\n"
        "assert spec.flyte2_bundle == ''\n"
        "print(sorted(m for m in sys.modules if m == 'flyte' or m.startswith('flyte.')))\n"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"


@pytest.mark.slow
def test_nested_calls_reach_the_daemons_endpoint_unless_the_run_names_one(module_env: dict[str, str], tmp_path: Path) -> None:
    """The endpoint comes with the chart's other pod variables (plaintext, ActionsService) unless the daemon's
    environment sets them (here ``_U_USE_ACTIONS``); a run's environment wins over both."""
    from flyteidl.core import literals_pb2

    daemon_env = {**module_env, "_U_USE_ACTIONS": "0"}
    daemon = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE, "--flyte2-endpoint", "dns:///actions.flyte:8090"], daemon_env, cwd=FLYTE2_TASK_DIR)
    client = AgentClient(daemon.port)
    try:
        seen = []
        runs = (("daemons", {}), ("runs", {"_U_EP_OVERRIDE": "run-endpoint:81", "_U_INSECURE": "false", "_U_USE_ACTIONS": "1"}), ("again", {}))
        for name, env in runs:
            prefix = tmp_path / name
            prefix.mkdir()
            resource = client.wait(client.create(create_request("controller_settings", str(prefix), literals_pb2.LiteralMap(), str(tmp_path / "run"), env)), timeout=120)
            assert resource.phase == Phase.SUCCEEDED, resource.message
            seen.append(literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.string_value)
        assert seen == ["dns:///actions.flyte:8090|true|0", "run-endpoint:81|false|1", "dns:///actions.flyte:8090|true|0"]
    finally:
        client.close()
        daemon.stop()


BUNDLED_TASK = '''
import flyte

env = flyte.TaskEnvironment(name="bundled")


@env.task
def which(a: int) -> str:
    return "{version}:" + str(a)
'''


def code_bundle(tmp_path: Path, version: str) -> Path:
    """A code bundle as flyte uploads one: a gzipped tar of the source tree (here one module)."""
    import tarfile

    source = tmp_path / f"src-{version}" / "bundled.py"
    source.parent.mkdir()
    source.write_text(BUNDLED_TASK.format(version=version))
    archive = tmp_path / f"{version}.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="bundled.py")
    return archive


def bundle_request(tmp_path: Path, name: str, archive: Path):
    """``f2_tasks.endpoint``'s request turned into one for ``bundled.which`` from ``archive`` (``--tgz``, ``--dest .``)."""
    prefix = tmp_path / name
    prefix.mkdir()
    request = create_request("add", str(prefix), int_inputs(a=5), str(tmp_path / "run"))
    args = list(request.template.container.args)
    at = args.index("--resolver")
    args[at:] = ["--tgz", str(archive), "--dest", ".", "--resolver", args[at + 1], "mod", "bundled", "instance", "which"]
    del request.template.container.args[:]
    request.template.container.args.extend(args)
    return request


@pytest.mark.slow
def test_each_code_bundle_runs_in_its_own_worker(flyte2_client: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    from flyteidl.core import literals_pb2

    v1, v2 = code_bundle(tmp_path, "v1"), code_bundle(tmp_path, "v2")
    seen = []
    for name, archive in (("first", v1), ("second", v2), ("third", v1)):
        resource = flyte2_client.wait(flyte2_client.create(bundle_request(tmp_path, name, archive)), timeout=120)
        assert resource.phase == Phase.SUCCEEDED, resource.message
        seen.append(literals_pb2.LiteralMap.FromString((tmp_path / name / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.string_value)
    assert seen == ["v1:5", "v2:5", "v1:5"]
    # The same attempt by a cold a0 in a fresh folder (the pod's working directory) leaves the same file.
    request = bundle_request(tmp_path, "cold", v1)
    (tmp_path / "cold" / "inputs.pb").write_bytes(request.inputs.SerializeToString())
    args = [arg if arg != f"{tmp_path}/cold/inputs.pb" else str(tmp_path / "cold" / "inputs.pb") for arg in request.template.container.args]
    workdir = tmp_path / "pod"
    workdir.mkdir()
    finished = subprocess.run([str(Path(sys.executable).with_name("a0")), *args[1:]], cwd=workdir, env={**module_env, **request.task_execution_metadata.environment_variables}, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert files(tmp_path / "cold") == files(tmp_path / "first")


@pytest.mark.slow
def test_an_idle_flyte2_worker_is_retired_after_the_reuse_policys_idle_ttl(flyte2_client: AgentClient, tmp_path: Path) -> None:
    from flyteidl.core import literals_pb2

    def worker_pid(name: str, idle_ttl: float) -> int:
        prefix = tmp_path / name
        prefix.mkdir()
        request = create_request("pid", str(prefix), literals_pb2.LiteralMap(), str(tmp_path / "run"))
        request.template.custom["spec"]["ttl_seconds"] = idle_ttl  # the actor spec's idle_ttl (reuse.py add_reusable)
        resource = flyte2_client.wait(flyte2_client.create(request), timeout=120)
        assert resource.phase == Phase.SUCCEEDED, resource.message
        return literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.integer

    first = worker_pid("first", 1.5)
    assert worker_pid("at-once", 1.5) == first  # warm: the same worker
    time.sleep(2.5)
    assert worker_pid("after-idle", 60) != first  # retired meanwhile: a fresh worker


@pytest.mark.slow
def test_a_preload_that_imports_flyte_leaves_flyte2_workers_working(module_env: dict[str, str], tmp_path: Path) -> None:
    """The fork server imported flyte (its background loop's thread is not copied by a fork): the worker starts it again."""
    daemon = Daemon(["--workers", "1", "--task-type", ACTOR_TASK_TYPE, "--preload", "f2_tasks"], {**module_env, "PYTHONPATH": str(FLYTE2_TASK_DIR)}, cwd=FLYTE2_TASK_DIR)
    client = AgentClient(daemon.port)
    try:
        for index in range(2):
            resource = run_warm(client, "add", tmp_path / f"out{index}", int_inputs(a=index, b=1), tmp_path / "run")
            assert resource.phase == Phase.SUCCEEDED, resource.message
    finally:
        client.close()
        daemon.stop()


@pytest.mark.slow
def test_a_cancelled_flyte2_attempt_is_aborted_and_its_worker_replaced(flyte2_client: AgentClient, tmp_path: Path) -> None:
    prefix = tmp_path / "cancelled"
    prefix.mkdir()
    pid_file = tmp_path / "pid"
    meta = flyte2_client.create(create_request("sleepy", str(prefix), int_inputs(pid_file=str(pid_file), seconds=60), str(tmp_path / "run")))
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    flyte2_client.delete(meta, task_type=ACTOR_TASK_TYPE)
    resource = flyte2_client.wait(meta, timeout=30)
    assert resource.phase == Phase.ABORTED, resource.message
    after = run_warm(flyte2_client, "pid", tmp_path / "after", int_inputs(), tmp_path / "run")
    assert after.phase == Phase.SUCCEEDED, after.message
    from flyteidl.core import literals_pb2

    new_pid = literals_pb2.LiteralMap.FromString((tmp_path / "after" / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.integer
    assert new_pid != int(pid_file.read_text())


@pytest.mark.slow
def test_execute_task_sync_answers_with_the_outputs_a0_wrote(flyte2_client: AgentClient, tmp_path: Path) -> None:
    from flyteidl.core import literals_pb2

    prefix = tmp_path / "sync"
    prefix.mkdir()
    resource = flyte2_client.execute_sync(create_request("add", str(prefix), int_inputs(a=20, b=22), str(tmp_path / "run")))
    assert resource.phase == Phase.SUCCEEDED, resource.message
    assert resource.outputs.literals["o0"].scalar.primitive.integer == 42
    # flyteidl2.task.Outputs is a LiteralMap on the wire: the answer is outputs.pb's content.
    assert resource.outputs == literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes())


@pytest.mark.slow
def test_an_error_that_escapes_a0_is_a_recoverable_system_error_document(flyte2_client: AgentClient, module_env: dict[str, str], tmp_path: Path) -> None:
    """Inputs the task does not take: a cold a0 exits non-zero with no document (the backend sees a failed pod); warm, the
    daemon has no pod to fail, so the worker writes the document a0 would have had to."""
    from flyteidl.core import errors_pb2

    inputs = int_inputs(a=1, b=2)  # boom takes only a
    resource = run_warm(flyte2_client, "boom", tmp_path / "warm", inputs, tmp_path / "run")
    assert resource.phase == Phase.SUCCEEDED  # the task declares outputs: the backend reads the document
    document = errors_pb2.ErrorDocument.FromString((tmp_path / "warm" / "error.pb").read_bytes())
    assert (document.error.kind, document.error.origin) == (errors_pb2.ContainerError.RECOVERABLE, execution_pb2.ExecutionError.SYSTEM)
    assert "Received more input values 2 than allowed by the input spec 1" in document.error.message
    finished = cold_a0("boom", str(tmp_path / "cold"), inputs, str(tmp_path / "run"), module_env)
    assert finished.returncode != 0 and "ValueError" in finished.stderr
    assert files(tmp_path / "cold") == {}
