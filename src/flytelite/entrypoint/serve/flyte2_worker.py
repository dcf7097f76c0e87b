"""A warm worker for Flyte 2 attempts: flyte's own ``a0`` entry, called in a process that keeps flyte loaded.

The worker is forked from the fork server like any other (which never imports flyte: only this
process does, once, so no flyte thread is ever copied by a fork), then runs attempts through
``flyte._bin.runtime._run_action``, the function a cold ``a0`` calls: the files it leaves under the
output prefix are flyte's. Two things a cold process pays on every call are kept warm:

- the event loop: ``asyncio.run`` in the runtime module is served by one loop per thread for the
  worker's life (tasks an attempt leaves behind are cancelled at its end, as ``asyncio.run`` would);
- the controller (the client of the backend's ActionsService, with its own thread and loop): the
  runtime gets a :class:`LazyController` that builds the real one only when the task first calls
  another task (or traces), and stops it at the attempt's end. A leaf task never builds one.

A reuse policy's ``concurrency`` above 1 runs that many attempts at once (the pool sends them), each
in a thread of its own calling ``_run_action`` with its own loop and controller (the controller
flyte's ``get_controller`` finds is the attempt's: a context variable, copied into the thread flyte
runs a sync task's body in). What is process-wide is shared only where it is the same for all of
them: attempts run together only when their environments are equal but for the action's identity
(:data:`PER_ACTION_VARIABLES`, handed to ``a0`` as its arguments instead, and absent from
``os.environ`` in such a worker: a task reads its identity from ``flyte.ctx()``), and never during
the worker's first attempt (it unpacks the code bundle). The others wait their turn, in order.

Errors are seen as flyte writes them: ``upload_error`` and ``upload_outputs`` are wrapped so the
worker reports the verdict without reading the prefix back. An exception that escapes the entry
without an error document (a cold ``a0`` would exit non-zero) is written as a recoverable SYSTEM one.
A signal ends the worker as it would end a pod's ``a0``: the pool records the death as the verdict.

If a fork server preload imported flyte, its background loop's thread was not copied by the fork:
it is started again here before flyte is used (``flyte_syncify`` would otherwise hang).
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from typing import Any

from ...support.records import Record
from ..errors import SYSTEM, USER, Failure, one_line
from .request import A0_REQUIRED, AttemptSpec
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
# The variables that name the action (a0's click envvars, the identity flytelite adds): the only ones
# concurrent attempts of one worker may differ in.
PER_ACTION_VARIABLES = frozenset({"ACTION_NAME", "RUN_NAME", "_U_RUN_BASE"})
# Identity variables that configure flyte's client (init_in_cluster's project and domain): shared by concurrent attempts.
SHARED_IDENTITY_VARIABLES = frozenset({"FLYTE_INTERNAL_EXECUTION_PROJECT", "FLYTE_INTERNAL_EXECUTION_DOMAIN"})
# The options whose unrendered value _run_action replaces with its variable (flyte/_bin/runtime.py).
UNRENDERED_FALLBACKS = ("--run-name", "--name")


class CancelAttempt(Record):
    """The pool's request to stop one of a worker's concurrent attempts, leaving the others running."""

    __slots__ = ("attempt_id",)

    def __init__(self, attempt_id: str) -> None:
        self.attempt_id = attempt_id


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
    """flyte loaded once; :meth:`run` is one ``a0`` call with its thread's loop and a lazy controller.

    What flyte's runtime hands back for an attempt (the error or outputs it uploaded, its controller)
    is kept per thread: concurrent attempts each run in their own.
    """

    def __init__(self) -> None:
        restart_flyte_background_loops()
        import flyte._internal.controllers as controllers
        import flyte._internal.runtime.io as flyte_io
        import flyte._internal.runtime.taskrunner as taskrunner
        from flyte._bin import runtime

        self.runtime, self.controllers = runtime, controllers
        self._attempt = threading.local()
        asyncio.set_event_loop(self.loop)
        self._init_lock = threading.Lock()  # init_in_cluster sets flyte's global configuration
        self._patch(runtime, controllers, flyte_io, taskrunner)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """This thread's loop, kept for the thread's life."""
        if getattr(self._attempt, "loop", None) is None:
            self._attempt.loop = asyncio.new_event_loop()
        return self._attempt.loop

    @property
    def outputs(self) -> bytes | None:
        """The outputs flyte uploaded in this thread's last attempt."""
        return getattr(self._attempt, "outputs", None)

    def _patch(self, runtime: Any, controllers: Any, flyte_io: Any, taskrunner: Any) -> None:
        runtime.asyncio = _WarmAsyncio(self._run_on_loop)
        real_create = controllers.create_controller
        controllers._ControllerState = _AttemptControllers(controllers._ControllerState.lock)

        def create_lazily(ct: str, **kwargs: Any) -> LazyController:
            self._attempt.controller = LazyController(lambda: real_create(ct, **kwargs))
            controllers._ControllerState.controller = self._attempt.controller
            return self._attempt.controller

        controllers.create_controller = create_lazily
        initialize = sys.modules["flyte._initialize"]
        initialize.init_in_cluster = _init_once_per_configuration(initialize.init_in_cluster, self._init_lock)
        upload_error, upload_outputs = flyte_io.upload_error, flyte_io.upload_outputs

        async def recording_upload_error(err: Any, output_prefix: str, recoverable: bool = True) -> str:
            """flyte's upload_error, remembering what it wrote."""
            self._attempt.error = (err, recoverable)
            return await upload_error(err, output_prefix, recoverable)

        async def recording_upload_outputs(outputs: Any, output_path: str, max_bytes: int = -1) -> None:
            await upload_outputs(outputs, output_path, max_bytes)
            self._attempt.outputs = outputs.proto_outputs.SerializeToString()

        flyte_io.upload_error = taskrunner.upload_error = self._upload_error = recording_upload_error
        flyte_io.upload_outputs = taskrunner.upload_outputs = recording_upload_outputs

    def _run_on_loop(self, coroutine: Any) -> Any:
        loop = self.loop
        try:
            return loop.run_until_complete(coroutine)
        finally:
            _cancel_left_tasks(loop)

    def run(self, argv: list[str], output_prefix: str) -> dict[str, Any] | None:
        """``a0 argv`` in this thread (the environment already set); the failure's fields, ``None`` on success.

        An exception that escapes the entry without an error document (a cold ``a0`` would exit
        non-zero, leaving the backend only a failed pod) is written as a recoverable SYSTEM error
        document, so the attempt's verdict is under its prefix like any other.
        """
        from flyte.models import is_clustered_worker_env

        self._attempt.error, self._attempt.outputs, self._attempt.controller = None, None, None
        escaped: BaseException | None = None
        try:
            context = self.runtime.main.make_context("a0", list(argv))
            # Run in a copy of the worker's context: the controller flyte finds is this attempt's alone.
            contextvars.copy_context().run(
                self.runtime._run_action, context, controller_enabled=not is_clustered_worker_env(os.environ), **context.params
            )
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a cold a0 would exit non-zero: this attempt's failure
            escaped = exc
        finally:
            self._stop_controller()
        if self._attempt.error is None and escaped is not None:
            self._run_on_loop(self._upload_error(_escaped_error(escaped), output_prefix, True))
        return None if self._attempt.error is None else _error_fields(*self._attempt.error)

    def _stop_controller(self) -> None:
        controller, self._attempt.controller = self._attempt.controller, None
        self.controllers._ControllerState.forget(controller)
        if controller is not None:
            try:
                self._run_on_loop(controller.stop())
            except Exception as exc:  # noqa: BLE001 - the verdict is in; a controller that will not stop is logged
                print(f"flytelite: the attempt's controller did not stop cleanly: {one_line(exc)}", file=sys.stderr)


