"""Fast-registered code through the daemon: each version's attempts import that version's code only.

A template registered the fast way runs ``fast-execute --additional-distribution <archive> --dest-dir
<dir> -- execute ...``; the daemon fetches each archive once into its cache and runs the attempt in a
worker started for that archive. ``serve_fast_code`` exists three times: the image's copy in
task_modules/ (which the daemon preloads) and two archives, v1 and v2, written from it here.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import sys
import tarfile
import time
from pathlib import Path

from flyteidl.admin import agent_pb2
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2, tasks_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from ..conftest import SCRIPT
from .agent_client import TASK_DIR, AgentClient, execution_metadata, render, task_template, written

Phase = execution_pb2.TaskExecution
IMAGE_SOURCE = (TASK_DIR / "serve_fast_code.py").read_text()
FAST_PLACEHOLDERS = ("{{ .remote_package_path }}", "{{ .dest_dir }}")


def code_archive(folder: Path, version: str, files: dict[str, bytes] | None = None) -> Path:
    """A fast-registration archive holding ``serve_fast_code`` as ``version`` (or the given files)."""
    if files is None:
        source = IMAGE_SOURCE.replace('VERSION = "image"', f'VERSION = "{version}"').replace("ONLY_IN_IMAGE", f"ONLY_IN_{version.upper()}")
        files = {"serve_fast_code.py": source.encode()}
    path = folder / f"{version}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            member = tarfile.TarInfo(name)
            member.size, member.mtime = len(data), 1_700_000_000
            archive.addfile(member, io.BytesIO(data))
    return path


def fast_template(module: str, name: str, archive: Path | str, dest_dir: str = ".") -> tasks_pb2.TaskTemplate:
    """The template ``flytelite serialize --fast`` registers, with the registering tool's values filled in."""
    from flytelite.model.template import SerializationSettings, to_task_template

    if str(TASK_DIR) not in sys.path:
        sys.path.insert(0, str(TASK_DIR))
    task = getattr(importlib.import_module(module), name)
    template = to_task_template(task, SerializationSettings({"default": "ghcr.io/acme/app:1"}, project="p", domain="d", version="v1", fast=True))
    values = dict(zip(FAST_PLACEHOLDERS, (str(archive), dest_dir)))
    args = [values.get(arg, arg) for arg in template.container.args]
    assert "fast-execute" in args and not set(FAST_PLACEHOLDERS) & set(args)
    del template.container.args[:]
    template.container.args.extend(args)
    return template


def request_for(template: tasks_pb2.TaskTemplate, prefix: Path | str, inputs: literals_pb2.LiteralMap | None = None) -> agent_pb2.CreateTaskRequest:
    return agent_pb2.CreateTaskRequest(
        inputs=inputs or literals_pb2.LiteralMap(),
        template=render(template, str(prefix), f"{prefix}-raw", f"{prefix}/inputs.pb"),
        output_prefix=str(prefix),
        task_execution_metadata=execution_metadata(task=template.id.name),
    )


def whoami(prefix: Path) -> tuple[str, int, int, str]:
    """(version, calls in this process, pid, version-only globals seen) from a ``whoami`` attempt's outputs."""
    answer = literals_pb2.LiteralMap.FromString((prefix / "outputs.pb").read_bytes()).literals["o0"].scalar.primitive.string_value
    version, calls, pid, only = answer.split(" ")
    return version, int(calls), int(pid), only


def error_of(prefix: Path) -> errors_pb2.ContainerError:
    return errors_pb2.ErrorDocument.FromString((prefix / "error.pb").read_bytes()).error


def unpack_logs(daemon) -> list[dict]:
    return [event for event in daemon.logs() if event.get("event") == "unpacked fast-registered code"]


def cache_entries(cache_dir: Path) -> set[str]:
    return {entry.name for root in cache_dir.glob("flytelite-code-*") for entry in root.iterdir() if not entry.name.startswith(".")}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_versions_alternating_twenty_times_each_run_their_own_code(start_daemon, tmp_path):
    daemon = start_daemon("--workers", "2", "--preload", "serve_tasks", "--preload", "serve_fast_code")
    client = AgentClient(daemon.port)
    templates = {version: fast_template("serve_fast_code", "whoami", code_archive(tmp_path, version)) for version in ("v1", "v2")}
    answers = []
    for index in range(20):
        version = ("v1", "v2")[index % 2]
        prefix = tmp_path / f"run{index}"
        resource = client.wait(client.create(request_for(templates[version], prefix)))
        assert resource.phase == Phase.SUCCEEDED, resource.message
        answers.append((version, *whoami(prefix)))
    for asked, version, _, _, only in answers:
        assert (version, only) == (asked, f"ONLY_IN_{asked.upper()}")  # its own module, nothing of the other's
    versions_of_process: dict[int, set[str]] = {}
    calls_of_process: dict[int, list[int]] = {}
    for _, version, calls, pid, _ in answers:
        versions_of_process.setdefault(pid, set()).add(version)
        calls_of_process.setdefault(pid, []).append(calls)
    assert all(len(versions) == 1 for versions in versions_of_process.values())  # a process never changes version
    assert all(calls == list(range(1, len(calls) + 1)) for calls in calls_of_process.values())  # warm: module state persists
    assert sorted(event["distribution"] for event in unpack_logs(daemon)) == sorted(str(tmp_path / f"{v}.tar.gz") for v in ("v1", "v2"))
    # The daemon's own copy (preloaded by the fork server) still answers for a template without an archive.
    plain = task_template("whoami", "serve_fast_code")
    assert client.wait(client.create(request_for(plain, tmp_path / "image"))).phase == Phase.SUCCEEDED
    assert whoami(tmp_path / "image")[0::3] == ("image", "ONLY_IN_IMAGE")
    client.close()


