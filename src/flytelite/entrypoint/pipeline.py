"""One attempt of a task, as a pipeline of small steps over an :class:`Attempt`.

``load -> fetch -> decode -> run -> encode -> offload -> store``: each step reads and fills fields
of the attempt and can be called (and tested) alone. A step that fails because of the user's code
or data raises :class:`UserCodeError`; anything else is the runtime's or the storage's fault.
``execute`` runs the steps and, whatever happens, leaves exactly one verdict under the output
prefix (the files and the recording of a failure are :mod:`.verdict`'s).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from typing import Any, Callable, Mapping


from .. import io
from ..support.records import Record
from ..support.log_routing import route_stdlib_logging
from ..support.logs import bind_identity, get_logger, identity_scope
from ..runtime.context import ExecutionContext, ExecutionIdentity, TaskIdentity
from ..model.contract import BaseTask, blob_paths_of
from ..support.scratch import make_attempt_directory, make_working_directory, remove_private_directory
from ..types import BlobPaths
from ..support.exceptions import IgnoreOutputs, TaskError, TerminatedError
from . import verdict
from .debugging import post_mortem
from .errors import Failure, UserCodeError, one_line
from .settings import AttemptSettings
from .signals import accept_held_sigterm, deciding_verdict, task_timeout, terminate_on_sigterm

log = get_logger("flytelite.execute")



def _given(value: str | None) -> str | None:
    """``value``, or ``None`` for unrendered placeholders (``{{.input}}``) and empty quotes."""
    if value is None or value.strip() in ("", '""', "''") or ("{{" in value and "}}" in value):
        return None
    return value


class ExecuteArgs(Record):
    """The execute command's options; absent and unrendered optional values become ``None``."""

    __slots__ = (
        "inputs",
        "output_prefix",
        "raw_output_data_prefix",
        "checkpoint_path",
        "prev_checkpoint",
        "resolver",
        "dynamic_addl_distro",
        "dynamic_dest_dir",
        "test",
        "pdb",
        "loader_args",
        "in_process",
    )

    def __init__(
        self,
        inputs: str,
        output_prefix: str,
        raw_output_data_prefix: str | None = None,
        checkpoint_path: str | None = None,
        prev_checkpoint: str | None = None,
        resolver: str | None = None,
        dynamic_addl_distro: str | None = None,
        dynamic_dest_dir: str | None = None,
        test: bool = False,
        pdb: bool = False,
        loader_args: tuple[str, ...] = (),
        in_process: bool = False,
    ) -> None:
        self.inputs, self.output_prefix = inputs, output_prefix
        self.raw_output_data_prefix = _given(raw_output_data_prefix)
        self.checkpoint_path = _given(checkpoint_path)
        self.prev_checkpoint = _given(prev_checkpoint)
        self.resolver = _given(resolver)
        self.dynamic_addl_distro = _given(dynamic_addl_distro)
        self.dynamic_dest_dir = _given(dynamic_dest_dir)
        self.test = bool(test)
        self.pdb = bool(pdb)  # or FLYTELITE_PDB: a post-mortem debugger on the user's exception, on a terminal
        self.loader_args = tuple(loader_args)
        # `flytelite run`: a dynamic task runs its calls here instead of writing futures.pb
        self.in_process = in_process


class Attempt:
    """What the steps know so far about one attempt."""

    def __init__(self, args: ExecuteArgs, environ: Mapping[str, str] | None = None) -> None:
        self.args = args
        self.environ = os.environ if environ is None else environ
        self.ctx: ExecutionContext | None = None
        self.task: BaseTask = None  # type: ignore[assignment]  # set by load_task
        self.input_bytes: bytes | None = None  # the serialized inputs LiteralMap
        self.inputs: dict[str, Any] | None = None
        self.rval: Any = None
        self.outputs: dict[str, Any] | None = None  # the return value packed by output name
        self.output_literals: dict[str, bytes] = {}  # serialized Literal per output name
        self.offloaded: dict[str, bytes] = {}  # file name -> serialized Literal stored beside outputs.pb
        self.futures: bytes | None = None  # a dynamic task's serialized DynamicJobSpec, written instead of outputs
        self.timings: list[tuple[str, float, float]] = []
        self.failure: Failure | None = None  # what the error document records, once written
        self.owner_pid = os.getpid()  # a process the task forks never writes this attempt's verdict

    @functools.cached_property
    def settings(self) -> AttemptSettings:
        """The attempt's variables, resolved once, when first needed: a serve worker sets the attempt's
        environment after building it, and the first step (``build_context``) reads them."""
        return AttemptSettings.from_environ(self.environ)

    def output_uri(self, name: str) -> str:
        return io.join(self.args.output_prefix, name)

    def blob_paths(self) -> BlobPaths | None:
        """Where codecs store blobs: the attempt's folders (``None``, a private folder, before there is a context)."""
        return None if self.ctx is None else blob_paths_of(self.ctx)


