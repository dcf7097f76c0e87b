"""A warm worker for Flyte 2 attempts: flyte's own ``a0`` entry, called in a process that keeps flyte loaded.

The worker is forked from the fork server like any other (which never imports flyte: only this
process does, once, so no flyte thread is ever copied by a fork), then runs attempts one at a time
through ``flyte._bin.runtime._run_action``, the function a cold ``a0`` calls: the files it leaves
under the output prefix are flyte's. Two things a cold process pays on every call are kept warm:

- the event loop: ``asyncio.run`` in the runtime module is served by one loop for the worker's life
  (tasks an attempt leaves behind are cancelled at its end, as ``asyncio.run`` would);
- the controller (the client of the backend's ActionsService, with its own thread and loop): the
  runtime gets a :class:`LazyController` that builds the real one only when the task first calls
  another task (or traces), and stops it at the attempt's end. A leaf task never builds one.

Errors are seen as flyte writes them: ``upload_error`` and ``upload_outputs`` are wrapped so the
worker reports the verdict without reading the prefix back. An exception that escapes the entry
without an error document (a cold ``a0`` would exit non-zero) is written as a recoverable SYSTEM one.
A signal ends the worker as it would end a pod's ``a0``: the pool records the death as the verdict.

If a fork server preload imported flyte, its background loop's thread was not copied by the fork:
it is started again here before flyte is used (``flyte_syncify`` would otherwise hang).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

from ...support.records import Record
from ..errors import SYSTEM, USER, Failure, one_line
from .request import AttemptSpec
from .worker import Outcome, end_with_the_fork_server, import_preloads, next_attempt, set_environ

# flyte reads the backend endpoint for nested calls from this variable (flyte/_initialize.py init_in_cluster).
ENDPOINT_VARIABLE = "_U_EP_OVERRIDE"
# What the open backend's chart sets beside it on every task pod (charts/flyte-binary/templates/configmap.yaml:66-68
# on flyteorg/flyte main): plain HTTP (the in-cluster service has no TLS), and flyte's ActionsService client, the
# only controller service that backend serves (actions/setup.go:76), not the QueueService/StateService pair
# flyte uses without it (flyte/_internal/controllers/remote/_service_protocol.py). The daemon's own environment
# may set them otherwise; a run's environment wins over both.
ENDPOINT_DEFAULTS = {"_U_INSECURE": "true", "_U_USE_ACTIONS": "1"}
# What init_in_cluster and flyte's config entries read from the environment (flyte/_initialize.py, flyte/config/).
CONFIGURATION_PREFIXES = ("_U_", "_UNION", "FLYTE", "UCTL", "EAGER_API_KEY")
PER_ACTION_PREFIXES = ("FLYTE_INTERNAL_", "FLYTE_ATTEMPT")


class Flyte2Setup(Record):
    """What a Flyte 2 worker is for: its code bundle (``""``: the image's code), where it may unpack it,
    and the backend endpoint its tasks' nested calls reach unless a run names its own."""

    __slots__ = ("bundle", "scratch_base", "endpoint")

    def __init__(self, bundle: str, scratch_base: str, endpoint: str | None) -> None:
        self.bundle, self.scratch_base, self.endpoint = bundle, scratch_base, endpoint


class LazyController:
    """The controller ``a0`` passes to the task, built by ``factory`` on first real use."""

    def __init__(self, factory: Any) -> None:
        self._factory = factory
        self._real: Any = None
        self._stopped = False
        self._built = asyncio.Event()

    def _get(self) -> Any:
        if self._real is None:
            self._real = self._factory()
            self._built.set()
        return self._real

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    async def watch_for_errors(self) -> None:
        # a0 runs this beside the task and stops at whichever ends first: it waits until there is a controller.
        await self._built.wait()
        await self._real.watch_for_errors()

    async def finalize_parent_action(self, action_id: Any) -> None:
        if self._real is not None:  # no controller: the task launched no action to finalize
            await self._real.finalize_parent_action(action_id)

    async def stop(self) -> None:
        if self._real is not None and not self._stopped:
            self._stopped = True
            await self._real.stop()


class Flyte2Runtime:
    """flyte loaded once; :meth:`run` is one ``a0`` call with the worker's loop and a lazy controller."""

    def __init__(self) -> None:
        restart_flyte_background_loops()
        import flyte._internal.controllers as controllers
        import flyte._internal.runtime.io as flyte_io
        import flyte._internal.runtime.taskrunner as taskrunner
        from flyte._bin import runtime

        self.runtime, self.controllers = runtime, controllers
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.controller: LazyController | None = None
        self.error: Any = None  # (ExecutionError, recoverable) flyte uploaded during the attempt
        self.outputs: bytes | None = None
        self._patch(runtime, controllers, flyte_io, taskrunner)

    def _patch(self, runtime: Any, controllers: Any, flyte_io: Any, taskrunner: Any) -> None:
        runtime.asyncio = _WarmAsyncio(self._run_on_loop)
        real_create = controllers.create_controller

        def create_lazily(ct: str, **kwargs: Any) -> LazyController:
            self.controller = LazyController(lambda: real_create(ct, **kwargs))
            controllers._ControllerState.controller = self.controller
            return self.controller

        controllers.create_controller = create_lazily
        initialize = sys.modules["flyte._initialize"]
        initialize.init_in_cluster = _init_once_per_configuration(initialize.init_in_cluster)
        upload_error, upload_outputs = flyte_io.upload_error, flyte_io.upload_outputs

        async def recording_upload_error(err: Any, output_prefix: str, recoverable: bool = True) -> str:
            """flyte's upload_error, remembering what it wrote."""
            self.error = (err, recoverable)
            return await upload_error(err, output_prefix, recoverable)

        async def recording_upload_outputs(outputs: Any, output_path: str, max_bytes: int = -1) -> None:
            await upload_outputs(outputs, output_path, max_bytes)
            self.outputs = outputs.proto_outputs.SerializeToString()

        flyte_io.upload_error = taskrunner.upload_error = self._upload_error = recording_upload_error
        flyte_io.upload_outputs = taskrunner.upload_outputs = recording_upload_outputs

    def _run_on_loop(self, coroutine: Any) -> Any:
        try:
            return self.loop.run_until_complete(coroutine)
        finally:
            _cancel_left_tasks(self.loop)

    def run(self, argv: list[str], output_prefix: str) -> dict[str, Any] | None:
        """``a0 argv`` in this process (the environment already set); the failure's fields, ``None`` on success.

        An exception that escapes the entry without an error document (a cold ``a0`` would exit
        non-zero, leaving the backend only a failed pod) is written as a recoverable SYSTEM error
        document, so the attempt's verdict is under its prefix like any other.
        """
        from flyte.models import is_clustered_worker_env

        self.error, self.outputs, self.controller = None, None, None
        escaped: BaseException | None = None
        try:
            context = self.runtime.main.make_context("a0", list(argv))
            self.runtime._run_action(context, controller_enabled=not is_clustered_worker_env(os.environ), **context.params)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a cold a0 would exit non-zero: this attempt's failure
            escaped = exc
        finally:
            self._stop_controller()
        if self.error is None and escaped is not None:
            self._run_on_loop(self._upload_error(_escaped_error(escaped), output_prefix, True))
        return None if self.error is None else _error_fields(*self.error)

    def _stop_controller(self) -> None:
        controller, self.controller = self.controller, None
        self.controllers._ControllerState.controller = None
        if controller is not None:
            try:
                self._run_on_loop(controller.stop())
            except Exception as exc:  # noqa: BLE001 - the verdict is in; a controller that will not stop is logged
                print(f"flytelite: the attempt's controller did not stop cleanly: {one_line(exc)}", file=sys.stderr)


class _WarmAsyncio:
    """The ``asyncio`` module as flyte's runtime sees it, with ``run`` served by the worker's loop."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def _init_once_per_configuration(init_in_cluster: Any) -> Any:
    """``init_in_cluster``, run again only when what it reads changes (it builds the backend's client)."""
    done: dict[tuple[Any, ...], Any] = {}

    def init(org: str | None = None, project: str | None = None, domain: str | None = None, **kwargs: Any) -> Any:
        key = (org, project, domain, os.getcwd(), tuple(sorted(kwargs.items())), _configuration_environ())
        if key not in done:
            done.clear()  # flyte's global configuration is the last init's: only that one may be reused
            done[key] = init_in_cluster(org=org, project=project, domain=domain, **kwargs)
        return done[key]

    return init


def _configuration_environ() -> tuple[tuple[str, str], ...]:
    """The variables that may configure flyte's client (endpoint, credentials, config files), not the action's identity."""
    return tuple(
        sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.startswith(CONFIGURATION_PREFIXES) and not name.startswith(PER_ACTION_PREFIXES) and name != "_U_RUN_BASE"
        )
    )


def _cancel_left_tasks(loop: asyncio.AbstractEventLoop) -> None:
    left = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in left:
        task.cancel()
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))


