"""The warm workers and the attempts they run.

Workers are forked by multiprocessing's fork server: a single-threaded parent started before any
attempt, which imports flytelite's pipeline and the ``--preload`` modules once, then forks a worker
whenever one is needed (at start, after a crash, when one is recycled). Forking the gRPC server
process itself would copy its threads' locks mid-use; the fork server has no threads to copy.

Each worker has a thread here that feeds it one attempt at a time from a shared queue and waits for
its reply or its death; a Flyte 2 worker of a reuse policy with ``concurrency`` above 1 is fed up to
that many attempts of its bundle and policy at once, their replies matched by attempt id. Every
attempt gets exactly one verdict: the worker's, a crash's, or a cancel's.

A worker process runs one code version: the daemon's own, or one fast-registered archive (held in
:class:`~.code_cache.CodeCache`). An attempt of another version first replaces the process with one
forked for that version, so no module state crosses versions; a version's worker left idle for
``code_idle_retire`` seconds goes back to the daemon's own code, releasing the archive for eviction.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import tempfile
import threading
import time
from multiprocessing.connection import wait
from typing import Any, Callable

from ...support.logs import get_logger
from ...support.exceptions import FlyteliteError, TerminatedError
from .. import verdict
from ..errors import SYSTEM, Failure, classify, one_line
from ..settings import AttemptSettings
from .code_cache import CodeCache, CodeVersion
from .request import AttemptSpec
from .flyte2_worker import CancelAttempt, Flyte2Setup, flyte2_worker_main
from .worker import STARTED, Outcome, worker_main

log = get_logger("flytelite.serve")
# How often a worker running concurrent attempts with room for more looks at the queue.
QUEUE_POLL = 0.005

class PoolError(FlyteliteError, RuntimeError):
    """The workers cannot start (a preload that does not import)."""


class AttemptState:
    """One attempt as the server tracks it; ``phase`` is a ``TaskExecution.Phase`` name."""

    def __init__(self, spec: AttemptSpec) -> None:
        self.spec = spec
        self.phase = "QUEUED"
        self.message = "waiting for a worker"
        self.failure: dict[str, Any] | None = None
        self.outputs: bytes | None = None
        self.worker: Worker | None = None
        self.cancelled = False
        self.created = time.monotonic()
        self.sequence = 0  # its place among the attempts submitted, for its queue position
        self.done = threading.Event()


class Worker:
    """One warm worker process and the thread that feeds it."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool, self.index = pool, index
        self.process: Any = None
        self.conn: Any = None
        self.attempts_run = 0
        self.running: dict[str, AttemptState] = {}  # by attempt id: one, or a reuse policy's concurrency's worth
        self.held: AttemptState | None = None  # taken from the queue while attempts it could not join ran
        self.holding = False
        self.send_lock = threading.Lock()  # the feeding thread and a cancel both send to a worker running concurrent attempts
        self.code: CodeVersion | None = None  # the fast-registered code the process imports from, held in the cache
        self.flyte2: str | None = None  # a Flyte 2 worker's code bundle ("": the image's code); None: a Flyte 1 worker
        self.idle_ttl: float | None = None  # a Flyte 2 worker's reuse policy idle time
        self.thread = threading.Thread(target=self._serve, name=f"flytelite-worker-{index}", daemon=True)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start_process(self) -> None:
        context = self.pool.context
        self.conn, child_conn = context.Pipe()
        code_dir = None if self.code is None else self.code.path
        if self.flyte2 is None:
            target, args = worker_main, (child_conn, self.pool.preload, code_dir)
        else:  # a Flyte 2 worker: the only process that imports flyte
            target, args = flyte2_worker_main, (child_conn, self.pool.preload, Flyte2Setup(self.flyte2, self.pool.code_cache.base, self.pool.flyte2_endpoint))
        self.process = context.Process(target=target, args=args, name=f"flytelite-worker-{self.index}", daemon=True)
        self.process.start()
        child_conn.close()
        if not wait([self.conn, self.process.sentinel], timeout=self.pool.start_timeout) or not self.conn.poll():
            self.process.kill()
            raise PoolError(f"worker {self.index} did not start (exit status {self.process.exitcode})")
        _, errors = self.conn.recv()
        if errors:
            raise PoolError("; ".join(errors))
        self.attempts_run = 0
        log.debug("worker started", worker=self.index, pid=self.process.pid, code=None if self.code is None else self.code.digest, flyte2=self.flyte2)

    def stop_process(self) -> None:
        """Ask the worker to exit (SIGKILL if it has not after the grace period); release its pipe."""
        try:
            with self.send_lock:
                self.conn.send(None)
        except OSError:
            pass  # it is gone already
        self.process.join(self.pool.cancel_grace)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()
        self.process.close()

    def _serve(self) -> None:
        while True:
            try:
                state = self._next_attempt()
            except queue.Empty:  # this version's (or Flyte 2) worker sat idle: back to the daemon's own code
                if not self._replace(None):
                    return
                continue
            if state is None:
                self.stop_process()
                return
            # A worker that died while idle (the OOM killer) is replaced before it is given an attempt.
            if not self.process.is_alive() and not self._replace(self.code, self.flyte2):
                self.pool.pending.put(state)
                return
            switched = self._switch_code(state)
            if switched is None:
                return
            if not switched or not self.pool.claim(state, self):
                continue  # its code could not be had (the attempt has its verdict), or it was cancelled while it waited
            if state.spec.options.get("concurrency", 1) > 1:
                alive = self._run_concurrently(state)
            else:
                outcome = self._run(state)
                alive = outcome is not None and not outcome.terminated  # a terminated worker exits on its own
            if self.pool.stopping:
                self.stop_process()
                return
            if (not alive or self._due_for_recycling()) and not self._replace(self.code, self.flyte2):
                return

    def _next_attempt(self) -> AttemptState | None:
        """The attempt held back by :meth:`_run_concurrently`, else the queue's next (``queue.Empty`` when idle too long)."""
        if self.holding:
            self.holding = False
            state, self.held = self.held, None
            return state
        return self.pool.pending.get(timeout=self._idle_timeout())

    def _idle_timeout(self) -> float | None:
        if self.flyte2 is not None:
            return self.idle_ttl or self.pool.code_idle_retire
        return None if self.code is None else self.pool.code_idle_retire

    def _switch_code(self, state: AttemptState) -> bool | None:
        """Make this worker's process one of ``state``'s code version: True when it is; False when the
        attempt ended instead (its archive could not be had, or it was cancelled meanwhile); None when
        no worker could be started (the attempt is queued again)."""
        bundle = state.spec.flyte2_bundle
        if bundle is not None:
            self.idle_ttl = state.spec.options.get("idle_ttl")
            if bundle == self.flyte2:
                return True
            if not self._replace(None, bundle):
                self.pool.pending.put(state)
                return None
            return True
        distribution = state.spec.distribution
        if distribution is None:
            code = None
        else:
            try:
                code = self.pool.code_cache.acquire(distribution)
            except Exception as exc:  # noqa: BLE001 - a bad or missing archive is the attempt's failure, not the daemon's
                self.pool.fail_unstarted(state, _code_failure(distribution, exc))
                return False
        if code is self.code and self.flyte2 is None:
            if code is not None:
                self.pool.code_cache.release(code)  # this worker holds it already
            return True
        if not self._replace(code):
            self.pool.pending.put(state)
            return None
        return True

    def _due_for_recycling(self) -> bool:
        recycle_after = self.pool.recycle_after
        return bool(recycle_after) and self.attempts_run >= recycle_after

    def _run(self, state: AttemptState) -> Outcome | None:
        """Run ``state`` in the worker; its outcome, or ``None`` when the worker died."""
        self.attempts_run += 1
        started, outcome = False, None
        try:
            self.conn.send(state.spec)
            while outcome is None and wait([self.conn, self.process.sentinel]):
                if not self.conn.poll():
                    break  # the sentinel only: the worker is gone
                message = self.conn.recv()
                started = started or message == STARTED
                outcome = message if isinstance(message, Outcome) else None
        except (EOFError, OSError):
            pass
        if outcome is not None:
            self.pool.finish_with(state, outcome)
            return outcome
        self.process.join()
        if started:
            self.pool.worker_died(state, self.process.exitcode)
        else:  # it died before it took the attempt (killed while idle): another worker runs it
            self.pool.requeue(state, self)
        return None

    def _run_concurrently(self, first: AttemptState) -> bool:
        """Run ``first`` and, beside it, queued attempts of the same bundle and reuse policy, up to its
        ``concurrency`` at once; whether the worker is still alive when none is left.

        Outcomes are matched to their attempts by id. While it has room it polls the queue; the first
        attempt it cannot take (another bundle or policy, or the end) is held for the next round, so
        the queue's order is kept. A death gives each attempt the worker had taken its verdict.
        """
        capacity = first.spec.options["concurrency"]
        sent: list[AttemptState] = []  # in the order sent: the worker acknowledges them in that order
        inflight: dict[str, AttemptState] = {}
        acknowledged = 0

        def send(state: AttemptState) -> None:
            self.attempts_run += 1
            sent.append(state)  # first: one the pipe refuses (a dead worker) is queued again below
            inflight[state.spec.attempt_id] = state
            with self.send_lock:
                self.conn.send(state.spec)

        try:
            send(first)
            while inflight:
                while not self.holding and len(inflight) < capacity and not self.pool.stopping:
                    state = self._take_joining(first)
                    if state is None:
                        break
                    send(state)
                room = not self.holding and len(inflight) < capacity
                ready = wait([self.conn, self.process.sentinel], timeout=QUEUE_POLL if room else None)
                if not ready:
                    continue
                if not self.conn.poll():
                    break  # the sentinel only: the worker is gone
                message = self.conn.recv()
                if message == STARTED:
                    acknowledged += 1
                elif isinstance(message, Outcome) and message.terminated and message.attempt_id in inflight:
                    self.pool.cancelled_in_worker(inflight.pop(message.attempt_id))
                elif isinstance(message, Outcome) and message.attempt_id in inflight:
                    self.pool.finish_with(inflight.pop(message.attempt_id), message)
        except (EOFError, OSError):
            pass
        if not inflight:
            return True
        self.process.join()
        for index, state in enumerate(sent):
            if state.spec.attempt_id not in inflight:
                continue
            if index < acknowledged:
                self.pool.worker_died(state, self.process.exitcode)
            else:  # sent, never taken: another worker runs it
                self.pool.requeue(state, self)
        return False

    def _take_joining(self, first: AttemptState) -> AttemptState | None:
        """A queued attempt that may run beside ``first`` (claimed for this worker); None when there is none now."""
        while True:
            try:
                state = self.pool.pending.get_nowait()
            except queue.Empty:
                return None
            joins = state is not None and state.spec.flyte2_bundle == first.spec.flyte2_bundle and state.spec.options.get("concurrency") == first.spec.options["concurrency"]
            if not joins:
                self.held, self.holding = state, True
                return None
            if self.pool.claim(state, self):
                return state

    def _replace(self, code: CodeVersion | None, flyte2: str | None = None) -> bool:
        """A fresh worker of ``code`` (or a Flyte 2 worker of bundle ``flyte2``) in place of this one;
        False (and the pool told) when none starts.

        ``code``, when it is not this worker's already, was acquired for it; the previous one is released.
        """
        self.stop_process()
        self.flyte2 = flyte2
        if code is not self.code:
            if self.code is not None:
                self.pool.code_cache.release(self.code)
            self.code = code
        try:
            self.start_process()
        except PoolError as exc:
            log.error("could not replace a worker", worker=self.index, error=str(exc))
            self.pool.lost_worker()
            return False
        self.pool.on_worker_restart()
        return True