class _AttemptControllers:
    """flyte's ``_ControllerState`` (one controller per process) made one per attempt.

    ``get_controller`` reads ``_ControllerState.controller``: here the attempt's context's (the
    attempt's thread, the tasks of its loop, the thread flyte runs a sync body in, each a copy of
    it), else the one set last, which is the only one while attempts run one at a time.
    """

    def __init__(self, lock: Any) -> None:
        self.lock = lock  # flyte's, which create_controller holds while it sets the controller
        self._current: contextvars.ContextVar[Any] = contextvars.ContextVar("flytelite_attempt_controller", default=None)
        self._last: Any = None

    @property
    def controller(self) -> Any:
        current = self._current.get()
        return self._last if current is None else current

    @controller.setter
    def controller(self, value: Any) -> None:
        self._current.set(value)
        self._last = value

    def forget(self, controller: Any) -> None:
        """``controller``'s attempt ended: the process-wide fallback no longer names it."""
        if self._last is controller:
            self._last = None


class _WarmAsyncio:
    """The ``asyncio`` module as flyte's runtime sees it, with ``run`` served by the worker's loop."""

    def __init__(self, run: Any) -> None:
        self.run = run

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def _init_once_per_configuration(init_in_cluster: Any, lock: threading.Lock) -> Any:
    """``init_in_cluster``, run again only when what it reads changes (it builds the backend's client)."""
    done: dict[tuple[Any, ...], Any] = {}

    def init(org: str | None = None, project: str | None = None, domain: str | None = None, **kwargs: Any) -> Any:
        key = (org, project, domain, os.getcwd(), tuple(sorted(kwargs.items())), _configuration_environ())
        with lock:  # concurrent attempts share one configuration (their environments are equal): one builds it
            if key not in done:
                done.clear()  # flyte's global configuration is the last init's: only that one may be reused
                done[key] = init_in_cluster(org=org, project=project, domain=domain, **kwargs)
            return done[key]

    return init