def restart_flyte_background_loops() -> None:
    """Start again the background loop of flyte's ``syncify`` if this process was forked after it began."""
    module = sys.modules.get("flyte.syncify._api")
    if module is None:
        return
    import gc

    for loop in [obj for obj in gc.get_objects() if isinstance(obj, module._BackgroundLoop)]:
        if not loop.thread.is_alive():
            loop.__init__(loop.thread.name)


def _error_fields(err: Any, recoverable: bool) -> dict[str, Any]:
    # ExecutionError.kind is the document's origin: USER (1) or SYSTEM (2), as in Flyte 1's ErrorKind.
    origin = USER if err.kind == 1 else SYSTEM
    return Failure(err.code or "Unknown", err.message, "", origin, recoverable, time.time()).to_fields()


def _escaped_error(exc: BaseException) -> Any:
    from flyteidl2.core import execution_pb2

    status = exc.code if isinstance(exc, SystemExit) else 1
    message = f"a0 would have exited with status {status}, leaving no error document: {type(exc).__name__}: {one_line(exc)}"
    return execution_pb2.ExecutionError(code=type(exc).__name__, message=message, kind=execution_pb2.ExecutionError.SYSTEM)


def attempt_argv(spec: AttemptSpec, inputs_path: str) -> list[str]:
    """The ``a0`` arguments for ``spec``: its template's, with the request's inputs file and output prefix."""
    argv = list(spec.options["a0_args"])
    argv[argv.index("--inputs") + 1] = inputs_path
    argv[argv.index("--outputs-path") + 1] = spec.options["output_prefix"]
    return argv


