"""What runs inside each torch elastic worker process.

Kept small on purpose: a spawned worker imports this module, ``flytelite.runtime.context`` and
cloudpickle, then the task function's own modules, and nothing else of flytelite (no entrypoint, no type engine,
no logging set-up). Torch itself is imported by the task function, not here.

A worker that raises writes one JSON record to the file torch elastic names in
``TORCHELASTIC_ERROR_FILE`` (torch's own layout, so that torch reads it back into its
``ProcessFailure``), with our fields under :data:`RECORD_KEY`, and exits with status 1.
Global rank 0 leaves its return value and decks in ``WorkerJob.result_path``.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import time
from types import TracebackType
from typing import Any, Callable, NamedTuple

import cloudpickle

from flytelite.runtime.context import ExecutionContext, use_context

RECORD_KEY = "flytelite"  # our part of a torch elastic error file


class WorkerJob(NamedTuple):
    """Everything a worker needs: the function, its inputs, the parent's context (without decks), where rank 0 reports."""

    fn: Callable[..., Any]
    kwargs: dict[str, Any]
    context: ExecutionContext
    result_path: str


class WorkerResult(NamedTuple):
    """What global rank 0 hands back to the agent."""

    return_value: Any
    decks: list[Any]


def run(job: WorkerJob) -> None:
    """Run the task function as this worker's rank; rank 0 writes the result file."""
    _restore_default_signal_handlers()
    _apply_thread_limit()
    rank = int(os.environ.get("RANK", "0"))
    ctx = job.context
    _give_rank_its_own_folder(ctx, rank)
    with use_context(ctx):
        try:
            value = job.fn(**job.kwargs)
        except Exception as exc:
            # Drop this frame: the traceback starts in the user's function.
            _record_failure(exc, exc.__traceback__.tb_next if exc.__traceback__ else None)
            raise SystemExit(1) from None  # SystemExit: torch's @record leaves our error file alone
    if rank == 0:
        _write_atomically(job.result_path, cloudpickle.dumps(WorkerResult(value, ctx.decks)))


def save_job(job: WorkerJob, path: str) -> None:
    """Write ``job`` for a spawned worker, with the parent's ``sys.path`` readable before the job itself."""
    with open(path, "wb") as f:
        pickle.dump((list(sys.path), cloudpickle.dumps(job)), f)


def main(job_path: str) -> None:
    """Entry of a spawned worker: load the job written by :func:`save_job` and run it."""
    try:
        with open(job_path, "rb") as f:
            parent_sys_path, job_bytes = pickle.load(f)
        sys.path[:] = parent_sys_path  # the task's modules import as they did in the parent
        job = cloudpickle.loads(job_bytes)
    except Exception as exc:
        _record_failure(exc, exc.__traceback__, summary_prefix="could not load the task function in the worker: ")
        raise SystemExit(1) from None
    run(job)


def _give_rank_its_own_folder(ctx: ExecutionContext, rank: int) -> None:
    # The ranks of a node would otherwise share the parent's working folder. ``ctx`` is this
    # process's own copy (unpickled or forked), so it can be changed in place.
    ctx.working_directory = os.path.join(ctx.working_directory, f"rank-{rank}")
    os.makedirs(ctx.working_directory, exist_ok=True)


def _restore_default_signal_handlers() -> None:
    # A forked worker inherits the agent's handlers (torch's, which raise in the agent); the agent
    # stops workers with SIGTERM and expects them to die of it.
    for name in ("SIGTERM", "SIGHUP", "SIGQUIT"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _apply_thread_limit() -> None:
    # A forked worker inherits torch's intra-op thread pool, sized before the agent set OMP_NUM_THREADS.
    torch = sys.modules.get("torch")
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if torch is not None and threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))


def _record_failure(exc: BaseException, tb: TracebackType | None, summary_prefix: str = "") -> None:
    import json  # imported on failure only: a worker's start-up stays short
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, tb))
    sys.stderr.write(text)
    sys.stderr.flush()
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if not error_file:
        return
    error_code = getattr(exc, "error_code", None)
    message_lines = str(exc).strip().splitlines()
    headline = type(exc).__name__ + (f": {message_lines[0]}" if message_lines else "")  # one line for the summary
    record = {
        "message": text,  # torch's field: its ProcessFailure.message, our details
        "timestamp": str(int(time.time())),
        RECORD_KEY: {
            "summary": summary_prefix + headline,
            "raised_at": time.time(),
            "recoverable": getattr(exc, "recoverable", False) is True,
            "error_code": error_code if isinstance(error_code, str) else None,
        },
    }
    _write_atomically(error_file, json.dumps(record).encode())


def _write_atomically(path: str, data: bytes) -> None:
    partial = f"{path}.partial"
    with open(partial, "wb") as f:
        f.write(data)
    os.replace(partial, path)