def _configuration_environ() -> tuple[tuple[str, str], ...]:
    """The variables that may configure flyte's client (endpoint, credentials, config files), not the action's identity."""
    return tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith(CONFIGURATION_PREFIXES) and not is_per_action(name)))


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(loop):
        task.cancel()


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
    attempts = _ConcurrentAttempts(_LockedConnection(conn), flyte_runtime, base_environ, base_cwd, base_path, scratch)
    while (spec := next_attempt(attempts.conn)) is not None:
        if isinstance(spec, CancelAttempt):
            attempts.cancel(spec.attempt_id)
        elif spec.options.get("concurrency", 1) > 1:
            attempts.start(spec)
        else:  # the pool sends it alone: run as a cold a0 would, with the whole environment
            attempts.conn.send(_run_alone(spec, flyte_runtime, base_environ, base_cwd, base_path, os.path.join(scratch, "inputs.pb")))
    attempts.join()


def _run_alone(spec: AttemptSpec, flyte_runtime: Flyte2Runtime, base_environ: dict[str, str], base_cwd: str, base_path: list[str], inputs_path: str) -> Outcome:
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
    return Outcome(spec.attempt_id, failure, False, outputs)


class _LockedConnection:
    """The worker's pipe, sent to by the thread of each attempt: one message at a time."""

    def __init__(self, conn: Any) -> None:
        self._conn, self._lock = conn, threading.Lock()

    def recv(self) -> Any:
        return self._conn.recv()

    def send(self, message: Any) -> None:
        with self._lock:
            self._conn.send(message)


