"""A loopback fake of Flyte 2's ``flyteidl2.actions.ActionsService``: child actions run by a cold ``a0``.

A task that calls another task keeps its process alive and asks the backend to run the child
(flyte/_internal/controllers/remote/_core.py ``_bg_launch``: ``Enqueue``), then watches the parent's
children (``_informer.py`` ``watch``: ``WatchForUpdates``) until the child is terminal, and reads its
outputs from the update's ``output_uri`` (``_controller.py`` ``load_and_convert_outputs``). The SDK
uses this service only when ``_U_USE_ACTIONS=1`` (``_service_protocol.py``), as the open backend's
chart sets for every task pod with ``_U_EP_OVERRIDE`` and ``_U_INSECURE``
(charts/flyte-binary/templates/configmap.yaml:66-68 on flyteorg/flyte ``main``).

This server is real Connect over HTTP/1.1 on 127.0.0.1: connectrpc's WSGI application generated in
``flyteidl2/actions/actions_service_connect.py`` behind a threaded ``wsgiref`` server, no TLS and no
auth (what the SDK does when the endpoint is insecure).

What it models (paths are flyteorg/flyte ``main``):

- ``Enqueue`` of a task action (``Action.task`` with its inline ``TaskTemplate``, ``input_uri`` the
  parent uploaded, ``run_output_base``): the child runs at once as a cold ``a0`` subprocess with its
  template's args rendered as the executor renders them and the environment the executor gives its
  pod (see :meth:`FakeActionsService._command`). A second enqueue of an action already known is
  INTERNAL, as the backend answers: its CR create fails (actions/k8s/client.go:166-167) and the
  service turns any error not already a Connect one into INTERNAL (actions/service/actions_service.go:51-57,78-80).
- ``WatchForUpdates``: the parent's known children as a snapshot, then the sentinel control
  message, then one ``ActionUpdate`` per phase change of a child (RUNNING when its process starts,
  then SUCCEEDED / FAILED / ABORTED), each with the output URI (actions/service/actions_service.go:106-171).
- ``Abort``: an ABORTED update is sent and the child's process group killed (the CR is deleted and
  the deletion seen as ABORTED, actions/k8s/client.go:243-258 and 668-673); an unknown action is
  INTERNAL (the CR get fails, client.go:248-249; actions_service.go:204-206).
- ``WatchForUpdates`` without a parent action is INVALID_ARGUMENT (actions_service.go:102-104).

What it does not model: ``Update`` and ``Signal`` (UNIMPLEMENTED); trace and condition actions, root
actions (no parent: no ``RunSpec``) and run bases outside a bucket (all INVALID_ARGUMENT here); the
request validation rules (``Validate``, actions_service.go:74); the QUEUED/INITIALIZING phases, retries (attempt is always 1), caching (``cache_key`` is ignored), queues, resources, images (the child
runs in this machine's Python in ``cwd``), the cascade of an abort to grandchildren, run-service records.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from flyteidl2.actions import actions_service_pb2 as actions
from flyteidl2.actions.actions_service_connect import ActionsServiceWSGIApplication
from flyteidl2.common import phase_pb2
from flyteidl2.core import execution_pb2
from flyteidl2.workflow import state_service_pb2

from flytelite import io

TERMINAL = {phase_pb2.ACTION_PHASE_SUCCEEDED, phase_pb2.ACTION_PHASE_FAILED, phase_pb2.ACTION_PHASE_ABORTED}
NAMESPACE = "flyte"  # the actions service's default namespace for TaskAction CRs (actions/config/config.go:18)
SHARD_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789"  # ioutils/precomputed_shardselector.go:27-31


def shard_prefix(key: str) -> str:
    """The executor's 2-character base-36 shard: FNV-1a of the key, modulo 36*36 (precomputed_shardselector.go:40-66)."""
    digest = 0x811C9DC5
    for byte in key.encode():
        digest = ((digest ^ byte) * 0x01000193) & 0xFFFFFFFF
    index = digest % (len(SHARD_CHARACTERS) ** 2)
    return SHARD_CHARACTERS[index // 36] + SHARD_CHARACTERS[index % 36]


def action_output_prefix(run_output_base: str, run_name: str, action_name: str, attempt: int = 1) -> str:
    """``<scheme>://<bucket>/<shard>/<rest of run base>/<action>/<attempt>`` (executor/pkg/plugin/task_exec_context.go:67-92).

    The shard hashes ``namespace/name`` of the TaskAction CR, named ``<run>-<action>`` for a child
    (actions/k8s/client.go:992-998).
    """
    shard = shard_prefix(f"{NAMESPACE}/{run_name}-{action_name}")
    scheme, _, rest = run_output_base.partition("://")
    bucket, _, path = rest.partition("/")
    segments = [shard, *([path.strip("/")] if path.strip("/") else []), action_name, str(attempt)]
    return f"{scheme}://{bucket}/" + "/".join(segments)


@dataclass
class ChildAction:
    """One enqueued child, as the TaskAction CR the backend would create for it."""

    action: actions.Action
    output_uri: str
    phase: int = phase_pb2.ACTION_PHASE_QUEUED
    error: execution_pb2.ExecutionError | None = None
    process: subprocess.Popen[bytes] | None = None
    log: bytes = b""
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def key(self) -> tuple[str, str]:
        return (self.action.action_id.run.name, self.action.action_id.name)

    @property
    def parent_key(self) -> tuple[str, str]:
        return (self.action.action_id.run.name, self.action.parent_action_name)

    def update(self) -> actions.WatchForUpdatesResponse:
        """The update the backend streams for this action (actions/service/actions_service.go:151-163)."""
        update = state_service_pb2.ActionUpdate(action_id=self.action.action_id, phase=self.phase, output_uri=self.output_uri)
        if self.phase == phase_pb2.ACTION_PHASE_FAILED and self.error is not None:
            update.error.CopyFrom(self.error)
        return actions.WatchForUpdatesResponse(action_update=update)


class FakeActionsService:
    """The service's handlers (connectrpc's sync protocol), its children, and its watchers."""

    def __init__(self, endpoint: str, cwd: Path, environ: dict[str, str]) -> None:
        self.endpoint, self.cwd, self.environ = endpoint, cwd, environ
        self.children: dict[tuple[str, str], ChildAction] = {}  # by (run, action), as the CR names
        self.enqueued: list[actions.EnqueueRequest] = []
        self._watchers: dict[tuple[str, str], list[queue.Queue[Any]]] = {}
        self._lock = threading.Lock()

    def enqueue(self, request: actions.EnqueueRequest, ctx: Any) -> actions.EnqueueResponse:
        action = request.action
        if action.WhichOneof("spec") != "task" or not action.task.spec.task_template.HasField("container"):
            raise ConnectError(Code.INVALID_ARGUMENT, "the fake ActionsService runs task actions with a container only")
        if not action.parent_action_name:
            raise ConnectError(Code.INVALID_ARGUMENT, "the fake ActionsService runs child actions only (no RunSpec for a root)")
        if "://" not in action.run_output_base:  # the shard would land at the file system's root
            raise ConnectError(Code.INVALID_ARGUMENT, f"the fake ActionsService needs a run base in a bucket, not {action.run_output_base!r}")
        output_uri = action_output_prefix(action.run_output_base, action.action_id.run.name, action.action_id.name)
        child = ChildAction(action=action, output_uri=output_uri)
        with self._lock:
            if child.key in self.children:
                raise ConnectError(Code.INTERNAL, f"failed to create TaskAction CR {action.action_id.run.name}-{action.action_id.name}: already exists")
            self.children[child.key] = child
            self.enqueued.append(request)
        threading.Thread(target=self._run, args=(child,), name=f"child-{action.action_id.name}", daemon=True).start()
        return actions.EnqueueResponse()

    def watch_for_updates(self, request: actions.WatchForUpdatesRequest, ctx: Any) -> Iterator[actions.WatchForUpdatesResponse]:
        parent = request.parent_action_id
        if not parent.name:  # actions/service/actions_service.go:102-104
            raise ConnectError(Code.INVALID_ARGUMENT, "parent_action_id is required")
        key = (parent.run.name, parent.name)
        updates: queue.Queue[Any] = queue.Queue()
        with self._lock:  # subscribe before the snapshot, as the backend does (actions_service.go:106-108)
            self._watchers.setdefault(key, []).append(updates)
            snapshot = [child.update() for child in self.children.values() if child.parent_key == key]
        try:
            yield from snapshot
            yield actions.WatchForUpdatesResponse(control_message=state_service_pb2.ControlMessage(sentinel=True))
            while (update := updates.get()) is not None:
                yield update
        finally:
            with self._lock:
                self._watchers[key].remove(updates)

    def abort(self, request: actions.AbortRequest, ctx: Any) -> actions.AbortResponse:
        child = self.children.get((request.action_id.run.name, request.action_id.name))
        if child is None:
            raise ConnectError(Code.INTERNAL, f"failed to get TaskAction {request.action_id.run.name}-{request.action_id.name}: not found")
        self._set_phase(child, phase_pb2.ACTION_PHASE_ABORTED)
        with self._lock:
            if child.process is not None and child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGKILL)  # the pod deleted with the CR
        return actions.AbortResponse()

    def update(self, request: Any, ctx: Any) -> Any:
        raise ConnectError(Code.UNIMPLEMENTED, "the fake ActionsService does not model Update")

    def signal(self, request: Any, ctx: Any) -> Any:
        raise ConnectError(Code.UNIMPLEMENTED, "the fake ActionsService does not model Signal")

    def close_watches(self) -> None:
        with self._lock:
            for watchers in self._watchers.values():
                for updates in watchers:
                    updates.put(None)

    def _set_phase(self, child: ChildAction, phase: int, error: execution_pb2.ExecutionError | None = None) -> None:
        with self._lock:
            if child.phase in TERMINAL:  # a terminal phase is never overwritten (actions/k8s/client.go:668-673)
                return
            child.phase, child.error = phase, error
            for updates in self._watchers.get(child.parent_key, []):
                updates.put(child.update())
        if phase in TERMINAL:
            child.done.set()

    def _command(self, child: ChildAction) -> tuple[list[str], dict[str, str]]:
        """The child's ``a0`` args and environment, as the executor renders them for its pod.

        Args: the template's placeholders (flyteplugins/go/tasks/pluginmachinery/core/template/template.go:78-160)
        with the input file ``<input prefix>/inputs.pb`` (``input_uri`` with any ``/inputs.pb`` cut first,
        executor/pkg/plugin/task_exec_context.go:128-136), the output prefix (ComputeActionOutputPath, :139-145),
        the raw output prefix = the output prefix (ioutils/raw_output_path.go:48), checkpoints under
        ``_flytecheckpoints`` (ioutils/paths.go:28-38) and no previous checkpoint on attempt 1 (``""``,
        template.go:89-92). ``{{.runName}}`` and ``{{.actionName}}`` stay as they are: a0 reads
        ``RUN_NAME`` / ``ACTION_NAME`` instead (flyte/_bin/runtime.py).
        Environment: ACTION_NAME, RUN_NAME, _U_RUN_BASE, _U_ORG_NAME=local
        (executor/pkg/plugin/task_exec_metadata.go:120-129), and the chart's default pod variables
        (charts/flyte-binary/templates/configmap.yaml:66-68) pointing at this service.
        """
        action = child.action
        input_prefix = action.input_uri.removesuffix("/inputs.pb")
        values = {
            "{{.input}}": f"{input_prefix}/inputs.pb",
            "{{.inputPrefix}}": input_prefix,
            "{{.outputPrefix}}": child.output_uri,
            "{{.rawOutputDataPrefix}}": child.output_uri,
            "{{.checkpointOutputPrefix}}": f"{child.output_uri}/_flytecheckpoints",
            "{{.prevCheckpointPrefix}}": '""',
        }
        args = [values.get(arg, arg) for arg in action.task.spec.task_template.container.args]
        a0 = str(Path(sys.executable).with_name("a0"))
        environ = {
            **self.environ,
            "_U_EP_OVERRIDE": self.endpoint,
            "_U_INSECURE": "true",
            "_U_USE_ACTIONS": "1",
            "ACTION_NAME": action.action_id.name,
            "RUN_NAME": action.action_id.run.name,
            "_U_RUN_BASE": action.run_output_base,
            "_U_ORG_NAME": "local",
            "FLYTE_INTERNAL_EXECUTION_PROJECT": action.action_id.run.project,
            "FLYTE_INTERNAL_EXECUTION_DOMAIN": action.action_id.run.domain,
        }
        return [a0, *args[1:]], environ

    def _run(self, child: ChildAction) -> None:
        command, environ = self._command(child)
        with self._lock:
            if child.phase in TERMINAL:  # aborted before it started
                return
            child.process = subprocess.Popen(command, cwd=self.cwd, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        self._set_phase(child, phase_pb2.ACTION_PHASE_RUNNING)
        child.log = child.process.communicate()[0]
        self._set_phase(child, *self._verdict(child))

    def _verdict(self, child: ChildAction) -> tuple[int, execution_pb2.ExecutionError | None]:
        """SUCCEEDED, or FAILED with the error document's code, message and origin as the update's error.

        The executor keeps code, kind and message of the plugin's error (executor/pkg/controller/
        taskaction_controller.go:804-819) and the service sends them back (actions/service/actions_service.go:237-250).
        A process that died without an error document fails as a SYSTEM error, as a pod that crashed.
        """
        assert child.process is not None
        error_uri = f"{child.output_uri}/error.pb"
        if io.exists(error_uri):
            document = execution_pb2.ErrorDocument.FromString(io.read_bytes(error_uri))
            error = execution_pb2.ExecutionError(code=document.error.code, message=document.error.message, kind=document.error.origin)
            return phase_pb2.ACTION_PHASE_FAILED, error
        if child.process.returncode == -signal.SIGKILL:
            return phase_pb2.ACTION_PHASE_ABORTED, None
        if child.process.returncode != 0:
            tail = child.log.decode(errors="replace")[-2000:]
            error = execution_pb2.ExecutionError(code="ContainerFailed", message=f"a0 exited with status {child.process.returncode}: {tail}", kind=execution_pb2.ExecutionError.SYSTEM)
            return phase_pb2.ACTION_PHASE_FAILED, error
        return phase_pb2.ACTION_PHASE_SUCCEEDED, None


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a watch stream blocked on its queue never holds the test process


class _ConnectRequestHandler(WSGIRequestHandler):
    """wsgiref's handler, quiet, and handing the application the request body read whole.

    wsgiref passes the socket itself as ``wsgi.input``: it does not decode ``Transfer-Encoding:
    chunked`` (httpx's encoding for a streaming request), and connectrpc, which drains the body
    to its end after an error, would wait there for a client that keeps the connection open.
    """

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if not self.parse_request():
            return
        environ = self.get_environ()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = _read_chunked(self.rfile)
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        environ["CONTENT_LENGTH"] = str(len(body))
        handler = ServerHandler(BytesIO(body), self.wfile, self.get_stderr(), environ, multithread=True)
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def _read_chunked(stream: Any) -> bytes:
    chunks = []
    while (size := int(stream.readline().split(b";")[0].strip() or b"0", 16)) > 0:
        chunks.append(stream.read(size))
        stream.readline()  # the CRLF after the chunk
    while stream.readline() not in (b"\r\n", b"\n", b""):  # trailers, up to the blank line
        pass
    return b"".join(chunks)


class FakeActionsBackend:
    """The service on a free port of 127.0.0.1 in a thread; :meth:`stop` kills children and ends watches."""

    def __init__(self, cwd: Path, environ: dict[str, str]) -> None:
        self._server = make_server("127.0.0.1", 0, None, server_class=_ThreadingWSGIServer, handler_class=_ConnectRequestHandler)  # type: ignore[arg-type]
        self.port = self._server.server_address[1]
        # "localhost" in the endpoint makes flyte connect in plaintext (flyte/_initialize.py).
        self.endpoint = f"localhost:{self.port}"
        self.service = FakeActionsService(self.endpoint, cwd, environ)
        self._server.set_app(ActionsServiceWSGIApplication(self.service))
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-actions-service", daemon=True)
        self._thread.start()

    def pod_environ(self) -> dict[str, str]:
        """What the chart sets on every task pod so that it reaches this backend (configmap.yaml:66-68)."""
        return {"_U_EP_OVERRIDE": self.endpoint, "_U_INSECURE": "true", "_U_USE_ACTIONS": "1"}

    def stop(self) -> None:
        for child in list(self.service.children.values()):
            if child.process is not None and child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGKILL)
        self.service.close_watches()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