def test_a_bad_archive_is_the_attempt_s_error_document_as_in_a_pod_and_the_daemon_keeps_serving(start_daemon, ep, tmp_path):
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks")
    client = AgentClient(daemon.port)
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b\x08\x00 this is no archive" * 20)
    hostile = code_archive(tmp_path, "hostile", {"serve_fast_code.py": b"VERSION = 1\n", "../escaped.py": b"print('out')\n"})
    missing = tmp_path / "missing.tar.gz"
    expected = {corrupt: execution_pb2.ExecutionError.USER, hostile: execution_pb2.ExecutionError.USER, missing: execution_pb2.ExecutionError.SYSTEM}  # not found: not transient, as in a pod
    for archive, origin in expected.items():
        prefix = tmp_path / f"daemon-{archive.stem}"
        resource = client.wait(client.create(request_for(fast_template("serve_fast_code", "whoami", archive), prefix)))
        # whoami declares an output: SUCCEEDED makes the backend read error.pb with its origin (see attempts.py)
        assert resource.phase == Phase.SUCCEEDED and str(archive) in resource.message and resource.agent_error.origin == origin
        daemon_error = error_of(prefix)
        assert daemon_error.origin == origin and written(prefix) == ["error.pb"]
        # A pod running the same command leaves the same document.
        pod = tmp_path / f"pod-{archive.stem}"
        args = fast_template("serve_fast_code", "whoami", archive, str(tmp_path / "dest")).container.args
        values = {"flytelite": str(SCRIPT), "{{.input}}": str(ep.write_inputs()), "{{.outputPrefix}}": str(pod), "{{.rawOutputDataPrefix}}": f"{pod}-raw"}
        ep.run([values.get(arg, arg) for arg in args], cwd=tmp_path)
        pod_error = error_of(pod)
        assert (daemon_error.code, daemon_error.kind, daemon_error.origin, daemon_error.message) == (pod_error.code, pod_error.kind, pod_error.origin, pod_error.message)
    assert not (tmp_path / "escaped.py").exists()
    health = health_pb2_grpc.HealthStub(client.channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    good = tmp_path / "good"
    assert client.wait(client.create(request_for(fast_template("serve_fast_code", "whoami", code_archive(tmp_path, "v1")), good))).phase == Phase.SUCCEEDED
    assert whoami(good)[0] == "v1"
    client.close()


def test_the_code_cache_evicts_the_least_recently_used_version_no_worker_holds(start_daemon, tmp_path):
    cache = tmp_path / "cache"
    # A bound below one archive's unpacked size: only what a worker holds stays.
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", "--code-cache-dir", str(cache), "--code-cache-mb", "0.0001")
    client = AgentClient(daemon.port)
    archives = {version: code_archive(tmp_path, version) for version in ("v1", "v2")}
    for index, version in enumerate(("v1", "v2", "v1")):
        prefix = tmp_path / f"run{index}"
        assert client.wait(client.create(request_for(fast_template("serve_fast_code", "whoami", archives[version]), prefix))).phase == Phase.SUCCEEDED
        assert whoami(prefix)[0] == version
        assert cache_entries(cache) == {digest(archives[version])}  # the other version went when its worker did
    fetched = [event["distribution"] for event in unpack_logs(daemon)]
    assert fetched == [str(archives[v]) for v in ("v1", "v2", "v1")]  # evicted, so v1 was fetched again
    evicted = [event["digest"] for event in daemon.logs() if event.get("event") == "evicted fast-registered code from the cache"]
    assert evicted == [digest(archives["v1"]), digest(archives["v2"])]
    client.close()


def test_an_idle_version_s_worker_goes_back_to_the_daemon_s_code_and_its_archive_can_go(start_daemon, tmp_path):
    cache = tmp_path / "cache"
    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", "--code-cache-dir", str(cache), "--code-cache-mb", "0", "--code-idle-retire", "0.5")
    client = AgentClient(daemon.port)
    archive = code_archive(tmp_path, "v1")
    assert client.wait(client.create(request_for(fast_template("serve_fast_code", "whoami", archive), tmp_path / "fast"))).phase == Phase.SUCCEEDED
    _, _, fast_pid, _ = whoami(tmp_path / "fast")
    deadline = time.monotonic() + 30
    while cache_entries(cache):  # held while its worker lives; evicted once the worker is retired
        assert time.monotonic() < deadline, "the idle version's worker was not retired"
        time.sleep(0.05)
    plain = task_template("whoami", "serve_fast_code")
    assert client.wait(client.create(request_for(plain, tmp_path / "plain"))).phase == Phase.SUCCEEDED
    version, _, plain_pid, _ = whoami(tmp_path / "plain")
    assert version == "image" and plain_pid != fast_pid
    client.close()


def test_the_archive_and_the_outputs_can_live_on_s3(start_daemon, tmp_path, s3_bucket, s3_env):
    from flytelite import io as storage

    daemon = start_daemon("--workers", "1", "--preload", "serve_tasks", env=s3_env)
    client = AgentClient(daemon.port)
    archive = f"s3://{s3_bucket}/fast/{os.urandom(4).hex()}/v2.tar.gz"
    storage.put_file(str(code_archive(tmp_path, "v2")), archive)
    prefix = f"s3://{s3_bucket}/exec/fast/n0/0"
    resource = client.wait(client.create(request_for(fast_template("serve_fast_code", "whoami", archive), prefix)))
    assert resource.phase == Phase.SUCCEEDED, resource.message
    outputs = literals_pb2.LiteralMap.FromString(storage.read_bytes(f"{prefix}/outputs.pb"))
    assert outputs.literals["o0"].scalar.primitive.string_value.split(" ")[0::3] == ["v2", "ONLY_IN_V2"]
    client.close()