class _ConcurrentAttempts:
    """Attempts of a reuse policy with ``concurrency`` above 1, each in a thread, admitted in order.

    An attempt joins those running only when its shared environment (:func:`shared_environ`) is
    theirs and the worker has finished an attempt before (the first unpacks the code bundle and
    imports the task); otherwise it waits until none runs. The process's environment is the
    running group's, without the per-action variables; it, the working directory and ``sys.path``
    are restored when the last one ends.
    """

    def __init__(self, conn: _LockedConnection, flyte_runtime: Flyte2Runtime, base_environ: dict[str, str], base_cwd: str, base_path: list[str], scratch: str) -> None:
        self.conn, self.runtime = conn, flyte_runtime
        self.base_environ, self.base_cwd, self.base_path, self.scratch = base_environ, base_cwd, base_path, scratch
        self._turn = threading.Condition()
        self._tickets = self._serving = self._running = 0
        self._passed: set[int] = set()  # tickets admitted or skipped (cancelled) while an earlier one still waited
        self._environ: dict[str, str] | None = None
        self._warm = False
        self._threads: list[threading.Thread] = []
        self._loops: dict[str, asyncio.AbstractEventLoop] = {}  # the loop each running attempt's thread runs
        self._cancelled: set[str] = set()

    def start(self, spec: AttemptSpec) -> None:
        with self._turn:
            ticket, self._tickets = self._tickets, self._tickets + 1
        thread = threading.Thread(target=self._run, args=(spec, ticket), name=f"flytelite-attempt-{ticket}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _run(self, spec: AttemptSpec, ticket: int) -> None:
        try:
            self._run_to_outcome(spec, ticket)
        except BaseException as exc:  # noqa: BLE001 - no verdict could be sent: the pool records the death as each attempt's
            print(f"flytelite: attempt {spec.attempt_id} ended without a verdict: {one_line(exc)}", file=sys.stderr)
            os._exit(1)

    def cancel(self, attempt_id: str) -> None:
        """Cancel ``attempt_id``'s asyncio tasks on its thread's loop (or skip it, not yet started); the others run on.

        A sync task's body, in the thread flyte runs it in, cannot be stopped: it runs on, its result unused.
        """
        with self._turn:
            # Unknown here: its spec is still on its way (the pool claims, then sends), or it has ended
            # and its verdict is on its way; remembered for the first case (the second's id never comes back).
            self._cancelled.add(attempt_id)
            loop = self._loops.get(attempt_id)
            self._turn.notify_all()
        if loop is not None:
            loop.call_soon_threadsafe(_cancel_tasks, loop)

    def _run_to_outcome(self, spec: AttemptSpec, ticket: int) -> None:
        attempt_id = spec.attempt_id
        if not self._enter(ticket, shared_environ(spec.environ), attempt_id):
            self.conn.send(Outcome(attempt_id, None, True, None))  # cancelled before its turn
            return
        inputs_path = os.path.join(self.scratch, f"inputs-{ticket}.pb")
        failure, outputs, terminated = None, None, False
        try:
            with open(inputs_path, "wb") as file:
                file.write(spec.input_bytes)
            failure = self.runtime.run(concurrent_attempt_argv(spec, inputs_path), spec.options["output_prefix"])
            outputs = self.runtime.outputs if spec.want_outputs and failure is None else None
        except asyncio.CancelledError:
            if attempt_id not in self._cancelled:
                raise
            terminated = True
        finally:
            os.unlink(inputs_path)
            self._leave(attempt_id)
        self.conn.send(Outcome(attempt_id, None if terminated else failure, terminated, outputs))

    def _enter(self, ticket: int, environ: dict[str, str], attempt_id: str) -> bool:
        """Wait for ``ticket``'s turn and room beside the running attempts; False when it was cancelled meanwhile
        (at once: a cancelled attempt waits for no other)."""
        with self._turn:
            self._turn.wait_for(
                lambda: attempt_id in self._cancelled or (self._serving == ticket and (self._running == 0 or (self._warm and environ == self._environ)))
            )
            self._passed.add(ticket)
            while self._serving in self._passed:
                self._passed.remove(self._serving)
                self._serving += 1
            self._turn.notify_all()
            if attempt_id in self._cancelled:
                self._cancelled.discard(attempt_id)
                return False
            if self._running == 0:
                self._environ = environ
                set_environ({**self.base_environ, **environ})
            self._running += 1
            self._loops[attempt_id] = self.runtime.loop
            return True

    def _leave(self, attempt_id: str) -> None:
        with self._turn:
            if sys.path.count(".") > self.base_path.count("."):
                sys.path.remove(".")  # the one _run_action put first: sys.path would grow while attempts overlap
            del self._loops[attempt_id]
            self._cancelled.discard(attempt_id)
            self._running -= 1
            self._warm = True
            if self._running == 0:
                set_environ(self.base_environ)
                os.chdir(self.base_cwd)
                sys.path[:] = self.base_path
                self._environ = None
            self._turn.notify_all()


def is_per_action(name: str) -> bool:
    """Whether variable ``name`` names the action (its run, attempt, task) rather than configuring flyte."""
    return name in PER_ACTION_VARIABLES or (name.startswith(PER_ACTION_PREFIXES) and name not in SHARED_IDENTITY_VARIABLES)


def shared_environ(environ: dict[str, str]) -> dict[str, str]:
    """An attempt's environment without its per-action variables: what concurrent attempts must agree on."""
    return {name: value for name, value in environ.items() if not is_per_action(name)}


def concurrent_attempt_argv(spec: AttemptSpec, inputs_path: str) -> list[str]:
    """:func:`attempt_argv`, with the options a0 would read from per-action variables given as arguments."""
    argv = attempt_argv(spec, inputs_path)
    for option in UNRENDERED_FALLBACKS:  # _run_action reads the variable for an unrendered "{{...}}"
        if option in argv and argv[argv.index(option) + 1].startswith("{{") and A0_REQUIRED[option] in spec.environ:
            argv[argv.index(option) + 1] = spec.environ[A0_REQUIRED[option]]
    named = [f"{option}={spec.environ[variable]}" for option, variable in A0_REQUIRED.items() if is_per_action(variable) and option not in argv and variable in spec.environ]
    return [*argv[: argv.index("--")], *named, *argv[argv.index("--") :]]
