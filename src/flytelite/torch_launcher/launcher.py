"""Run a task function as a torch elastic worker group, or as one replica of a ``PyTorchJob``.

One entry point, driven by the task's config::

    from flytelite.torch_launcher.config import Elastic
    from flytelite.torch_launcher.launcher import launch

    def train(steps: int) -> float:
        import torch.distributed as dist
        dist.init_process_group("gloo")  # RANK, WORLD_SIZE, MASTER_ADDR come from the agent
        ...
        return loss

    loss = launch(Elastic(nproc_per_node=2), train, {"steps": 10})  # rank 0's return value

For :class:`Elastic`, this process becomes the torch elastic agent of its node: c10d rendezvous at
``PET_RDZV_ENDPOINT`` (default ``localhost:0``, a store of our own), node counts from ``PET_NNODES``
(set by the Kubeflow operator) or the config, run id = the execution name. The result is global
rank 0's return value (its decks are added to this process's context); on a node without rank 0,
:class:`IgnoreOutputs`. A failed group raises one :class:`TaskError`; SIGTERM/SIGINT to this
process stops the workers and raises :class:`TerminatedError`.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import os
import signal
import sys
import tempfile
import threading
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

import cloudpickle
from torch.distributed.elastic.multiprocessing import DefaultLogsSpecs
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure
from torch.distributed.elastic.rendezvous.api import RendezvousError
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

from flytelite.runtime.context import current_context
from flytelite.support.exceptions import IgnoreOutputs, TaskError, TerminatedError

from . import _worker
from ._rendezvous import RDZV_BACKEND, parse_nnodes

if TYPE_CHECKING:
    from .config import Elastic, PyTorch

logger = logging.getLogger(__name__)

DEFAULT_RDZV_ENDPOINT = "localhost:0"  # port 0: this agent hosts the c10d store on a free port
DEFAULT_RUN_ID = "flytelite-local"  # outside Flyte: fixed, so that agents started by hand can meet
# Signals torch elastic's agent turns into SignalException; we put back whatever handled them before.
AGENT_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
# A spawned worker appends the folder flytelite was loaded from, so that it loads the same copy.
SPAWN_BOOTSTRAP = (
    "import sys; sys.path.append(sys.argv[2]); "
    "from flytelite.torch_launcher._worker import main; main(sys.argv[1])"
)


def launch(config: Elastic | PyTorch, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Run ``fn(**kwargs)`` as ``config`` says and return global rank 0's return value."""
    if not config.elastic:  # a Kubeflow replica: the operator already started one pod per worker
        return _run_replica(fn, kwargs)
    return _run_elastic(config, fn, kwargs)


def _run_replica(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    # The operator started one pod per replica with its MASTER_ADDR/RANK/WORLD_SIZE already set.
    value = fn(**kwargs)
    if int(os.environ.get("RANK", "0")) != 0:
        raise IgnoreOutputs("only rank 0 of a PyTorchJob writes outputs")
    return value


def _run_elastic(config: Elastic, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    parent_ctx = current_context()
    with tempfile.TemporaryDirectory(prefix="flytelite-elastic-") as launch_dir:
        # The workers start with no decks, so that rank 0's list is exactly the decks it made.
        snapshot = copy.copy(parent_ctx)
        snapshot.decks = []
        job = _worker.WorkerJob(fn, kwargs, snapshot, os.path.join(launch_dir, "result.pkl"))
        entrypoint, args = _entrypoint(config.start_method, job, launch_dir)
        launch_config = _launch_config(config, os.environ, log_dir=os.path.join(launch_dir, "logs"))
        with _omp_threads(launch_config.nproc_per_node), _kept_signal_handlers():
            try:
                return_values = elastic_launch(launch_config, entrypoint)(*args)
            except ChildFailedError as failed:
                raise _task_error(failed.failures) from None
            except SignalException as stopped:
                raise TerminatedError(signal.Signals(stopped.sigval).name) from None
            except RendezvousError as exc:
                # Peers that never came or went away: the infrastructure's fault, a retry may help.
                summary = f"torch elastic rendezvous at {launch_config.rdzv_endpoint} failed: {type(exc).__name__}: {exc}"
                raise TaskError(summary, origin="SYSTEM", recoverable=True) from None
        if 0 not in return_values:
            raise IgnoreOutputs("global rank 0 ran on another node: it writes the outputs")
        result = _read_result(job.result_path)
    parent_ctx.decks.extend(result.decks)
    return result.return_value


def _read_result(path: str) -> _worker.WorkerResult:
    try:
        with open(path, "rb") as f:
            return cloudpickle.load(f)
    except FileNotFoundError:
        # Rank 0 exited with status 0 without returning: sys.exit(0) or os._exit(0) in the task.
        raise TaskError("torch elastic worker rank 0 exited without returning a value (sys.exit(0) in the task?)") from None


def _entrypoint(start_method: str, job: _worker.WorkerJob, launch_dir: str) -> tuple[Callable[[], None] | str, tuple[str, ...]]:
    if start_method == "fork":
        # The forked worker inherits the function and its inputs through this closure.
        def run_forked_worker() -> None:
            # What the parent made stays the parent's: the collector must not walk it here, where
            # objects tied to the parent's threads (which a fork does not copy) can crash it.
            gc.freeze()
            _worker.run(job)

        return run_forked_worker, ()
    # spawn: a fresh interpreter per worker (as torchrun does), loading the job from a file; this
    # avoids multiprocessing re-importing our __main__ (the CLI) in every worker.
    job_path = os.path.join(launch_dir, "job.pkl")
    _worker.save_job(job, job_path)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(_worker.__file__))))
    return sys.executable, ("-c", SPAWN_BOOTSTRAP, job_path, package_parent)