def flyte2_worker_main(conn: Any, preload: list[str], setup: Flyte2Setup) -> None:
    """The Flyte 2 worker's loop (the protocol of :func:`.worker.worker_main`).

    It works in the daemon's folder when the image holds the code, as a pod's ``a0`` does in its
    working directory; a worker of a code bundle works in a folder of its own, where ``a0`` unpacks
    the bundle (``--dest .``) on its first attempt, so no two versions share modules or files.
    """
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a stopped a0 dies; the pool records the death
    end_with_the_fork_server()
    scratch = tempfile.mkdtemp(prefix="flytelite-flyte2-", dir=setup.scratch_base)
    if setup.bundle:  # the bundle's folder holds the bundle only; the inputs file stays beside it
        os.mkdir(os.path.join(scratch, "code"))
        os.chdir(os.path.join(scratch, "code"))
    errors: list[str] = []
    try:
        flyte_runtime = Flyte2Runtime()
    except Exception as exc:  # noqa: BLE001 - reported as the worker's start-up error
        errors.append(f"cannot load flyte's runtime: {one_line(exc)}")
    errors += import_preloads(preload) if not errors else []
    conn.send(("ready", errors))
    try:
        if not errors:
            _serve_attempts(conn, flyte_runtime, setup, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _serve_attempts(conn: Any, flyte_runtime: Flyte2Runtime, setup: Flyte2Setup, scratch: str) -> None:
    base_environ, base_cwd, base_path = dict(os.environ), os.getcwd(), list(sys.path)
    if setup.endpoint:
        base_environ[ENDPOINT_VARIABLE] = setup.endpoint  # the run's environment, set over it, may name its own
        base_environ = {**ENDPOINT_DEFAULTS, **base_environ}
    inputs_path = os.path.join(scratch, "inputs.pb")
    while (spec := next_attempt(conn)) is not None:
        with open(inputs_path, "wb") as file:
            file.write(spec.input_bytes)
        set_environ({**base_environ, **spec.environ})
        try:
            failure = flyte_runtime.run(attempt_argv(spec, inputs_path), spec.options["output_prefix"])
        finally:
            set_environ(base_environ)
            os.chdir(base_cwd)
            sys.path[:] = base_path
        outputs = flyte_runtime.outputs if spec.want_outputs and failure is None else None
        conn.send(Outcome(spec.attempt_id, failure, False, outputs))
