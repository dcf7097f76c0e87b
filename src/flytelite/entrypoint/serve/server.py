"""The gRPC side of ``flytelite serve``: Flyte's agent services, Flyte 2's connector services, health.

``CreateTask`` queues the attempt and returns at once; ``GetTask`` reports its phase; a successful
attempt reports no outputs, so the backend reads ``outputs.pb`` from the output prefix, as it does
after a pod. ``ExecuteTaskSync`` runs the attempt while the stream is open and answers with the
outputs. Flyte 2's connector services (:mod:`.connector`) answer with the same attempts. Nothing
here runs user code: that happens in :mod:`.pool`'s workers.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import threading
import time
import uuid
import zlib
from concurrent import futures
from typing import Any, Callable, Iterator

import grpc
from flyteidl.admin import agent_pb2
from flyteidl.core import execution_pb2, literals_pb2
from flyteidl.service import agent_pb2_grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from ...model.tasks import REUSABLE_SYNC_TASK_TYPE, REUSABLE_TASK_TYPE
from ...support.logs import get_logger
from ...support.records import Record
from .. import verdict
from ..errors import fill_agent_error, one_line
from .attempts import Answer, InvalidMeta, Liveness, ResourceMeta, answer_for_verdict, answer_from_storage, read_claim, write_claim
from .connector import CONNECTOR_SERVICE, METADATA_SERVICE, ConnectorServices
from .pool import AttemptState, PoolError, WorkerPool
from .request import AttemptSpec, InvalidRequest, build_spec

log = get_logger("flytelite.serve")

AGENT_NAME = "flytelite-serve"
SYNC_AGENT_NAME = "flytelite-serve-sync"
_STATE_OF_PHASE = {
    "QUEUED": agent_pb2.PENDING,
    "WAITING_FOR_RESOURCES": agent_pb2.PENDING,
    "RUNNING": agent_pb2.RUNNING,
    "SUCCEEDED": agent_pb2.SUCCEEDED,
    "FAILED": agent_pb2.PERMANENT_FAILURE,
    "RETRYABLE_FAILED": agent_pb2.RETRYABLE_FAILURE,
    "ABORTED": agent_pb2.PERMANENT_FAILURE,
}
_CREATE_LOCKS = 64  # creates for one output prefix are serialized; different prefixes rarely share a lock


class ServeConfig:
    """The daemon's settings (the ``serve`` command's options)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        workers: int = 2,
        preload: tuple[str, ...] = (),
        task_types: tuple[str, ...] = (),
        sync_task_types: tuple[str, ...] = (),
        recycle_after: int = 0,
        cancel_grace: float = 10.0,
        drain_grace: float = 20.0,
        state_dir: str = "",
        lost_after: float = 30.0,
        keep_finished: float = 60.0,
        metrics_port: int | None = None,
        log_links: tuple[tuple[str, str], ...] = (),
        code_cache_dir: str | None = None,
        code_cache_mb: float = 2048,
        code_idle_retire: float = 300.0,
        flyte2_endpoint: str | None = None,
    ) -> None:
        self.host, self.port, self.workers, self.preload = host, port, workers, list(preload)
        self.recycle_after, self.cancel_grace, self.drain_grace = recycle_after, cancel_grace, drain_grace
        self.task_types = list(task_types) or [REUSABLE_TASK_TYPE]
        self.sync_task_types = list(sync_task_types) or [REUSABLE_SYNC_TASK_TYPE]
        self.state_dir = state_dir or os.path.join(tempfile.gettempdir(), "flytelite-serve")
        self.lost_after, self.keep_finished, self.metrics_port = lost_after, keep_finished, metrics_port
        self.log_links = list(log_links)
        self.code_cache_dir, self.code_cache_bytes, self.code_idle_retire = code_cache_dir, int(code_cache_mb * (1 << 20)), code_idle_retire
        self.flyte2_endpoint = flyte2_endpoint