# --- steps --------------------------------------------------------------------------------------

Step = Callable[[Attempt], None]


def step(label: str) -> Callable[[Step], Step]:
    """Name a step as the deck's timeline shows it."""

    def labelled(fn: Step) -> Step:
        fn.label = label  # type: ignore[attr-defined]
        return fn

    return labelled


@step("preparing the context")
def build_context(attempt: Attempt) -> None:
    args, environ = attempt.args, attempt.environ
    # Bound first, so that every line of the attempt (the warning below included) carries it.
    execution_id, task_id = ExecutionIdentity.from_env(environ), TaskIdentity.from_env(environ)
    bind_identity(execution=execution_id.name, project=execution_id.project, domain=execution_id.domain, task=task_id.name)
    if attempt.settings.problems:
        raise TaskError(f"malformed settings: {'; '.join(attempt.settings.problems)}", origin="SYSTEM")
    raw = args.raw_output_data_prefix
    # Without a raw prefix the folder holds the outputs and is kept; else it is removed at the end,
    # or by a later attempt if this one is killed.
    working_directory = make_working_directory() if raw is None else make_attempt_directory()
    if raw is None:
        raw = os.path.join(working_directory, "raw")
        log.warning("no raw output prefix given: offloaded data goes to a local folder", raw_output_prefix=raw)
    attempt.ctx = ExecutionContext(
        execution_id=execution_id,
        task_id=task_id,
        working_directory=working_directory,
        raw_output_prefix=raw,
        checkpoint=_checkpoint(args, working_directory),
    )


def _checkpoint(args: ExecuteArgs, working_directory: str) -> Any:
    if args.checkpoint_path is None:
        return None
    from ..runtime.checkpoint import Checkpoint

    return Checkpoint(args.checkpoint_path, args.prev_checkpoint, os.path.join(working_directory, "checkpoint"))


@step("installing runtime packages")
def install_runtime_packages(attempt: Attempt) -> None:
    """Install ``_F_RUNTIME_PACKAGES`` with this interpreter's pip before the task is loaded."""
    packages = attempt.settings.runtime_packages
    if not packages:
        return
    import importlib
    import subprocess

    log.info("installing runtime packages", packages=packages)
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--no-input", *packages], capture_output=True, text=True)
    if result.returncode != 0:
        last_lines = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise TaskError(f"could not install _F_RUNTIME_PACKAGES ({' '.join(packages)}): pip exited {result.returncode}", last_lines, origin="SYSTEM")
    importlib.invalidate_caches()  # the import system's directory listings predate the install


@step("loading the task")
def load_task(attempt: Attempt) -> None:
    from ..resolvers import load_resolver

    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    if attempt.args.dynamic_dest_dir and attempt.args.dynamic_dest_dir not in sys.path:
        sys.path.insert(0, attempt.args.dynamic_dest_dir)
    resolver_path = attempt.args.resolver
    loader_args = list(attempt.args.loader_args)
    what = " ".join(loader_args) or "(no loader args)"
    try:
        resolver = load_resolver(resolver_path)
        attempt.task = resolver.load_task(loader_args)
    except (Exception, SystemExit) as exc:  # sys.exit() in user code must not skip the error document
        post_mortem(exc, attempt.args.pdb, attempt.environ)
        summary = f"could not load the task ({what}) with resolver {resolver_path or 'default'}: {one_line(exc)}"
        raise UserCodeError(summary, exc) from exc
    if not isinstance(attempt.task, BaseTask):
        exc = TypeError(f"{_what_is(attempt.task)} is not a flytelite task (decorate the function with @task)")
        raise UserCodeError(f"could not load the task ({what}): {exc}", exc)
    _enable_decks(attempt)


def _enable_decks(attempt: Attempt) -> None:
    if attempt.ctx is not None:
        attempt.ctx.enable_deck = attempt.task.enable_deck


def _what_is(value: Any) -> str:
    return f"{type(value).__name__} {getattr(value, '__qualname__', repr(value))[:80]}"


