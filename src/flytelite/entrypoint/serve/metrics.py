"""``--metrics-port``: the daemon's Prometheus metrics, in the text format, from ``prometheus_client``.

Requests by method and gRPC status code and their latency (a server interceptor), the queue's
length, busy and idle workers, attempts by outcome, worker restarts. Imported only when the port
is given.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The daemon's metrics in their own registry (no process-wide state)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("flytelite_serve_requests", "gRPC requests answered, by method and status code", ["method", "code"], registry=self.registry)
        self.latency = Histogram("flytelite_serve_request_seconds", "Time to answer a gRPC request, by method", ["method"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.queued = Gauge("flytelite_serve_queued_attempts", "Attempts waiting for a worker", registry=self.registry)
        self.workers = Gauge("flytelite_serve_workers", "Worker processes, busy or idle", ["state"], registry=self.registry)
        self.attempts = Counter("flytelite_serve_attempts", "Attempts ended, by outcome (a TaskExecution phase, or LOST)", ["outcome"], registry=self.registry)
        self.restarts = Counter("flytelite_serve_worker_restarts", "Worker processes started in place of one that ended", registry=self.registry)

    def watch_pool(self, queued: Callable[[], float], busy: Callable[[], float], total: Callable[[], float]) -> None:
        self.queued.set_function(queued)
        self.workers.labels("busy").set_function(busy)
        self.workers.labels("idle").set_function(lambda: total() - busy())

    def serve(self, port: int, host: str) -> None:
        start_http_server(port, addr=host, registry=self.registry)

    def interceptor(self) -> grpc.ServerInterceptor:
        return _Recorder(self)

    def record(self, method: str, code: str, seconds: float) -> None:
        self.requests.labels(method, code).inc()
        self.latency.labels(method).observe(seconds)


def _code(context: Any, failed: bool) -> str:
    code = context.code() if hasattr(context, "code") else None
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return code.name if isinstance(code, grpc.StatusCode) else str(code)


class _Recorder(grpc.ServerInterceptor):
    """Times every call and counts it by method and the status code it ended with."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(self._unary(handler.unary_unary, method), handler.request_deserializer, handler.response_serializer)
        if handler.stream_stream:
            return grpc.stream_stream_rpc_method_handler(self._streaming(handler.stream_stream, method), handler.request_deserializer, handler.response_serializer)
        return handler  # the health service's Watch: a long-lived stream, not timed

    def _unary(self, behaviour: Callable[..., Any], method: str) -> Callable[..., Any]:
        def timed(request: Any, context: Any) -> Any:
            started, failed = time.perf_counter(), True
            try:
                answer = behaviour(request, context)
                failed = False
                return answer
            finally:
                self.metrics.record(method, _code(context, failed), time.perf_counter() - started)

        return timed

    def _streaming(self, behaviour: Callable[..., Any], method: str) -> Callable[..., Any]:
        def timed(requests: Any, context: Any) -> Any:
            started, failed = time.perf_counter(), True
            try:
                yield from behaviour(requests, context)
                failed = False
            finally:
                self.metrics.record(method, _code(context, failed), time.perf_counter() - started)

        return timed