class Held(Record):
    """An attempt this process created: its meta, its state while it runs, its answer once it ended."""

    __slots__ = ("meta", "state", "answer", "identity", "ended")

    def __init__(self, meta: ResourceMeta, state: AttemptState | None, identity: dict[str, str]) -> None:
        self.meta, self.state, self.identity = meta, state, identity
        self.answer: Answer | None = None
        self.ended = 0.0


class AgentServices(agent_pb2_grpc.AsyncAgentServiceServicer, agent_pb2_grpc.SyncAgentServiceServicer, agent_pb2_grpc.AgentMetadataServiceServicer):
    """The three agent services over one :class:`WorkerPool`; attempts held by id and by output prefix."""

    def __init__(self, pool: WorkerPool, config: ServeConfig, liveness: Liveness, on_attempt_end: Callable[[str], None] = lambda outcome: None) -> None:
        self.pool, self.config, self.liveness, self.on_attempt_end = pool, config, liveness, on_attempt_end
        self.hostname = socket.gethostname()
        self.lock = threading.Lock()
        self.held: dict[str, Held] = {}
        self.by_prefix: dict[str, str] = {}
        self.create_locks = [threading.Lock() for _ in range(_CREATE_LOCKS)]
        pool.on_finish = self._finished
        liveness.on_beat.append(self.forget_old)

    # --- AsyncAgentService --------------------------------------------------------------------

    def CreateTask(self, request: Any, context: Any) -> Any:
        held = self._create(request.template, request.inputs, request.output_prefix, request.task_execution_metadata, context, False)
        return agent_pb2.CreateTaskResponse(resource_meta=held.meta.encode())

    def GetTask(self, request: Any, context: Any) -> Any:
        meta = self._meta(request.resource_meta, request.output_prefix, context)
        held = self._held(meta.attempt)
        if held is not None:
            return agent_pb2.GetTaskResponse(resource=self._resource(self._answer(held), held.identity))
        try:
            answer = answer_from_storage(meta, self.liveness, self.on_attempt_end)
        except Exception as exc:  # noqa: BLE001 - storage unreachable: the backend counts the error and asks again
            context.abort(grpc.StatusCode.UNAVAILABLE, f"cannot read the attempt's output prefix {meta.prefix}: {one_line(exc)}")
        return agent_pb2.GetTaskResponse(resource=self._resource(answer, {"attempt_id": meta.attempt}))

    def DeleteTask(self, request: Any, context: Any) -> Any:
        """Stop an attempt this process runs; one that ended, or that it does not know, needs nothing: OK."""
        try:
            meta = ResourceMeta.decode(request.resource_meta)
        except InvalidMeta as exc:
            log.warning("DeleteTask for a resource meta this daemon did not write: nothing to stop", error=str(exc))
            return agent_pb2.DeleteTaskResponse()
        held = self._held(meta.attempt)
        if held is not None and held.state is not None and held.answer is None:
            log.info("cancelling the attempt", **held.identity)
            self.pool.cancel(held.state)
        elif held is None and meta.owner != self.liveness.owner:
            log.info("DeleteTask for an attempt of another daemon: not stopped here", attempt=meta.attempt, owner=meta.owner)
        return agent_pb2.DeleteTaskResponse()

    # --- SyncAgentService ---------------------------------------------------------------------

    def ExecuteTaskSync(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
        header = next(request_iterator, None)
        if header is None or not header.HasField("header"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the first message of ExecuteTaskSync must be the header")
        part = next(request_iterator, None)
        inputs = part.inputs if part is not None and part.HasField("inputs") else literals_pb2.LiteralMap()
        head = header.header
        held = self._create(head.template, inputs, head.output_prefix, head.task_execution_metadata, context, True)
        state = held.state
        if state is not None:
            # A client that goes away must not leave its attempt running.
            if not context.add_callback(lambda: self.pool.cancel(state)):
                self.pool.cancel(state)  # it went away already
            state.done.wait()
        answer = self._answer(held) if held.state is not None or held.answer is not None else answer_from_storage(held.meta, self.liveness)
        while answer.phase in ("QUEUED", "WAITING_FOR_RESOURCES", "RUNNING"):  # created by an earlier call, running elsewhere
            time.sleep(0.05)
            answer = answer_from_storage(held.meta, self.liveness)
        resource = self._resource(answer, held.identity)
        if answer.phase == "SUCCEEDED" and answer.failure is None and state is not None and state.outputs is not None:
            resource.outputs.ParseFromString(state.outputs)
        yield agent_pb2.ExecuteTaskSyncResponse(header=agent_pb2.ExecuteTaskSyncResponseHeader(resource=resource))

    # --- AgentMetadataService -----------------------------------------------------------------

    def ListAgents(self, request: Any, context: Any) -> Any:
        return agent_pb2.ListAgentsResponse(agents=[self._agent(AGENT_NAME), self._agent(SYNC_AGENT_NAME)])

    def GetAgent(self, request: Any, context: Any) -> Any:
        if request.name not in (AGENT_NAME, SYNC_AGENT_NAME):
            context.abort(grpc.StatusCode.NOT_FOUND, f"no agent named {request.name!r} here; this daemon is {AGENT_NAME!r} and {SYNC_AGENT_NAME!r}")
        return agent_pb2.GetAgentResponse(agent=self._agent(request.name))

    # --- attempts -----------------------------------------------------------------------------

    def _agent(self, name: str) -> Any:
        is_sync = name == SYNC_AGENT_NAME
        types = self.config.sync_task_types if is_sync else self.config.task_types
        categories = [agent_pb2.TaskCategory(name=type_name, version=0) for type_name in types]
        return agent_pb2.Agent(name=name, supported_task_types=types, supported_task_categories=categories, is_sync=is_sync)

    def _create(self, template: Any, inputs: Any, output_prefix: str, metadata: Any, context: Any, want_outputs: bool) -> Held:
        """The attempt that runs into ``output_prefix``: the one already created for it, or a new one."""
        if template.type not in (*self.config.task_types, *self.config.sync_task_types):
            served = ", ".join((*self.config.task_types, *self.config.sync_task_types))
            context.abort(grpc.StatusCode.NOT_FOUND, f"task type {template.type!r} is not served here (this daemon serves {served})")
        try:
            spec = build_spec(uuid.uuid4().hex, template, inputs, output_prefix, metadata, want_outputs)
        except InvalidRequest as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        with self.create_locks[zlib.crc32(output_prefix.encode()) % _CREATE_LOCKS]:
            with self.lock:
                known = self.by_prefix.get(output_prefix)
                if known is not None and known in self.held:
                    return self.held[known]
            try:
                earlier = self._earlier_attempt(output_prefix)
                if earlier is not None:
                    return earlier
                return self._start(spec, bool(template.interface.outputs.variables))
            except PoolError as exc:
                context.abort(grpc.StatusCode.UNAVAILABLE, str(exc))
            except Exception as exc:  # noqa: BLE001 - storage unreachable: the backend's create fails (retryable)
                context.abort(grpc.StatusCode.UNAVAILABLE, f"cannot record the attempt under {output_prefix}: {one_line(exc)}")
        raise AssertionError("unreachable")  # context.abort raises

    def _earlier_attempt(self, prefix: str) -> Held | None:
        """An attempt another process created for ``prefix`` that ended or still runs; a lost one is run again."""
        claim = read_claim(prefix)
        if not claim or not claim.get("attempt"):
            return None
        if not verdict.read(prefix)[0] and not self.liveness.owner_alive(claim):
            log.warning("the earlier attempt for this output prefix was lost: running it again", prefix=prefix, owner=claim.get("owner"))
            return None
        meta = ResourceMeta(str(claim["attempt"]), prefix, str(claim.get("owner", "")), bool(claim.get("outputs")))
        log.info("CreateTask for an output prefix that has an attempt: answered with it", attempt=meta.attempt, owner=meta.owner)
        return Held(meta, None, {"attempt_id": meta.attempt})

    def _start(self, spec: AttemptSpec, declares_outputs: bool) -> Held:
        meta = ResourceMeta(spec.attempt_id, spec.options["output_prefix"], self.liveness.owner, declares_outputs)
        held = Held(meta, None, {"attempt_id": spec.attempt_id, "execution": spec.execution, "task": spec.task})
        with self.lock:  # held before it is queued: GetTask and the pool's end of it find it
            self.held[meta.attempt], self.by_prefix[meta.prefix] = held, meta.attempt
        held.state = self.pool.submit(spec)
        log.debug("attempt queued", **held.identity)
        # Written while a worker may already run the attempt (its cost overlaps the run), before CreateTask answers.
        try:
            write_claim(meta, self.liveness)
        except Exception as exc:  # noqa: BLE001 - it runs anyway; only another replica's duplicate create could miss it
            log.warning("could not write the attempt's claim", attempt=meta.attempt, prefix=meta.prefix, error=one_line(exc))
        return held

    def _held(self, attempt_id: str) -> Held | None:
        with self.lock:
            return self.held.get(attempt_id)

    def _meta(self, resource_meta: bytes, output_prefix: str, context: Any) -> ResourceMeta:
        try:
            return ResourceMeta.decode(resource_meta, output_prefix)
        except InvalidMeta as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        raise AssertionError("unreachable")

    def _answer(self, held: Held) -> Answer:
        if held.answer is not None:
            return held.answer
        state = held.state
        if state is None:  # being queued
            return Answer("QUEUED", "being queued")
        if state.done.is_set():
            return self._ended_answer(held.meta, state)
        if state.phase == "RUNNING":
            return Answer("RUNNING", state.message)
        position = self.pool.queue_position(state)
        if self.pool.busy_workers() >= len(self.pool.workers):
            return Answer("WAITING_FOR_RESOURCES", f"all {len(self.pool.workers)} workers are busy: position {position} in the queue")
        return Answer("QUEUED", f"position {position} in the queue")

    @staticmethod
    def _ended_answer(meta: ResourceMeta, state: AttemptState) -> Answer:
        if state.phase == "ABORTED":
            return Answer("ABORTED", state.message, state.failure)
        return answer_for_verdict(state.failure, meta.outputs)

    def _finished(self, state: AttemptState) -> None:
        """The pool's word that an attempt ended: keep its answer, drop what it no longer needs."""
        held = self._held(state.spec.attempt_id)
        if held is not None:
            held.answer, held.ended = self._ended_answer(held.meta, state), time.monotonic()
            if not state.spec.want_outputs:
                held.state = None  # its spec and inputs: only a sync call reads the state after its end
        self.on_attempt_end(state.phase)
        self._log_finished(state)

    def forget_old(self) -> None:
        """Drop ended attempts older than ``keep_finished`` seconds: their output prefix answers for them."""
        horizon = time.monotonic() - self.config.keep_finished
        with self.lock:
            old = [attempt for attempt, held in self.held.items() if held.answer is not None and held.ended < horizon]
            for attempt in old:
                held = self.held.pop(attempt)
                if self.by_prefix.get(held.meta.prefix) == attempt:
                    del self.by_prefix[held.meta.prefix]

    def owned_without_verdict(self) -> int:
        with self.lock:
            return sum(1 for held in self.held.values() if held.answer is None)

    def _resource(self, answer: Answer, identity: dict[str, str]) -> Any:
        resource = agent_pb2.Resource(phase=execution_pb2.TaskExecution.Phase.Value(answer.phase), state=_STATE_OF_PHASE[answer.phase], message=answer.message)
        fields = {"attempt_id": "", "execution": "", "task": "", **identity, "hostname": self.hostname}
        for name, uri in self.config.log_links:
            resource.log_links.add(name=name, uri=uri.format_map(fields))
        failure = answer.failure
        if failure is not None:
            fill_agent_error(resource.agent_error, failure)
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


_SERVICES = ("", "flyteidl.service.AsyncAgentService", "flyteidl.service.SyncAgentService", "flyteidl.service.AgentMetadataService", CONNECTOR_SERVICE, METADATA_SERVICE)


class Running(Record):
    """A started daemon: the gRPC server, its services, the pool, the health servicer, the bound port."""

    __slots__ = ("server", "services", "pool", "health", "liveness", "port")

    def __init__(self, server: Any, services: AgentServices, pool: WorkerPool, health: Any, liveness: Liveness, port: int) -> None:
        self.server, self.services, self.pool, self.health, self.liveness, self.port = server, services, pool, health, liveness, port


def start_server(config: ServeConfig) -> Running:
    """Start the workers, the liveness record, the metrics' port if asked, then the gRPC server."""
    pool = WorkerPool(
        config.workers, config.preload, config.recycle_after, config.cancel_grace,
        code_cache_dir=config.code_cache_dir, code_cache_bytes=config.code_cache_bytes, code_idle_retire=config.code_idle_retire,
        flyte2_endpoint=config.flyte2_endpoint,
    )  # fmt: skip
    pool.start()
    liveness = Liveness(config.state_dir, config.lost_after)
    liveness.start()
    interceptors: list[Any] = []
    on_attempt_end: Callable[[str], None] = lambda outcome: None
    if config.metrics_port is not None:
        from .metrics import Metrics

        metrics = Metrics()
        metrics.watch_pool(lambda: pool.inflight - pool.busy_workers(), pool.busy_workers, lambda: len(pool.workers))
        pool.on_worker_restart = metrics.restarts.inc
        on_attempt_end = lambda outcome: metrics.attempts.labels(outcome).inc()  # noqa: E731
        interceptors.append(metrics.interceptor())
        metrics.serve(config.metrics_port, config.host)
    services = AgentServices(pool, config, liveness, on_attempt_end)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="flytelite-grpc"), interceptors=interceptors)
    agent_pb2_grpc.add_AsyncAgentServiceServicer_to_server(services, server)
    agent_pb2_grpc.add_SyncAgentServiceServicer_to_server(services, server)
    agent_pb2_grpc.add_AgentMetadataServiceServicer_to_server(services, server)
    server.add_generic_rpc_handlers(ConnectorServices(services, [*config.task_types, *config.sync_task_types]).handlers())
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    # No worker left: NOT_SERVING, so that Kubernetes restarts the pod.
    pool.on_no_workers = health_servicer.enter_graceful_shutdown
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        pool.stop()
        liveness.stop()
        raise PoolError(f"cannot listen on {config.host}:{config.port}")
    server.start()
    for name in _SERVICES:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Running(server, services, pool, health_servicer, liveness, port)


