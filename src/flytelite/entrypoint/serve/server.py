"""The gRPC side of ``flytelite serve``: Flyte's agent services and the health protocol.

``CreateTask`` queues the attempt and returns at once; ``GetTask`` reports its phase; a successful
attempt reports no outputs, so the backend reads ``outputs.pb`` from the output prefix, as it does
after a pod. ``ExecuteTaskSync`` runs the attempt while the stream is open and answers with the
outputs. Nothing here runs user code: that happens in :mod:`.pool`'s workers.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import uuid
from concurrent import futures
from typing import Any, Iterator

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2, literals_pb2
from flyteidl.service import agent_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ...model.tasks import REUSABLE_TASK_TYPE
from ...support.logs import get_logger
from .pool import AttemptState, PoolError, PoolFull, WorkerPool
from .request import InvalidRequest, build_spec

log = get_logger("flytelite.serve")

AGENT_NAME = "flytelite-serve"
_STATE_OF_PHASE = {
    "QUEUED": agent_pb2.PENDING,
    "RUNNING": agent_pb2.RUNNING,
    "SUCCEEDED": agent_pb2.SUCCEEDED,
    "FAILED": agent_pb2.PERMANENT_FAILURE,
    "RETRYABLE_FAILED": agent_pb2.RETRYABLE_FAILURE,
    "ABORTED": agent_pb2.PERMANENT_FAILURE,
}


class ServeConfig:
    """The daemon's settings (the ``serve`` command's options)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        workers: int = 2,
        preload: tuple[str, ...] = (),
        max_inflight: int = 1000,
        task_types: tuple[str, ...] = (),
        recycle_after: int = 0,
        cancel_grace: float = 10.0,
        log_links: tuple[tuple[str, str], ...] = (),
        code_cache_dir: str | None = None,
        code_cache_mb: float = 2048,
        code_idle_retire: float = 300.0,
    ) -> None:
        self.host, self.port, self.workers, self.preload = host, port, workers, list(preload)
        self.max_inflight, self.recycle_after, self.cancel_grace = max_inflight, recycle_after, cancel_grace
        self.task_types = list(task_types) or [REUSABLE_TASK_TYPE]
        self.log_links = list(log_links)
        self.code_cache_dir, self.code_cache_bytes, self.code_idle_retire = code_cache_dir, int(code_cache_mb * (1 << 20)), code_idle_retire