@step("reading inputs")
def fetch_inputs(attempt: Attempt) -> None:
    if attempt.input_bytes is None:  # a daemon's request carries the inputs itself
        attempt.input_bytes = io.read_bytes(attempt.args.inputs)


@step("decoding inputs")
def decode_inputs(attempt: Attempt) -> None:
    from ..types import InterfaceMismatch, MalformedLiteral, UnsupportedType

    try:
        attempt.inputs = attempt.task.decode_inputs(attempt.input_bytes, attempt.blob_paths())
    except MalformedLiteral as exc:
        size = len(attempt.input_bytes or b"")
        raise TaskError(f"the inputs file {attempt.args.inputs} is not a LiteralMap ({size} bytes): {exc}", origin="SYSTEM") from exc
    except (InterfaceMismatch, UnsupportedType) as exc:
        raise UserCodeError(f"the inputs do not fit {attempt.task.name}: {exc}", exc) from exc
    attempt.input_bytes = None  # decoded: a large input must not be held twice while the task runs


@step("running the task")
def run_task(attempt: Attempt) -> None:
    task = attempt.task
    try:
        with task_timeout(task.metadata.timeout):
            _run_or_compile(attempt)
    except (IgnoreOutputs, TerminatedError):
        raise
    except (Exception, SystemExit) as exc:  # sys.exit() in the task must not skip the error document
        post_mortem(exc, attempt.args.pdb, attempt.environ)
        raise UserCodeError(f"{task.name} failed: {one_line(exc)}", exc) from exc


def _run_or_compile(attempt: Attempt) -> None:
    """Run the task; a dynamic task's calls become ``attempt.futures`` instead."""
    task, args = attempt.task, attempt.args
    if args.in_process:
        attempt.rval = task.run_hooks(attempt.ctx, attempt.inputs)
        return
    attempt.futures, attempt.rval = task.compile_futures(attempt.ctx, attempt.inputs, attempt.environ, args.dynamic_addl_distro, args.dynamic_dest_dir)


@step("encoding outputs")
def encode_outputs(attempt: Attempt) -> None:
    from ..types import InterfaceMismatch, UnsupportedType

    task = attempt.task
    if attempt.futures is not None:
        return
    try:
        attempt.outputs = task.python_interface.pack_outputs(attempt.rval)
        attempt.output_literals = task.encode_outputs(attempt.outputs, attempt.blob_paths())
    except (InterfaceMismatch, UnsupportedType) as exc:
        raise UserCodeError(f"the outputs of {attempt.task.name} do not fit its interface: {exc}", exc) from exc


@step("offloading large outputs")
def offload_outputs(attempt: Attempt) -> None:
    settings = attempt.settings
    if settings.offload_min_mb is None or attempt.futures is not None:
        return
    from .offload import OutputTooLarge, offload_large_literals

    output_types = attempt.task.interface.outputs.variables
    try:
        attempt.offloaded = offload_large_literals(
            attempt.output_literals, output_types, attempt.output_uri, settings.offload_min_mb, settings.offload_max_mb
        )
    except OutputTooLarge as exc:
        raise UserCodeError(f"an output of {attempt.task.name} is too large: {exc}", exc) from exc


@step("writing outputs")
def store_outputs(attempt: Attempt) -> None:
    from ..types import literal_map_bytes

    _end_forked_child(attempt, 0)
    if attempt.futures is not None:
        deciding_verdict()
        io.write_bytes(attempt.output_uri(verdict.FUTURES_FILE), attempt.futures)
        return
    for filename, data in attempt.offloaded.items():
        io.write_bytes(attempt.output_uri(filename), data)
    outputs = literal_map_bytes(attempt.output_literals)
    # Written last, only once everything it refers to is stored: the attempt's commit point.
    deciding_verdict()
    io.write_bytes(attempt.output_uri(verdict.OUTPUTS_FILE), outputs)


def _source_code(task: BaseTask) -> str | None:
    import inspect

    try:
        return inspect.getsource(task.function)
    except (OSError, TypeError):  # a pickled notebook task, a built-in: nothing to show
        return None


@step("writing the deck")
def write_deck(attempt: Attempt, error: str | None = None) -> None:
    """Upload ``deck.html`` when the task enables decks; a deck that cannot be written is only logged."""
    if attempt.ctx is None or not attempt.ctx.enable_deck:
        return
    from ..runtime import deck

    task = attempt.task
    try:
        outputs = attempt.outputs if error is None else None
        decks = deck.build_decks(
            task.name, attempt.inputs, outputs, attempt.timings, attempt.ctx.decks, error,
            fields=task.deck_fields, source_code=_source_code(task),
        )
        deck.write_deck(attempt.args.output_prefix, deck.render_page(decks, task.name))
    except Exception as exc:  # noqa: BLE001 - the deck is a report, never the verdict
        log.warning("could not write the deck", error=one_line(exc))


