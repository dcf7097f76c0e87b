"""``--metrics-port``: Prometheus text from the daemon, read back with prometheus_client's own parser."""

from __future__ import annotations

import socket
import time
import urllib.request

import grpc
import pytest
from flyteidl.core import execution_pb2
from prometheus_client.parser import text_string_to_metric_families

from .agent_client import AgentClient, int_inputs

Phase = execution_pb2.TaskExecution
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value for family in text_string_to_metric_families(text) for sample in family.samples}


def test_metrics_count_requests_attempts_workers_and_restarts(start_daemon, tmp_path):
    port = free_port()
    daemon = start_daemon("--workers", "2", "--preload", "serve_tasks", "--metrics-port", str(port))
    client = AgentClient(daemon.port)
    idle = scrape(port)
    assert idle[("flytelite_serve_workers", (("state", "idle"),))] == 2 and idle[("flytelite_serve_queued_attempts", ())] == 0
    assert client.run("add", tmp_path / "ok", int_inputs(a=1, b=2)).phase == Phase.SUCCEEDED
    assert client.run("fail_without_outputs", tmp_path / "bad", int_inputs(a=1)).phase == Phase.FAILED
    assert client.run("crash", tmp_path / "crash", int_inputs(code=3)).agent_error.origin == execution_pb2.ExecutionError.SYSTEM
    with pytest.raises(grpc.RpcError):
        client.get(b"not a meta")
    seen = scrape(port)
    assert seen[("flytelite_serve_requests_total", (("code", "OK"), ("method", "CreateTask")))] == 3
    assert seen[("flytelite_serve_requests_total", (("code", "INVALID_ARGUMENT"), ("method", "GetTask")))] == 1
    ok_gets = seen[("flytelite_serve_requests_total", (("code", "OK"), ("method", "GetTask")))]
    assert ok_gets >= 3 and seen[("flytelite_serve_request_seconds_count", (("method", "GetTask"),))] == ok_gets + 1
    assert seen[("flytelite_serve_request_seconds_bucket", (("le", "+Inf"), ("method", "CreateTask")))] == 3
    outcomes = {labels[0][1]: value for (name, labels), value in seen.items() if name == "flytelite_serve_attempts_total"}
    assert outcomes == {"SUCCEEDED": 1, "FAILED": 1, "RETRYABLE_FAILED": 1}
    deadline = time.monotonic() + 30
    while scrape(port)[("flytelite_serve_worker_restarts_total", ())] != 1:  # replaced after the verdict
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.close()