def _launch_config(config: Elastic, environ: Mapping[str, str], *, log_dir: str) -> LaunchConfig:
    operator_nnodes = environ.get("PET_NNODES")
    min_nodes, max_nodes = parse_nnodes(operator_nnodes or config.nnodes)
    if min_nodes > 1 and not operator_nnodes:
        logger.warning("nnodes=%s but PET_NNODES is unset: outside a PyTorchJob the rendezvous may time out", config.nnodes)
    return LaunchConfig(
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        nproc_per_node=_nproc_per_node(config, environ),
        run_id=current_context().execution_id.name or DEFAULT_RUN_ID,
        rdzv_backend=RDZV_BACKEND,
        rdzv_endpoint=environ.get("PET_RDZV_ENDPOINT") or DEFAULT_RDZV_ENDPOINT,
        rdzv_configs=dict(config.rdzv_configs),  # LaunchConfig writes into it
        max_restarts=config.max_restarts,
        monitor_interval=config.monitor_interval,
        start_method=config.start_method,
        logs_specs=DefaultLogsSpecs(log_dir=log_dir),
        # The address other nodes reach this one at (torchrun's --local-addr); the host name otherwise.
        local_addr=environ.get("PET_LOCAL_ADDR") or None,
    )


def _nproc_per_node(config: Elastic, environ: Mapping[str, str]) -> int:
    # The operator derives PET_NPROC_PER_NODE from our own custom; it wins when it is a number.
    from_operator = environ.get("PET_NPROC_PER_NODE", "").strip()
    return int(from_operator) if from_operator.isdigit() and int(from_operator) > 0 else config.nproc_per_node


@contextlib.contextmanager
def _omp_threads(nproc_per_node: int) -> Iterator[None]:
    """``OMP_NUM_THREADS=1`` for the workers when unset and several share the node, as torchrun does."""
    if nproc_per_node <= 1 or "OMP_NUM_THREADS" in os.environ:
        yield
        return
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        os.environ.pop("OMP_NUM_THREADS", None)


@contextlib.contextmanager
def _kept_signal_handlers() -> Iterator[None]:
    """Put back the handlers torch elastic replaces with its own (it never restores them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {name: signal.getsignal(getattr(signal, name)) for name in AGENT_SIGNALS}
    try:
        yield
    finally:
        for name, handler in saved.items():
            if handler is not None:
                signal.signal(getattr(signal, name), handler)


def _task_error(failures: Mapping[int, ProcessFailure]) -> TaskError:
    """One error for the failed group: the root-cause rank first, then the other failed ranks."""
    ranked = sorted(failures.items(), key=lambda item: _root_cause_order(item[1]))
    root_rank, root = ranked[0]
    record = _record_of(root)
    # ProcessFailure.message: the worker's traceback, or torch's note on a signal or exit code.
    details = [f"rank {root_rank} (pid {root.pid}): {_headline(root)}", root.message]
    if len(ranked) > 1:
        details.append("Other failed ranks:")
        details.extend(f"  rank {rank} (pid {failure.pid}): {_headline(failure)}" for rank, failure in ranked[1:])
    return TaskError(
        f"torch elastic worker rank {root_rank} {_headline(root)}",
        "\n".join(details),
        origin="USER",
        recoverable=bool(record and record["recoverable"]),
        error_code=record["error_code"] if record else None,
    )


def _root_cause_order(failure: ProcessFailure) -> tuple[int, float]:
    """Sort key: which failure most likely caused the others.

    A death by a signal other than SIGTERM (or an exit without our record) comes first: the
    exceptions of its peers are collective errors it caused. Then raised exceptions, earliest
    first. Last, SIGTERM: the agent stops the surviving workers with it once one has failed.
    """
    record = _record_of(failure)
    if record is not None:
        return 1, record["raised_at"]
    if failure.exitcode == -signal.SIGTERM:
        return 2, failure.timestamp
    return 0, failure.timestamp


def _headline(failure: ProcessFailure) -> str:
    record = _record_of(failure)
    if record is not None:
        return f"failed: {record['summary']}"
    if failure.exitcode < 0:
        name = failure.signal_name()
        hint = " (it may have run out of memory)" if failure.exitcode == -signal.SIGKILL else ""
        return f"was killed by signal {name}{hint}"
    return f"exited with code {failure.exitcode}"


def _record_of(failure: ProcessFailure) -> dict[str, Any] | None:
    data = failure.error_file_data
    record = data.get(_worker.RECORD_KEY) if isinstance(data, dict) else None
    return record if isinstance(record, dict) else None