EXECUTE_STEPS: tuple[Step, ...] = (
    build_context,
    install_runtime_packages,
    load_task,
    fetch_inputs,
    decode_inputs,
    run_task,
    encode_outputs,
    offload_outputs,
    store_outputs,
    write_deck,
)
TEST_STEPS = (build_context, install_runtime_packages, load_task, fetch_inputs, decode_inputs)


# --- running the steps -------------------------------------------------------------------


def _run_steps(attempt: Attempt, steps: tuple[Step, ...]) -> None:
    for step in steps:
        started = time.time()
        try:
            step(attempt)
        finally:  # the failing step too: the deck's timeline shows where the time went
            attempt.timings.append((step.label, started, time.time()))  # type: ignore[attr-defined]


def run_execute(options: dict[str, Any], map_task: bool = False) -> int:
    """``execute`` (or ``map-execute``, whose resolver defaults to the map-task one) from parsed options."""
    options = dict(options, loader_args=tuple(options.get("loader_args", ())))
    if map_task and _given(options.get("resolver")) is None:
        from ..model.map_task import MAP_RESOLVER

        options["resolver"] = MAP_RESOLVER
    return execute(ExecuteArgs(**options))


def execute(args: ExecuteArgs, environ: Mapping[str, str] | None = None) -> int:
    """Run one attempt and leave its verdict under the output prefix; returns the exit status."""
    attempt = Attempt(args, environ)
    try:
        return run_to_verdict(attempt)
    finally:
        remove_working_directory(attempt)


def run_to_verdict(attempt: Attempt) -> int:
    """Run the attempt's steps and record its verdict; the exit status. The scratch folder is the caller's to remove.

    An attempt given ``input_bytes`` (a warm worker's, whose request carries the inputs) does not read ``--inputs``.
    """
    with identity_scope():  # the identity build_context binds is the attempt's only
        status = _execute(attempt)
    _end_forked_child(attempt, status)
    return status


def _end_forked_child(attempt: Attempt, status: int) -> None:
    """A process the task forked has come back into flytelite: the attempt is its parent's, so it leaves."""
    if os.getpid() == attempt.owner_pid:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    os._exit(status)  # no clean-up of the parent's scratch folder, no verdict


def _execute(attempt: Attempt) -> int:
    route_stdlib_logging()  # from the start: the storage layer's progress lines while the inputs download
    with terminate_on_sigterm():
        try:
            accept_held_sigterm()  # inside the try: a SIGTERM sent before the attempt began ends it with a document
            _run_steps(attempt, TEST_STEPS if attempt.args.test else EXECUTE_STEPS)
        except IgnoreOutputs:
            deciding_verdict()  # the verdict is "nothing"
            log.info("the task asked to ignore its outputs: nothing is written")
            return 0
        except KeyboardInterrupt:  # SIGINT (docker run, a terminal): stopped from outside, like SIGTERM
            return fail(attempt, TerminatedError("SIGINT"))
        except (Exception, TerminatedError) as exc:  # every failure must end in an error document
            return fail(attempt, exc)
    if attempt.args.test:
        _report_test(attempt)
    return 0


def remove_working_directory(attempt: Attempt) -> None:
    """Remove the attempt's scratch folder, unless it holds the (fallback) raw output prefix."""
    ctx = attempt.ctx
    if ctx is None or attempt.args.raw_output_data_prefix is None:
        return
    remove_private_directory(ctx.working_directory)


def fail(attempt: Attempt, exc: BaseException) -> int:
    """Record ``exc`` as the attempt's error document (and deck); returns the exit status."""
    deciding_verdict()
    _end_forked_child(attempt, 1)
    test = attempt.args.test
    then = None if test else (lambda failure: write_deck(attempt, error=failure.message))
    attempt.failure, status = verdict.fail(attempt.args.output_prefix, exc, attempt.settings, test=test, then=then)
    return status


def _report_test(attempt: Attempt) -> None:
    names = ", ".join(f"{k}={type(v).__name__}" for k, v in (attempt.inputs or {}).items())
    print(f"loaded {attempt.task.name}; inputs decoded: {names or '(none)'}; nothing was written")