class WorkerPool:
    """``workers`` warm processes; attempts are queued (without bound: memory is the limit), run and cancelled here."""

    def __init__(
        self,
        workers: int,
        preload: list[str],
        recycle_after: int = 0,
        cancel_grace: float = 10.0,
        start_timeout: float = 60.0,
        code_cache_dir: str | None = None,
        code_cache_bytes: int = 2 << 30,
        code_idle_retire: float = 300.0,
        flyte2_endpoint: str | None = None,
    ) -> None:
        self.preload = list(preload)
        self.flyte2_endpoint = flyte2_endpoint
        self.code_cache = CodeCache(code_cache_dir or tempfile.gettempdir(), code_cache_bytes)
        self.code_idle_retire = code_idle_retire
        self.recycle_after, self.cancel_grace = recycle_after, cancel_grace
        self.start_timeout = start_timeout
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["flytelite.entrypoint.serve.worker", *self.preload])
        self.pending: queue.Queue[AttemptState | None] = queue.Queue()
        self.lock = threading.RLock()  # re-entered where a decision and its verdict must be one step
        self.attempts: dict[str, AttemptState] = {}  # queued or running
        self.inflight = 0
        self.submitted = self.claimed = 0
        self.live_workers = workers
        self.stopping = False
        self.on_finish: Callable[[AttemptState], None] = lambda state: None
        self.on_no_workers: Callable[[], None] = lambda: None
        self.on_worker_restart: Callable[[], None] = lambda: None
        self.workers = [Worker(self, index) for index in range(workers)]

    def start(self) -> None:
        for worker in self.workers:
            worker.start_process()
        for worker in self.workers:
            worker.thread.start()

    def stop(self) -> None:
        """End the queued attempts with execute's SIGTERM document, stop the running ones (SIGTERM), end the workers."""
        self.stopping = True
        self._abort_queued(classify(TerminatedError("SIGTERM")))
        with self.lock:
            running = [state for w in self.workers for state in w.running.values()]
        for state in running:
            self._stop_running(state)
        for _ in self.workers:
            self.pending.put(None)
        for worker in self.workers:
            worker.thread.join(self.cancel_grace + 5)
        self.code_cache.close()

    # --- attempts -----------------------------------------------------------------------------

    def submit(self, spec: AttemptSpec) -> AttemptState:
        state = AttemptState(spec)
        with self.lock:
            if self.live_workers == 0:
                raise PoolError("no worker is running: they could not be restarted (see the daemon's log)")
            self.inflight += 1
            state.sequence, self.submitted = self.submitted, self.submitted + 1
            self.attempts[spec.attempt_id] = state
        self.pending.put(state)
        if self.stopping:  # too late to run (stop() may have passed it by): it ends as a stopped pod's would
            self._abort_queued(classify(TerminatedError("SIGTERM")))
        return state

    def get(self, attempt_id: str) -> AttemptState | None:
        with self.lock:
            return self.attempts.get(attempt_id)

    def queue_position(self, state: AttemptState) -> int:
        """How many attempts start before ``state`` does, counting itself (1: next)."""
        with self.lock:
            return max(state.sequence - self.claimed, 0) + 1

    def busy_workers(self) -> int:
        with self.lock:
            return sum(1 for worker in self.workers if worker.running)

    def claim(self, state: AttemptState, worker: Worker) -> bool:
        """Give ``state`` to ``worker``, unless it was cancelled while it waited."""
        with self.lock:
            self.claimed += 1
            if state.done.is_set() or state.cancelled:  # cancelled while it waited: whoever cancelled ends it
                return False
            state.phase, state.message, state.worker = "RUNNING", f"running in worker {worker.index}", worker
            worker.running[state.spec.attempt_id] = state
            return True

    def requeue(self, state: AttemptState, worker: Worker) -> None:
        """Put back an attempt a worker died before taking; a cancelled one ends instead."""
        with self.lock:
            worker.running.pop(state.spec.attempt_id, None)
            state.worker, state.phase, state.message = None, "QUEUED", "waiting for a worker"
            if state.cancelled:
                self._finish(state, "ABORTED", "cancelled before it started", None, None)
                return
        log.warning("a worker died before it took the attempt: queued again", attempt=state.spec.attempt_id, worker=worker.index)
        self.pending.put(state)

    def cancel(self, state: AttemptState) -> None:
        """Stop an attempt: a queued one never runs; a running one gets SIGTERM, then SIGKILL after the grace period."""
        with self.lock:
            if state.done.is_set():
                return
            state.cancelled = True
            if state.worker is None:  # decided under the lock: no worker can claim it meanwhile
                self._finish(state, "ABORTED", "cancelled before it started", None, None)
                return
        self._stop_running(state)

    def _stop_running(self, state: AttemptState) -> None:
        if not self._signal_attempt(state, signal.SIGTERM):
            return

        def kill_if_still_running() -> None:
            if self._signal_attempt(state, signal.SIGKILL):
                log.warning("the attempt outlived SIGTERM by the grace period: its worker was killed", attempt=state.spec.attempt_id)

        timer = threading.Timer(self.cancel_grace, kill_if_still_running)
        timer.daemon = True
        timer.start()

    def _signal_attempt(self, state: AttemptState, signum: int) -> bool:
        """Signal the worker running ``state``, only while it still runs it: never the attempt after it.

        A DeleteTask's SIGTERM to a Flyte 2 worker of a reuse policy's concurrency is a :class:`CancelAttempt`
        instead, which cancels only ``state``'s asyncio tasks; SIGKILL, after the grace period, ends them all.
        """
        with self.lock:
            worker = state.worker
            if state.done.is_set() or worker is None or worker.running.get(state.spec.attempt_id) is not state:
                return False
            if signum == signal.SIGTERM and state.cancelled and not self.stopping and state.spec.options.get("concurrency", 1) > 1:
                try:
                    with worker.send_lock:
                        worker.conn.send(CancelAttempt(state.spec.attempt_id))
                except OSError:
                    return False  # the worker is gone: its death is the attempt's verdict
                return True
            try:
                os.kill(worker.pid, signum)
            except ProcessLookupError:
                return False
            return True

    def finish_with(self, state: AttemptState, outcome: Outcome) -> None:
        failure = outcome.failure
        if failure is None:
            self._finish(state, "SUCCEEDED", "", None, outcome.outputs)
        elif outcome.terminated and state.cancelled:
            self._finish(state, "ABORTED", failure["message"], failure, None)
        else:
            self._finish(state, "RETRYABLE_FAILED" if failure["recoverable"] else "FAILED", failure["message"], failure, None)

    def cancelled_in_worker(self, state: AttemptState) -> None:
        """A concurrent attempt whose tasks its worker cancelled (DeleteTask): the worker and its other attempts run on."""
        failure = Failure("SYSTEM", "cancelled: its tasks were cancelled in the worker, whose other attempts ran on", "", SYSTEM, True, time.time())
        self._write_error_document(state.spec, failure)
        self._finish(state, "ABORTED", failure.message, failure.to_fields(), None)

    def worker_died(self, state: AttemptState, exit_code: int | None) -> None:
        """The worker died during the attempt: a recoverable SYSTEM error, recorded as execute's would be."""
        how = _how_it_ended(exit_code)
        summary = f"the worker running the task {how}; Flyte may retry the attempt"
        if state.cancelled:
            summary = f"cancelled: the worker {how} after SIGTERM"
        failure = Failure("SYSTEM", summary, "", SYSTEM, True, time.time())
        self._write_error_document(state.spec, failure)
        self._finish(state, "ABORTED" if state.cancelled else "RETRYABLE_FAILED", failure.message, failure.to_fields(), None)

    def fail_unstarted(self, state: AttemptState, exc: BaseException) -> None:
        """End an attempt that never reached a worker with ``exc``'s error document, as execute would."""
        failure = classify(exc)
        if state.done.is_set():  # cancelled while its code was fetched: nothing to record
            return
        # Written outside the lock, as for a dead worker: storage may be slow, and GetTask must not wait on it.
        self._write_error_document(state.spec, failure)
        self._finish(state, "RETRYABLE_FAILED" if failure.recoverable else "FAILED", failure.message, failure.to_fields(), None)

    def lost_worker(self) -> None:
        with self.lock:
            self.live_workers -= 1
            none_left = self.live_workers == 0
        if none_left:
            self.on_no_workers()
            self._abort_queued(Failure("SYSTEM", "no worker could be started (see the daemon's log)", "", SYSTEM, True, time.time()))

    def _abort_queued(self, failure: Failure) -> None:
        """End every attempt still waiting for a worker with ``failure``, written as its error document."""
        with self.lock:
            queued = [state for state in self.attempts.values() if state.worker is None and not state.done.is_set()]
            for state in queued:
                state.cancelled = True  # no worker takes it from here on
        for state in queued:
            self._write_error_document(state.spec, failure)
            self._finish(state, "RETRYABLE_FAILED", failure.message, failure.to_fields(), None)

    def _write_error_document(self, spec: AttemptSpec, failure: Failure) -> None:
        """The document ``execute`` leaves, unless the worker had already committed a verdict."""
        prefix = spec.options["output_prefix"]
        try:
            if not verdict.committed(prefix):
                verdict.write_error(prefix, failure, AttemptSettings.from_environ({**os.environ, **spec.environ}))
        except Exception as exc:  # noqa: BLE001 - the GetTask answer still carries the verdict
            log.error("could not write the error document", attempt=spec.attempt_id, error=one_line(exc))

    def _finish(self, state: AttemptState, phase: str, message: str, failure: dict[str, Any] | None, outputs: bytes | None) -> None:
        with self.lock:
            if state.done.is_set():
                return  # one verdict per attempt: the first one stands
            state.phase, state.message, state.failure, state.outputs = phase, message, failure, outputs
            if state.worker is not None and state.worker.running.get(state.spec.attempt_id) is state:
                del state.worker.running[state.spec.attempt_id]
            state.done.set()
            self.inflight -= 1
            self.attempts.pop(state.spec.attempt_id, None)
        self.on_finish(state)


def _code_failure(distribution: str, exc: Exception) -> BaseException:
    """What a fast-execute pod would record for this archive failure."""
    from ..archive import ArchiveRejected
    from ..fast_execute import rejected_archive_error

    return rejected_archive_error(distribution, exc) if isinstance(exc, ArchiveRejected) else exc


def _how_it_ended(exit_code: int | None) -> str:
    if exit_code is None:
        return "stopped answering"
    if exit_code < 0:
        name = signal.Signals(-exit_code).name
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"was killed by {name}{hint}"
    return f"exited with status {exit_code}"
