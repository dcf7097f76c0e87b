"""The Flyte 1.16.8 backend's side of an agent task, rule by rule from its Go source.

What a node sees when its task goes to an agent: the web-API plugin launches it (CreateTask, or
ExecuteTaskSync for an agent ListAgents marks synchronous), polls it through its cache (GetTask, with
a sync-failure count that never resets), maps the phase, and on success the task handler reads the
output prefix exactly as after a pod. Paths below are in github.com/flyteorg/flyte at tag v1.16.8:

- ``agent/plugin.go``, ``agent/client.go``, ``agent/config.go``: flyteplugins/go/tasks/plugins/webapi/agent/
- ``webapi/{core,launcher,monitor,cache,state}.go``: flyteplugins/go/tasks/pluginmachinery/internal/webapi/
- ``core/phase.go``: flyteplugins/go/tasks/pluginmachinery/core/phase.go
- ``task/handler.go``: flytepropeller/pkg/controller/nodes/task/handler.go
- ``ioutils/remote_file_output_reader.go``, ``ioutils/in_memory_output_reader.go``: flyteplugins/go/tasks/pluginmachinery/ioutils/

Not modelled: the resource-quota token allocation before launch (webapi/core.go:79-85), retries
across attempts (each :class:`TaskRun` is one attempt), the rate limiters' timing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2
from flyteidl.service import agent_pb2_grpc

from flytelite import io

Phase = execution_pb2.TaskExecution
MAX_SYSTEM_FAILURES = 5  # agent/config.go:30 (webApi.caching.maxSystemFailures)
TASK_FAILED_WITH_ERROR = "TaskFailedWithError"  # flyteplugins/go/tasks/errors/errors.go:8
CACHE_FAILED = "AutoRefreshCacheFailed"  # flyteplugins/go/tasks/errors/errors.go:14
USER, SYSTEM, UNKNOWN = "USER", "SYSTEM", "UNKNOWN"


@dataclass
class Observed:
    """What the node ends with: ``outcome`` is SUCCEEDED, DYNAMIC_PARENT, RETRYABLE_FAILURE, PERMANENT_FAILURE or RUNNING."""

    outcome: str
    kind: str = ""
    code: str = ""
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.outcome in ("RETRYABLE_FAILURE", "PERMANENT_FAILURE")


class Balancer:
    """The backend's one connection to an endpoint: calls spread round-robin over the addresses behind it.

    agent/config.go:46 gives every agent the service config ``round_robin``; an address leaves the
    list as Kubernetes takes a terminating pod out of the Service's endpoints.
    """

    def __init__(self, ports: list[int]) -> None:
        self.ports = list(ports)
        self._channels: dict[int, grpc.Channel] = {}
        self._turn = itertools.count()

    def channel(self) -> grpc.Channel:
        port = self.ports[next(self._turn) % len(self.ports)]
        if port not in self._channels:
            self._channels[port] = grpc.insecure_channel(f"127.0.0.1:{port}")
        return self._channels[port]

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()


def agent_registry(channel: grpc.Channel, agent_for_task_types: dict[str, str] | None = None) -> dict[str, bool]:
    """Task type -> is_sync, as agent/client.go:113-159 fills its registry (task type version 0)."""
    registry: dict[str, bool] = {}
    for agent in agent_pb2_grpc.AgentMetadataServiceStub(channel).ListAgents(agent_pb2.ListAgentsRequest(), timeout=10).agents:
        for task_type in agent.supported_task_types:  # agent/client.go:133-138
            registry[task_type] = agent.is_sync
        for category in agent.supported_task_categories:  # agent/client.go:140-146
            if category.version == 0:
                registry[category.name] = agent.is_sync
    for task_type in agent_for_task_types or {}:  # agent/client.go:153-159: the configuration wins, always async
        registry[task_type] = False
    return registry


def declares_outputs(template) -> bool:
    # agent/plugin.go:417 and task/handler.go:852: a task with no output variable has no output reader
    return len(template.interface.outputs.variables) > 0


class TaskRun:
    """One attempt of one task node, driven as the web-API plugin and the task handler drive it."""

    def __init__(self, balancer: Balancer, registry: dict[str, bool], request: agent_pb2.CreateTaskRequest, call_timeout: float = 10) -> None:
        self.balancer, self.registry, self.request, self.call_timeout = balancer, registry, request, call_timeout
        self.prefix = request.output_prefix
        self.resource_meta: bytes | None = None
        self.resource: agent_pb2.Resource | None = None  # the cache item's Resource (webapi/cache.go:47)
        self.sync_failure_count = 0  # webapi/state.go:55: never reset
        self.error_message = ""
        self.system_failure = False  # webapi/cache.go:102: the cache item's phase set to PhaseSystemFailure
        self.observed: Observed | None = None
        self.creates = 0

    # --- webapi/launcher.go -------------------------------------------------------------------

    def launch(self) -> None:
        """launcher.go:16-54: any error of Create is a USER retryable failure; a sync answer is judged at once."""
        self.creates += 1
        category = agent_pb2.TaskCategory(name=self.request.template.type, version=self.request.template.task_type_version)
        is_sync = self.registry.get(category.name, False)  # agent/plugin.go:152, 401-408
        try:
            if is_sync:
                resource = self._execute_task_sync()
            else:
                self.resource_meta = agent_pb2_grpc.AsyncAgentServiceStub(self.balancer.channel()).CreateTask(self.request, timeout=self.call_timeout).resource_meta
                return  # launcher.go:39-54: QUEUED "launched"; the cache polls from here on
        except grpc.RpcError as exc:
            self.observed = Observed("RETRYABLE_FAILURE", USER, TASK_FAILED_WITH_ERROR, f"failed to create task from agent with {exc.details()}")  # launcher.go:19, core/phase.go:274-275
            return
        observed = self._status(resource, keep_agent_error=True)  # launcher.go:24-35
        if observed is not None:
            self.observed = self._evaluate(observed, resource)

    def _execute_task_sync(self) -> agent_pb2.Resource:
        """agent/plugin.go:188-247: header, then inputs, then one answer; its header carries the resource."""
        request = self.request
        header = agent_pb2.CreateRequestHeader(template=request.template, output_prefix=request.output_prefix, task_execution_metadata=request.task_execution_metadata)
        messages = [agent_pb2.ExecuteTaskSyncRequest(header=header), agent_pb2.ExecuteTaskSyncRequest(inputs=request.inputs)]
        stream = agent_pb2_grpc.SyncAgentServiceStub(self.balancer.channel()).ExecuteTaskSync(iter(messages), timeout=self.call_timeout)
        answer = next(stream)
        if not answer.HasField("header"):  # agent/plugin.go:232-234
            raise AssertionError("expected header in the response, but got none")
        return answer.header.resource

    # --- webapi/cache.go ----------------------------------------------------------------------

    def sync(self) -> None:
        """One round of the cache's SyncResource for this item (webapi/cache.go:87-136)."""
        if self.resource is not None and self.resource.phase in (Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED):
            return  # cache.go:87-97 with agent/plugin.go:74-76 (RETRYABLE_FAILED is not terminal there)
        if self.sync_failure_count > MAX_SYSTEM_FAILURES:  # cache.go:99-109
            self.system_failure = True
            return
        request = agent_pb2.GetTaskRequest(
            task_type=self.request.template.type,
            task_category=agent_pb2.TaskCategory(name=self.request.template.type, version=self.request.template.task_type_version),
            resource_meta=self.resource_meta,
            output_prefix=self.prefix,  # agent/plugin.go:260-265
        )
        try:
            answer = agent_pb2_grpc.AsyncAgentServiceStub(self.balancer.channel()).GetTask(request, timeout=self.call_timeout).resource
        except grpc.RpcError as exc:  # cache.go:115-127
            self.sync_failure_count += 1
            self.error_message = f"failed to get task from agent with {exc.details()}"
            return
        # agent/plugin.go:271-278: Get copies phase, state, outputs, message, links, custom info; not agent_error
        kept = agent_pb2.Resource(phase=answer.phase, state=answer.state, message=answer.message)
        if answer.HasField("outputs"):
            kept.outputs.CopyFrom(answer.outputs)
        self.resource = kept

    # --- webapi/monitor.go --------------------------------------------------------------------

    def monitor(self) -> Observed | None:
        """monitor.go:14-73; ``None`` while the task is not terminal."""
        if self.resource is None:  # monitor.go:33-43
            if self.system_failure:
                return Observed("PERMANENT_FAILURE", USER, CACHE_FAILED, self.error_message)  # monitor.go:40, core/phase.go:266-267
            return None
        observed = self._status(self.resource, keep_agent_error=False)
        if observed is None:
            return None
        return self._evaluate(observed, self.resource)

    def _status(self, resource: agent_pb2.Resource, keep_agent_error: bool) -> Observed | None:
        """agent/plugin.go:307-362: the plugin phase of a resource; ``None`` for a non-terminal one."""
        code = TASK_FAILED_WITH_ERROR
        if keep_agent_error and resource.HasField("agent_error") and resource.agent_error.code:  # plugin.go:310-313
            code = resource.agent_error.code
        phase = resource.phase
        if phase in (Phase.QUEUED, Phase.WAITING_FOR_RESOURCES, Phase.INITIALIZING, Phase.RUNNING):  # plugin.go:316-323
            return None
        if phase == Phase.SUCCEEDED:  # plugin.go:324-330
            return Observed("SUCCEEDED")
        if phase == Phase.ABORTED:  # plugin.go:331-332, core/phase.go:266-267
            return Observed("PERMANENT_FAILURE", USER, code, "failed to run the job with aborted phase.")
        if phase == Phase.FAILED:  # plugin.go:333-334
            return Observed("PERMANENT_FAILURE", USER, code, f"failed to run the job: {resource.message}")
        if phase == Phase.RETRYABLE_FAILED:  # plugin.go:335-336, core/phase.go:274-275
            return Observed("RETRYABLE_FAILURE", USER, code, f"failed to run the job: {resource.message}")
        if phase != Phase.UNDEFINED:  # plugin.go:339-341
            return Observed("PERMANENT_FAILURE", SYSTEM, "SystemError", f"unknown execution phase [{phase}].")
        state = resource.state  # plugin.go:344-361
        if state in (agent_pb2.PENDING, agent_pb2.RUNNING):
            return None
        if state == agent_pb2.PERMANENT_FAILURE:
            return Observed("PERMANENT_FAILURE", USER, TASK_FAILED_WITH_ERROR, "failed to run the job.\n" + resource.message)
        if state == agent_pb2.RETRYABLE_FAILURE:
            return Observed("RETRYABLE_FAILURE", USER, TASK_FAILED_WITH_ERROR, "failed to run the job.\n" + resource.message)
        if state == agent_pb2.SUCCEEDED:
            return Observed("SUCCEEDED")
        return Observed("PERMANENT_FAILURE", SYSTEM, "SystemError", f"unknown execution state [{state}].")

    # --- task/handler.go ----------------------------------------------------------------------

    def _evaluate(self, observed: Observed, resource: agent_pb2.Resource) -> Observed:
        """What the task handler makes of the plugin's phase (task/handler.go:620-672)."""
        if observed.outcome != "SUCCEEDED":
            return observed
        if io.exists(io.join(self.prefix, "futures.pb")):  # handler.go:633-643: a dynamic parent, outputs not read
            return Observed("DYNAMIC_PARENT")
        template = self.request.template
        if not declares_outputs(template):  # agent/plugin.go:417-420: no reader; handler.go:854-866
            return observed
        if resource.HasField("outputs"):  # agent/plugin.go:423-425: in-memory reader, never an error
            return observed  # in_memory_output_reader.go:20-22, 36-38; handler.go:915-923 writes outputs.pb
        return self._validate_remote_output()

    def _validate_remote_output(self) -> Observed:
        """handler.go:868-913 with the remote file reader (agent/plugin.go:426-428)."""
        error_uri = io.join(self.prefix, "error.pb")
        if io.exists(error_uri):  # handler.go:869-883, remote_file_output_reader.go:95-133
            error = errors_pb2.ErrorDocument.FromString(io.read_bytes(error_uri)).error
            kind = execution_pb2.ExecutionError.ErrorKind.Name(error.origin)  # the origin becomes the Kind (:122)
            recoverable = error.kind == errors_pb2.ContainerError.RECOVERABLE  # (:128-130)
            return Observed("RETRYABLE_FAILURE" if recoverable else "PERMANENT_FAILURE", kind, error.code, error.message)
        if not io.exists(io.join(self.prefix, "outputs.pb")):  # handler.go:904-913: recoverable, kind left unset
            return Observed("RETRYABLE_FAILURE", UNKNOWN, "OutputsNotFound", "Outputs not generated by task execution")
        return Observed("SUCCEEDED")

    # --- the round ----------------------------------------------------------------------------

    def step(self) -> Observed | None:
        """One pass of the node: launch if not launched, else one cache sync and one monitor."""
        if self.observed is not None:
            return self.observed
        if self.resource_meta is None:
            self.launch()
            return self.observed
        self.sync()
        self.observed = self.monitor()
        return self.observed

    def abort(self) -> str | None:
        """webapi/core.go:101-117 and agent/plugin.go:281-305: DeleteTask; its error fails the abort."""
        if self.resource_meta is None:
            return None
        request = agent_pb2.DeleteTaskRequest(
            task_type=self.request.template.type,
            task_category=agent_pb2.TaskCategory(name=self.request.template.type, version=self.request.template.task_type_version),
            resource_meta=self.resource_meta,  # no output prefix in a DeleteTaskRequest (plugin.go:295-299)
        )
        try:
            agent_pb2_grpc.AsyncAgentServiceStub(self.balancer.channel()).DeleteTask(request, timeout=self.call_timeout)
        except grpc.RpcError as exc:
            return f"failed to delete task from agent with {exc.details()}"
        return None


def run_all(runs: list[TaskRun], timeout: float, interval: float = 0.01, between: Callable[[], None] | None = None) -> list[Observed]:
    """Drive ``runs`` round by round (every ``interval`` seconds, the resync interval) until all end or ``timeout``.

    A run still not terminal at ``timeout`` is reported RUNNING: in a cluster it would hang until the node's timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        pending = [run for run in runs if run.step() is None]
        if not pending or time.monotonic() > deadline:
            break
        if between is not None:
            between()
        time.sleep(interval)
    return [run.observed or Observed("RUNNING", message=run.error_message) for run in runs]


def outputs(prefix: str) -> literals_pb2.LiteralMap:
    return literals_pb2.LiteralMap.FromString(io.read_bytes(io.join(prefix, "outputs.pb")))
