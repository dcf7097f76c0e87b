"""Flyte 2's connector plugin, as its backend calls ``flytelite serve``: written from the Go sources.

Everything here follows github.com/flyteorg/flyte at ``FLYTE_MAIN`` (branch main), cited as
``path:line``; the wire is flyteidl2's own generated stubs and messages (``flyteidl2.connector``),
not the Flyte 1 classes the daemon serves them with, so a disagreement between the two shows here.

- ``webapi/connector/plugin.go`` is short for ``flyteplugins/go/tasks/plugins/webapi/connector/plugin.go``;
- the executor sets ``ACTION_NAME``, ``RUN_NAME``, ``_U_RUN_BASE``, ``_U_ORG_NAME`` and the task
  execution id (``executor/pkg/plugin/task_exec_metadata.go:120-162``); ``{{.runStartTime}}`` is filled
  in before it (``actions/k8s/client.go:1184-1197``), ``{{.runName}}`` / ``{{.actionName}}`` never
  (``a0`` reads them from the variables then: flyte/_bin/runtime.py).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import grpc
from flyteidl2.connector import connector_pb2, service_pb2_grpc
from flyteidl2.core import execution_pb2, identifier_pb2, literals_pb2, security_pb2, tasks_pb2
from flyteidl2.task import common_pb2
from google.protobuf import json_format

FLYTE_MAIN = "6fadb90d65af26f4db908ec1c5f5af546a3e4299"
Phase = execution_pb2.TaskExecution
# webapi/connector/plugin.go:101-103
TERMINAL = {Phase.SUCCEEDED, Phase.FAILED, Phase.RETRYABLE_FAILED, Phase.ABORTED}
# flyteplugins/go/tasks/pluginmachinery/core/template/template.go:43-51: case-insensitive, spaces allowed.
_PLACEHOLDERS = {
    "input": r"(?i){{\s*[\.$]Input\s*}}",
    "output_prefix": r"(?i){{\s*[\.$]OutputPrefix\s*}}",
    "input_prefix": r"(?i){{\s*[\.$]InputPrefix\s*}}",
    "raw": r"(?i){{\s*[\.$]RawOutputDataPrefix\s*}}",
    "prev_checkpoint": r"(?i){{\s*[\.$]PrevCheckpointPrefix\s*}}",
    "checkpoint": r"(?i){{\s*[\.$]CheckpointOutputPrefix\s*}}",
}


class PluginError(RuntimeError):
    """Where the Go plugin returns an error (the action's attempt fails as a system error)."""


class Outcome:
    """What the backend makes of a terminal resource (plugin.go:349-380 and the output reader)."""

    def __init__(self, phase: int, message: str, outputs: literals_pb2.LiteralMap | None = None, error: Any = None) -> None:
        self.phase, self.message, self.outputs, self.error = phase, message, outputs, error

    def __repr__(self) -> str:
        return f"Outcome({Phase.Phase.Name(self.phase)}, {self.message!r}, error={self.error})"


def render_args(args: list[str], prefix: str, inputs_uri: str, namespace: str) -> list[str]:
    """template.go:82-158 with the paths of a first attempt (executor/pkg/plugin/task_exec_context.go:128-160)."""
    values = {
        "input": inputs_uri,  # the action's inputUri; the daemon takes the inputs from the request
        "output_prefix": prefix,
        "input_prefix": inputs_uri.rsplit("/", 1)[0],
        "raw": prefix,  # NewRawOutputPaths(ctx, outputPrefix): task_exec_context.go:147
        "prev_checkpoint": '""',  # template.go:97-100: none before attempt 2 (task_exec_context.go:149-158)
        "checkpoint": f"{prefix}/_flytecheckpoints",  # ioutils/paths.go:28-36
    }
    out = []
    for arg in args:
        for name, pattern in _PLACEHOLDERS.items():
            arg = re.sub(pattern, lambda _, value=values[name]: value, arg)
        out.append(re.sub(r"(?i){{\s*[\.$]Namespace\s*}}", namespace, arg))  # template.go:157-158
    return out


def substitute_run_start_time(template: tasks_pb2.TaskTemplate, rfc3339: str) -> tasks_pb2.TaskTemplate:
    """actions/k8s/client.go:1184-1197: done by the actions service before the executor sees the template."""
    out = tasks_pb2.TaskTemplate()
    out.CopyFrom(template)
    args = [arg.replace("{{.runStartTime}}", rfc3339) for arg in out.container.args]
    del out.container.args[:]
    out.container.args.extend(args)
    return out


def executor_environment(run_base: str, run: str = "r1", action: str = "a1", org: str = "local") -> dict[str, str]:
    """The variables the executor gives an action (executor/pkg/plugin/task_exec_metadata.go:120-125), no others."""
    return {"ACTION_NAME": action, "RUN_NAME": run, "_U_RUN_BASE": run_base, "_U_ORG_NAME": org}


def task_execution_id(task: str, project: str = "p", domain: str = "d", run: str = "r1", action: str = "a1") -> identifier_pb2.TaskExecutionIdentifier:
    """task_exec_metadata.go:148-162: the only place project and domain reach a connector."""
    identifier = identifier_pb2.TaskExecutionIdentifier()
    execution = identifier.node_execution_id.execution_id
    execution.project, execution.domain, execution.name = project, domain, run
    identifier.node_execution_id.node_id = action
    identifier.task_id.project, identifier.task_id.domain, identifier.task_id.name, identifier.task_id.version = project, domain, task, "v1"
    return identifier


def connection_from_custom(template: tasks_pb2.TaskTemplate) -> security_pb2.Connection:
    """plugin.go:171-175 with pluginmachinery/utils/marshal_utils.go:13-34: jsonpb, unknown fields allowed; no custom is an error."""
    if not template.HasField("custom"):
        raise PluginError("failed to unmarshal connection from task template custom: nil Struct Object passed")
    connection = security_pb2.Connection()
    json_format.ParseDict(json_format.MessageToDict(template.custom), connection, ignore_unknown_fields=True)
    return connection


class ResourceMetaWrapper:
    """plugin.go:105-112, what the backend keeps between calls."""

    def __init__(self, output_prefix: str, resource_meta: bytes, category: connector_pb2.TaskCategory, connection: security_pb2.Connection, template: tasks_pb2.TaskTemplate) -> None:
        self.output_prefix, self.resource_meta, self.category, self.connection = output_prefix, resource_meta, category, connection
        self.template = template  # the plugin reads it again through TaskReader (plugin.go:440)


class ConnectorBackend:
    """One connector deployment as the plugin reaches it (client.go:98-144: one channel, both services)."""

    def __init__(self, port: int) -> None:
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.async_stub = service_pb2_grpc.AsyncConnectorServiceStub(self.channel)
        self.metadata_stub = service_pb2_grpc.ConnectorMetadataServiceStub(self.channel)

    def close(self) -> None:
        self.channel.close()

    def registry(self) -> dict[tuple[str, int], str]:
        """client.go:163-216: each supported category of each listed connector routes here."""
        response = self.metadata_stub.ListConnectors(connector_pb2.ListConnectorsRequest(), timeout=30)
        return {(category.name, category.version): connector.name for connector in response.connectors for category in connector.supported_task_categories}

    def create(
        self, template: tasks_pb2.TaskTemplate, inputs: literals_pb2.LiteralMap, prefix: str, environment: dict[str, str],
        execution_id: identifier_pb2.TaskExecutionIdentifier | None = None, namespace: str = "p-d", inputs_uri: str = "",
    ) -> ResourceMetaWrapper:  # fmt: skip
        """plugin.go:131-232."""
        rendered = tasks_pb2.TaskTemplate()
        rendered.CopyFrom(template)
        if rendered.HasField("container"):  # plugin.go:143-160
            args = render_args(list(rendered.container.args), prefix, inputs_uri or f"{prefix}-inputs/inputs.pb", namespace)
            del rendered.container.args[:]
            rendered.container.args.extend(args)
        category = connector_pb2.TaskCategory(name=template.type, version=template.task_type_version)  # plugin.go:163
        connection = connection_from_custom(template)  # plugin.go:171-175 (no secrets here: 176-191)
        metadata = connector_pb2.TaskExecutionMetadata(namespace=namespace, environment_variables=environment)  # plugin.go:461-473
        if execution_id is not None:
            metadata.task_execution_id.CopyFrom(execution_id)
        # plugin.go:203-210: a NamedLiteral per entry of the map (Go's map order: any).
        request_inputs = common_pb2.Inputs(literals=[common_pb2.NamedLiteral(name=name, value=value) for name, value in inputs.literals.items()])
        request = connector_pb2.CreateTaskRequest(inputs=request_inputs, template=rendered, output_prefix=prefix, task_execution_metadata=metadata, connection=connection)
        try:
            response = self.async_stub.CreateTask(request, timeout=30)
        except grpc.RpcError as exc:  # plugin.go:219-222
            raise PluginError(f"failed to create task from connector with {exc.code()}: {exc.details()}") from exc
        return ResourceMetaWrapper(prefix, response.resource_meta, category, connection, template)

    def get(self, meta: ResourceMetaWrapper) -> connector_pb2.Resource:
        """plugin.go:234-272."""
        request = connector_pb2.GetTaskRequest(task_category=meta.category, resource_meta=meta.resource_meta, output_prefix=meta.output_prefix, connection=meta.connection)
        return self.async_stub.GetTask(request, timeout=30).resource

    def delete(self, meta: ResourceMetaWrapper) -> None:
        """plugin.go:274-301."""
        self.async_stub.DeleteTask(connector_pb2.DeleteTaskRequest(task_category=meta.category, resource_meta=meta.resource_meta, connection=meta.connection), timeout=30)

    def wait(self, meta: ResourceMetaWrapper, timeout: float = 120, poll: float = 0.005) -> Outcome:
        """GetTask until the phase is terminal (the webapi cache's resync does this), then Status."""
        deadline = time.monotonic() + timeout
        while True:
            resource = self.get(meta)
            if resource.phase in TERMINAL:
                return status(meta, resource)
            if resource.phase not in (Phase.QUEUED, Phase.WAITING_FOR_RESOURCES, Phase.INITIALIZING, Phase.RUNNING):
                raise PluginError(f"unknown execution phase [{resource.phase}].")  # plugin.go:379-380
            if time.monotonic() > deadline:
                raise TimeoutError(f"the attempt is still {Phase.Phase.Name(resource.phase)}")
            time.sleep(poll)


def status(meta: ResourceMetaWrapper, resource: connector_pb2.Resource) -> Outcome:
    """plugin.go:349-380 for a terminal phase, with writeOutput (plugin.go:439-458) on SUCCEEDED."""
    if resource.phase == Phase.ABORTED:
        return Outcome(resource.phase, "failed to run the job with aborted phase.")
    if resource.phase in (Phase.FAILED, Phase.RETRYABLE_FAILED):
        return Outcome(resource.phase, f"failed to run the job: {resource.message}")
    if not meta.template.interface.outputs.variables:  # plugin.go:445-448
        return Outcome(resource.phase, "")
    if resource.HasField("outputs"):  # plugin.go:359-365, 451-453
        return Outcome(resource.phase, "", literals_pb2.LiteralMap(literals={named.name: named.value for named in resource.outputs.literals}))
    return read_prefix(meta.output_prefix)


def read_prefix(prefix: str) -> Outcome:
    """flyteplugins/go/tasks/pluginmachinery/ioutils/remote_file_output_reader.go:22-118: the error document first, then outputs.pb."""
    error_path, outputs_path = Path(prefix, "error.pb"), Path(prefix, "outputs.pb")
    if error_path.exists():
        document = execution_pb2.ErrorDocument.FromString(error_path.read_bytes())
        if not document.HasField("error"):
            return Outcome(Phase.SUCCEEDED, "", error={"code": "ErrorFileBadFormat", "recoverable": True})
        error = document.error
        recoverable = error.kind == execution_pb2.ContainerError.RECOVERABLE
        return Outcome(Phase.SUCCEEDED, error.message, error={"code": error.code, "message": error.message, "origin": error.origin, "recoverable": recoverable})
    if not outputs_path.exists():
        raise PluginError(f"failed to read data from dataDir [{outputs_path}]")  # remote_file_output_reader.go:102-105
    outputs = literals_pb2.LiteralMap.FromString(outputs_path.read_bytes())
    if not outputs.literals:
        return Outcome(Phase.SUCCEEDED, f"outputs not found at [{outputs_path}]", error={"code": "No outputs produced", "recoverable": True})
    return Outcome(Phase.SUCCEEDED, "", outputs)