class AgentServices(agent_pb2_grpc.AsyncAgentServiceServicer, agent_pb2_grpc.SyncAgentServiceServicer, agent_pb2_grpc.AgentMetadataServiceServicer):
    """The three agent services over one :class:`WorkerPool`."""

    def __init__(self, pool: WorkerPool, config: ServeConfig) -> None:
        self.pool, self.config = pool, config
        self.hostname = socket.gethostname()
        pool.on_finish = self._log_finished

    # --- AsyncAgentService --------------------------------------------------------------------

    def CreateTask(self, request: Any, context: Any) -> Any:
        state = self._submit(request.template, request.inputs, request.output_prefix, request.task_execution_metadata, context, False)
        return agent_pb2.CreateTaskResponse(resource_meta=state.spec.attempt_id.encode())

    def GetTask(self, request: Any, context: Any) -> Any:
        state = self._find(request.resource_meta, context)
        return agent_pb2.GetTaskResponse(resource=self._resource(state))

    def DeleteTask(self, request: Any, context: Any) -> Any:
        state = self._find(request.resource_meta, context)
        log.info("cancelling the attempt", **_identity(state))
        self.pool.cancel(state)
        return agent_pb2.DeleteTaskResponse()

    # --- SyncAgentService ---------------------------------------------------------------------

    def ExecuteTaskSync(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
        header = next(request_iterator, None)
        if header is None or not header.HasField("header"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message of ExecuteTaskSync must be the header")
        part = next(request_iterator, None)
        inputs = part.inputs if part is not None and part.HasField("inputs") else literals_pb2.LiteralMap()
        head = header.header
        state = self._submit(head.template, inputs, head.output_prefix, head.task_execution_metadata, context, True)
        # A client that goes away must not leave its attempt running.
        if not context.add_callback(lambda: self.pool.cancel(state)):
            self.pool.cancel(state)  # it went away already
        state.done.wait()
        resource = self._resource(state)
        if state.outputs is not None:
            resource.outputs.ParseFromString(state.outputs)
        yield agent_pb2.ExecuteTaskSyncResponse(header=agent_pb2.ExecuteTaskSyncResponseHeader(resource=resource))

    # --- AgentMetadataService -----------------------------------------------------------------

    def ListAgents(self, request: Any, context: Any) -> Any:
        return agent_pb2.ListAgentsResponse(agents=[self._agent()])

    def GetAgent(self, request: Any, context: Any) -> Any:
        if request.name != AGENT_NAME:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no agent named {request.name!r} here; this daemon is {AGENT_NAME!r}")
        return agent_pb2.GetAgentResponse(agent=self._agent())

    # --- helpers ------------------------------------------------------------------------------

    def _agent(self) -> Any:
        categories = [agent_pb2.TaskCategory(name=name, version=0) for name in self.config.task_types]
        return agent_pb2.Agent(name=AGENT_NAME, supported_task_types=self.config.task_types, supported_task_categories=categories, is_sync=False)

    def _submit(self, template: Any, inputs: Any, output_prefix: str, metadata: Any, context: Any, want_outputs: bool) -> AttemptState:
        if template.type not in self.config.task_types:
            context.abort(grpc.StatusCode.NOT_FOUND, f"task type {template.type!r} is not served here (this daemon serves {', '.join(self.config.task_types)})")
        try:
            spec = build_spec(uuid.uuid4().hex, template, inputs, output_prefix, metadata, want_outputs)
            state = self.pool.submit(spec)
        except InvalidRequest as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except PoolFull as exc:
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(exc))
        except PoolError as exc:
            context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
        log.debug("attempt queued", **_identity(state))
        return state

    def _find(self, resource_meta: bytes, context: Any) -> AttemptState:
        state = self.pool.get(resource_meta.decode("ascii", "replace"))
        if state is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no attempt {resource_meta[:64]!r} here (unknown, or finished long ago)")
        return state

    def _resource(self, state: AttemptState) -> Any:
        resource = agent_pb2.Resource(
            phase=execution_pb2.TaskExecution.Phase.Value(state.phase), state=_STATE_OF_PHASE[state.phase], message=state.message
        )
        fields = {"attempt_id": state.spec.attempt_id, "execution": state.spec.execution, "task": state.spec.task, "hostname": self.hostname}
        for name, uri in self.config.log_links:
            resource.log_links.add(name=name, uri=uri.format_map(fields))
        failure = state.failure
        if failure is not None:
            error = resource.agent_error
            error.code = failure["code"]
            error.kind = agent_pb2.AgentError.RECOVERABLE if failure["recoverable"] else agent_pb2.AgentError.NON_RECOVERABLE
            error.origin = execution_pb2.ExecutionError.USER if failure["origin"] == "USER" else execution_pb2.ExecutionError.SYSTEM
        return resource

    def _log_finished(self, state: AttemptState) -> None:
        seconds = round(time.monotonic() - state.created, 4)
        fields = {**_identity(state), "phase": state.phase, "seconds": seconds}
        if state.failure is None:
            log.info("attempt finished", **fields)
        else:
            log.warning("attempt failed", **fields, code=state.failure["code"], summary=state.message.splitlines()[0] if state.message else "")


def _identity(state: AttemptState) -> dict[str, str]:
    spec = state.spec
    return {"attempt": spec.attempt_id, "execution": spec.execution, "task": spec.task}


def start_server(config: ServeConfig) -> tuple[Any, WorkerPool, int]:
    """Start the workers, then the gRPC server; returns (server, pool, bound port)."""
    pool = WorkerPool(
        config.workers, config.preload, config.max_inflight, config.recycle_after, config.cancel_grace,
        code_cache_dir=config.code_cache_dir, code_cache_bytes=config.code_cache_bytes, code_idle_retire=config.code_idle_retire,
    )  # fmt: skip
    pool.start()
    services = AgentServices(pool, config)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="flytelite-grpc"))
    agent_pb2_grpc.add_AsyncAgentServiceServicer_to_server(services, server)
    agent_pb2_grpc.add_SyncAgentServiceServicer_to_server(services, server)
    agent_pb2_grpc.add_AgentMetadataServiceServicer_to_server(services, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # No worker left: NOT_SERVING, so that Kubernetes restarts the pod.
    pool.on_no_workers = health_servicer.enter_graceful_shutdown
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        pool.stop()
        raise PoolError(f"cannot listen on {config.host}:{config.port}")
    server.start()
    for name in ("", "flyteidl.service.AsyncAgentService", "flyteidl.service.SyncAgentService", "flyteidl.service.AgentMetadataService"):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, pool, port


def run_server(config: ServeConfig) -> int:
    """``flytelite serve``: serve until SIGTERM or SIGINT; running attempts get SIGTERM too."""
    try:
        server, pool, port = start_server(config)
    except PoolError as exc:
        log.error("flytelite serve cannot start", error=str(exc))
        return 1
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    log.info("serving", host=config.host, port=port, workers=config.workers, task_types=config.task_types, preload=config.preload, pid=os.getpid())
    stopping.wait()
    log.info("stopping")
    server.stop(grace=config.cancel_grace).wait()
    pool.stop()
    return 0