def drain(running: Running, grace: float) -> None:
    """Stop as Kubernetes asks: NOT_SERVING at once, creates still taken, attempts given ``grace`` seconds.

    Then the queued and running attempts end with execute's SIGTERM document (a recoverable SYSTEM
    error), GetTask is answered until every attempt held here has its verdict, and the liveness record
    says stopped: from then on any replica answers for these attempts from their output prefixes.
    """
    running.health.enter_graceful_shutdown()  # every service NOT_SERVING: the pod leaves the Service's endpoints
    deadline = time.monotonic() + grace
    while running.pool.inflight and time.monotonic() < deadline:
        time.sleep(0.05)
    log.info("draining: stopping the attempts left", left=running.pool.inflight)
    running.pool.stop()
    while running.services.owned_without_verdict() and time.monotonic() < deadline + running.pool.cancel_grace + 5:
        time.sleep(0.05)
    running.liveness.stop()
    running.server.stop(grace=1).wait()


def run_server(config: ServeConfig) -> int:
    """``flytelite serve``: serve until SIGTERM or SIGINT, then drain (see :func:`drain`)."""
    try:
        running = start_server(config)
    except PoolError as exc:
        log.error("flytelite serve cannot start", error=str(exc))
        return 1
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    log.info(
        "serving", host=config.host, port=running.port, workers=config.workers, task_types=config.task_types,
        sync_task_types=config.sync_task_types, preload=config.preload, owner=running.liveness.owner, pid=os.getpid(),
    )
    # A signal the kernel hands to another thread runs its Python handler only when the main thread
    # wakes: a timed wait bounds that delay.
    while not stopping.wait(timeout=0.5):
        pass
    log.info("draining", grace=config.drain_grace)
    drain(running, config.drain_grace)
    log.info("stopped")
    return 0
