"""A warm worker: a process forked from a parent that already imported the task's modules.

It runs one attempt at a time through the same pipeline as ``flytelite execute`` (so the files
under the output prefix are the ones a pod would leave) and reports an :class:`Outcome` to the
server. Between attempts it restores the environment and the working directory; imports and
module globals persist, which is the point. SIGTERM ends an attempt with the same error document
``execute`` leaves (one sent as the attempt begins is held until the pipeline can record it); the
worker then exits, since the task was stopped at an arbitrary point and its module state can no
longer be trusted.

A worker started for a fast-registered code version imports from that version's folder only: the
folder goes first on ``sys.path`` and the modules it provides are dropped from what the fork server
had imported (a ``--preload`` of the image's copy, say), so the version's own are imported instead.
Modules flytelite itself ran on before any preload (the standard library, flytelite, its
dependencies) are never dropped. Such a worker only ever runs that version.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import Any

from ...support.logs import identity_scope
from ...support.records import Record
from ...types import literal_map_bytes
from ..errors import one_line
from ..pipeline import Attempt, ExecuteArgs, remove_working_directory, run_to_verdict
from ..signals import hold_sigterm
from .request import AttemptSpec

TERMINATED_STATUS = 128 + signal.SIGTERM
STARTED = "started"  # the worker's acknowledgement that it took an attempt
# Imported first in the fork server, before the preloads: what is loaded now is what flytelite runs on.
RUNTIME_PACKAGES = frozenset(name.partition(".")[0] for name in sys.modules)


class Outcome(Record):
    """How an attempt ended, as the worker saw it; ``failure`` is ``None`` on success (and ``IgnoreOutputs``)."""

    __slots__ = ("attempt_id", "failure", "terminated", "outputs")

    def __init__(self, attempt_id: str, failure: dict[str, Any] | None, terminated: bool, outputs: bytes | None) -> None:
        self.attempt_id, self.failure, self.terminated, self.outputs = attempt_id, failure, terminated, outputs


def import_preloads(modules: list[str]) -> list[str]:
    """Import ``modules`` (already imported by the warm parent, when it could); the errors, one per module."""
    errors = []
    for name in modules:
        try:
            importlib.import_module(name)
        except (Exception, SystemExit) as exc:  # a preload that fails must stop the daemon, not kill it
            errors.append(f"cannot import {name}: {one_line(exc)}")
    return errors


def use_code(code_dir: str) -> None:
    """Make ``code_dir`` (an unpacked code archive) the source of every module it provides."""
    provided = {entry.partition(".")[0] for entry in os.listdir(code_dir) if entry != "__pycache__"}
    provided -= RUNTIME_PACKAGES
    for name in [name for name in sys.modules if name.partition(".")[0] in provided]:
        del sys.modules[name]
    # execute puts the working directory on sys.path when it is absent: after the code, not before it.
    for path in (os.getcwd(), ""):
        if path in sys.path:
            sys.path.remove(path)
    sys.path[:0] = [code_dir, os.getcwd()]
    importlib.invalidate_caches()


def worker_main(conn: Any, preload: list[str], code_dir: str | None = None) -> None:
    """The worker's loop: receive an :class:`AttemptSpec`, run it, send its :class:`Outcome`; ``None`` ends it.

    ``code_dir``: the unpacked fast-registered code this worker runs (``None``: the daemon's own).
    """
    # SIGTERM is held between attempts: one sent as an attempt begins reaches it once the pipeline
    # can record it (accept_held_sigterm); one that arrives after the verdict is dropped (hold_sigterm).
    hold_sigterm()
    end_with_the_fork_server()
    if code_dir is not None:
        use_code(code_dir)
    # A version's copy of a preload is imported by the attempt that needs it: its failure is that attempt's.
    errors = import_preloads(preload) if code_dir is None else []
    conn.send(("ready", errors))
    if errors:
        return
    base_environ, base_cwd = dict(os.environ), os.getcwd()
    while (spec := next_attempt(conn)) is not None:
        attempt = Attempt(ExecuteArgs(**spec.options))
        attempt.input_bytes = spec.input_bytes
        outcome = run_spec(spec, attempt, base_environ, base_cwd)
        conn.send(outcome)
        # After the verdict is reported: removing a folder costs milliseconds on some disks.
        remove_working_directory(attempt)
        if outcome.terminated:
            return


def next_attempt(conn: Any) -> Any:
    """The next message from the server: an attempt (acknowledged), a Flyte 2 worker's cancel; ``None``
    when the worker is to end (or the server is gone)."""
    try:
        message = conn.recv()
    except EOFError:
        return None
    if isinstance(message, AttemptSpec):
        conn.send(STARTED)  # from here on, a death of this worker is the attempt's failure
    return message


def end_with_the_fork_server() -> None:
    """SIGTERM when the fork server exits (it does when the daemon dies, even by SIGKILL).

    A worker left running after its daemon could commit a verdict after another replica declared the
    attempt lost; SIGTERM ends its attempt with execute's document instead, at once. The fork server
    exits once no process holds the write end of its "alive" pipe, which multiprocessing hands to
    every child: the worker closes its copy.
    """
    import ctypes
    from multiprocessing import forkserver

    alive_fd = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if alive_fd is not None:
        os.close(alive_fd)
        forkserver._forkserver._forkserver_alive_fd = None

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass  # not Linux: the daemon's liveness record still bounds the wait for a verdict
    if os.getppid() == 1:  # the fork server died before the call above
        os.kill(os.getpid(), signal.SIGTERM)


def run_spec(spec: AttemptSpec, attempt: Attempt, base_environ: dict[str, str], base_cwd: str) -> Outcome:
    """Run ``attempt`` in the environment a pod would give it, then restore the worker's."""
    set_environ({**base_environ, **spec.environ})
    dest_dir = spec.options.get("dynamic_dest_dir")
    if dest_dir and dest_dir not in sys.path:
        sys.path.append(dest_dir)  # execute would put it first; the code comes from this worker's version
    try:
        with identity_scope(attempt=spec.attempt_id):
            exit_status = run_to_verdict(attempt)
    finally:
        hold_sigterm()
        set_environ(base_environ)
        os.chdir(base_cwd)
    failure = attempt.failure
    # A dynamic parent's answer is its futures.pb: outputs in the reply would stand beside it.
    outputs = literal_map_bytes(attempt.output_literals) if spec.want_outputs and failure is None and attempt.futures is None else None
    return Outcome(spec.attempt_id, None if failure is None else failure.to_fields(), exit_status == TERMINATED_STATUS, outputs)


def set_environ(values: dict[str, str]) -> None:
    for name in [name for name in os.environ if name not in values]:
        del os.environ[name]
    for name, value in values.items():
        if os.environ.get(name) != value:
            os.environ[name] = value
