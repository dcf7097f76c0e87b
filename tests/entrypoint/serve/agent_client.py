"""Drive a real ``flytelite serve`` the way a Flyte backend does: flyteidl's generated gRPC stubs.

:class:`Daemon` starts the daemon as a subprocess (``task_modules/`` as its working directory) and
keeps its log lines; :class:`AgentClient` serializes a real task with flytelite's own
``to_task_template``, renders the container args' placeholders as the backend does, and calls
CreateTask / GetTask / DeleteTask / ExecuteTaskSync / ListAgents.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2, literals_pb2, tasks_pb2
from flyteidl.service import agent_pb2_grpc

TASK_DIR = Path(__file__).resolve().parent.parent / "task_modules"
# A log link the shared test daemon is given: GetTask fills in its fields.
LOG_LINK = ("daemon-logs", "https://logs.example/{hostname}?attempt={attempt_id}&execution={execution}")
TERMINAL = {
    execution_pb2.TaskExecution.SUCCEEDED,
    execution_pb2.TaskExecution.FAILED,
    execution_pb2.TaskExecution.RETRYABLE_FAILED,
    execution_pb2.TaskExecution.ABORTED,
}


class Daemon:
    """A running ``flytelite serve`` subprocess and its log lines (JSON).

    Its liveness records go to ``state_dir`` (a fresh folder unless given: daemons that stand for
    replicas of one deployment share one).
    """

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path = TASK_DIR, startup_timeout: float = 60, state_dir: Path | str | None = None) -> None:
        env = dict(env, FLYTELITE_LOG_FORMAT="json")
        self.state_dir = str(state_dir or tempfile.mkdtemp(prefix="flytelite-serve-state-"))
        command = [sys.executable, "-m", "flytelite", "serve", "--port", "0", "--state-dir", self.state_dir, *args]
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        self.port = self._wait_for_port(startup_timeout)
        threading.Thread(target=self._drain, daemon=True).start()

    def _wait_for_port(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"flytelite serve exited ({self.process.wait()}) before serving:\n" + "".join(self.lines))
            self.lines.append(line)
            event = _json(line)
            if event.get("event") == "serving":
                return int(event["port"])
        raise RuntimeError("flytelite serve did not report its port:\n" + "".join(self.lines))

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def logs(self) -> list[dict[str, Any]]:
        return [event for event in map(_json, list(self.lines)) if event]

    def kill(self) -> None:
        """SIGKILL, as the OOM killer or a lost node ends it: nothing is drained."""
        self.process.kill()
        self.process.wait(30)

    def stop(self, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout)


def _json(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@functools.lru_cache(maxsize=None)
def task_template(name: str, module: str = "serve_tasks") -> tasks_pb2.TaskTemplate:
    """The TaskTemplate ``flytelite serialize`` would register for ``module.name``."""
    import importlib

    from flytelite.model.template import SerializationSettings, to_task_template

    if str(TASK_DIR) not in sys.path:
        sys.path.insert(0, str(TASK_DIR))
    task = getattr(importlib.import_module(module), name)
    return to_task_template(task, SerializationSettings({"default": "ghcr.io/acme/app:1"}, project="p", domain="d", version="v1"))


def render(template: tasks_pb2.TaskTemplate, prefix: str, raw: str, inputs_uri: str) -> tasks_pb2.TaskTemplate:
    """The template with the placeholders of its args filled in, as the backend sends it to an agent."""
    values = {
        "{{.input}}": inputs_uri,
        "{{.outputPrefix}}": prefix,
        "{{.rawOutputDataPrefix}}": raw,
        "{{.checkpointOutputPrefix}}": os.path.join(prefix, "_checkpoint"),
        "{{.prevCheckpointPrefix}}": '""',
    }
    rendered = tasks_pb2.TaskTemplate()
    rendered.CopyFrom(template)
    del rendered.container.args[:]
    rendered.container.args.extend(values.get(arg, arg) for arg in template.container.args)
    return rendered


def int_inputs(**values: Any) -> literals_pb2.LiteralMap:
    out = literals_pb2.LiteralMap()
    for name, value in values.items():
        primitive = out.literals[name].scalar.primitive
        if isinstance(value, float):
            primitive.float_value = value
        elif isinstance(value, str):
            primitive.string_value = value
        else:
            primitive.integer = value
    return out


def execution_metadata(execution: str = "exec1", task: str = "serve_tasks.add", retry_attempt: int = 0, env: dict[str, str] | None = None) -> agent_pb2.TaskExecutionMetadata:
    metadata = agent_pb2.TaskExecutionMetadata(namespace="p-d", environment_variables=env or {})
    task_execution_id = metadata.task_execution_id
    task_execution_id.task_id.project, task_execution_id.task_id.domain = "p", "d"
    task_execution_id.task_id.name, task_execution_id.task_id.version = task, "v1"
    execution_id = task_execution_id.node_execution_id.execution_id
    execution_id.project, execution_id.domain, execution_id.name = "p", "d", execution
    task_execution_id.node_execution_id.node_id = "n0"
    task_execution_id.retry_attempt = retry_attempt
    return metadata


def create_request(name: str, prefix: Path | str, inputs: literals_pb2.LiteralMap | None = None, **metadata: Any) -> agent_pb2.CreateTaskRequest:
    """The CreateTaskRequest the backend sends for task ``serve_tasks.name`` writing to ``prefix``."""
    prefix = str(prefix)
    template = render(task_template(name), prefix, f"{prefix}-raw", f"{prefix}/inputs.pb")
    return agent_pb2.CreateTaskRequest(
        inputs=inputs or literals_pb2.LiteralMap(),
        template=template,
        output_prefix=prefix,
        task_execution_metadata=execution_metadata(task=f"serve_tasks.{name}", **metadata),
    )


class AgentClient:
    """The backend's side of the agent protocol, for one daemon."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.async_stub = agent_pb2_grpc.AsyncAgentServiceStub(self.channel)
        self.sync_stub = agent_pb2_grpc.SyncAgentServiceStub(self.channel)
        self.metadata_stub = agent_pb2_grpc.AgentMetadataServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def template(self, name: str) -> tasks_pb2.TaskTemplate:
        return task_template(name)

    def create_request(self, name: str, prefix: Path | str, inputs: literals_pb2.LiteralMap | None = None, **metadata: Any) -> agent_pb2.CreateTaskRequest:
        return create_request(name, prefix, inputs, **metadata)

    def create(self, request: agent_pb2.CreateTaskRequest) -> bytes:
        return self.async_stub.CreateTask(request, timeout=30).resource_meta

    def get(self, resource_meta: bytes, task_type: str = "flytelite-reusable") -> agent_pb2.Resource:
        category = agent_pb2.TaskCategory(name=task_type, version=0)
        return self.async_stub.GetTask(agent_pb2.GetTaskRequest(task_type=task_type, task_category=category, resource_meta=resource_meta), timeout=30).resource

    def delete(self, resource_meta: bytes, task_type: str = "flytelite-reusable") -> None:
        category = agent_pb2.TaskCategory(name=task_type, version=0)
        self.async_stub.DeleteTask(agent_pb2.DeleteTaskRequest(task_type=task_type, task_category=category, resource_meta=resource_meta), timeout=30)

    def wait(self, resource_meta: bytes, timeout: float = 60, poll: float = 0.0005) -> agent_pb2.Resource:
        deadline = time.monotonic() + timeout
        while True:
            resource = self.get(resource_meta)
            if resource.phase in TERMINAL:
                return resource
            if time.monotonic() > deadline:
                raise TimeoutError(f"the attempt is still {execution_pb2.TaskExecution.Phase.Name(resource.phase)}")
            time.sleep(poll)

    def run(self, name: str, prefix: Path | str, inputs: literals_pb2.LiteralMap | None = None, **metadata: Any) -> agent_pb2.Resource:
        return self.wait(self.create(self.create_request(name, prefix, inputs, **metadata)))

    def execute_sync(self, request: agent_pb2.CreateTaskRequest, timeout: float = 60) -> agent_pb2.Resource:
        header = agent_pb2.CreateRequestHeader(template=request.template, output_prefix=request.output_prefix, task_execution_metadata=request.task_execution_metadata)
        messages = [agent_pb2.ExecuteTaskSyncRequest(header=header), agent_pb2.ExecuteTaskSyncRequest(inputs=request.inputs)]
        responses = list(self.sync_stub.ExecuteTaskSync(iter(messages), timeout=timeout))
        assert len(responses) == 1 and responses[0].HasField("header"), responses
        return responses[0].header.resource


def written(prefix: str | os.PathLike[str]) -> list[str]:
    """The files under an output prefix, but the daemon's claim (see attempts.py)."""
    from flytelite.entrypoint.serve.attempts import CLAIM_FILE

    return sorted(name for name in os.listdir(prefix) if name != CLAIM_FILE)
