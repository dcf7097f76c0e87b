"""Attempts that any replica of the daemon can answer for, and that outlive the process that ran them.

What a replica needs to answer ``GetTask`` or ``DeleteTask`` for an attempt it does not hold:

- the resource meta CreateTask returns (JSON): attempt id, output prefix, owner, and whether the task
  declares outputs. The backend sends it back on every call; ``DeleteTaskRequest`` carries no output
  prefix, so the meta does.
- the claim, a small file under the output prefix written before CreateTask answers: which attempt runs
  into this prefix and which daemon owns it. A second CreateTask for the prefix finds it (the body runs
  once), on any replica.
- the owner's liveness record: one file per daemon process under ``--state-dir`` (storage every replica
  reaches, a bucket prefix in a cluster), rewritten every few seconds and marked stopped when the daemon
  exits. One write per process per interval, however many attempts it holds, where a record per attempt
  would cost a write per queued attempt per interval.
- the verdict ``execute`` leaves under the output prefix (outputs, futures or an error document): it
  decides the phase. A dead owner and no verdict make the attempt lost: a recoverable SYSTEM error
  document is written, so every later answer, from any replica, is the same.

Finished attempts are answered from memory for a while, then from the output prefix: nothing is
forgotten by count.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from typing import Any, Callable

from ... import io
from ...io import FlyteliteError
from ...support.logs import get_logger
from ...support.records import Record
from ..errors import SYSTEM, Failure, one_line
from .. import verdict
from ..settings import AttemptSettings

log = get_logger("flytelite.serve")

CLAIM_FILE = "flytelite-serve-claim.json"
META_VERSION = 1


class InvalidMeta(FlyteliteError, ValueError):
    """A resource meta this daemon did not write."""


class ResourceMeta(Record):
    """What CreateTask returns and the backend sends back: enough for any replica to find the attempt."""

    __slots__ = ("attempt", "prefix", "owner", "outputs")

    def __init__(self, attempt: str, prefix: str, owner: str, outputs: bool) -> None:
        self.attempt, self.prefix, self.owner, self.outputs = attempt, prefix, owner, outputs

    def encode(self) -> bytes:
        fields = {"v": META_VERSION, "attempt": self.attempt, "prefix": self.prefix, "owner": self.owner, "outputs": self.outputs}
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes, output_prefix: str = "") -> ResourceMeta:
        """The meta in ``data``; the request's ``output_prefix`` wins over the meta's own (GetTask sends it)."""
        try:
            fields = json.loads(data)
            meta = cls(str(fields["attempt"]), output_prefix or str(fields["prefix"]), str(fields["owner"]), bool(fields["outputs"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidMeta(f"the resource meta {data[:80]!r} was not written by flytelite serve ({one_line(exc)})") from None
        if not meta.prefix:
            raise InvalidMeta("the resource meta names no output prefix")
        return meta


class Answer(Record):
    """What GetTask reports: a ``TaskExecution.Phase`` name, a message, and the error document's fields if any."""

    __slots__ = ("phase", "message", "failure")

    def __init__(self, phase: str, message: str, failure: dict[str, Any] | None = None) -> None:
        self.phase, self.message, self.failure = phase, message, failure


def answer_for_verdict(failure: dict[str, Any] | None, declares_outputs: bool) -> Answer:
    """The phase that makes the backend see the verdict as it would after a pod.

    On SUCCEEDED the backend reads the output prefix (an error document keeps its origin as the
    error's kind and its recoverability), but only for a task that declares outputs; for one that
    does not, a failure can only be a FAILED or RETRYABLE_FAILED phase (kind USER to the backend).
    """
    if failure is None:
        return Answer("SUCCEEDED", "")
    if declares_outputs:
        return Answer("SUCCEEDED", f"the task failed; its error document is under the output prefix: {failure['message']}", failure)
    return Answer("RETRYABLE_FAILED" if failure["recoverable"] else "FAILED", failure["message"], failure)


def write_lost_verdict(prefix: str, how: str) -> dict[str, Any]:
    """Record a lost attempt as a recoverable SYSTEM error document; the fields reported."""
    failure = Failure("SYSTEM", f"attempt lost: {how}; Flyte may retry the attempt", "", SYSTEM, True, time.time())
    verdict.write_error(prefix, failure, AttemptSettings.from_environ({}))
    return failure.to_fields()


def _read_json(uri: str) -> dict[str, Any] | None:
    if not io.exists(uri):
        return None
    try:
        value = json.loads(io.read_bytes(uri))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class Liveness:
    """This daemon's liveness record, kept fresh by a thread, and the reading of other owners' records."""

    def __init__(self, state_dir: str, lost_after: float) -> None:
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.state_dir, self.lost_after = state_dir, lost_after
        self.record_uri = self.record_of(self.owner)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_stopped, name="flytelite-liveness", daemon=True)
        self.on_beat: list[Callable[[], None]] = []  # run after each beat (the server forgets old attempts)

    def record_of(self, owner: str) -> str:
        return io.join(self.state_dir, "owners", f"{owner}.json")

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def beat(self, stopped: bool = False) -> None:
        io.write_bytes(self.record_uri, json.dumps({"owner": self.owner, "beat": time.time(), "stopped": stopped}).encode())

    def stop(self) -> None:
        """Say that this daemon has ended: other replicas answer for its attempts at once."""
        self._stop.set()
        self._thread.join()
        self.beat(stopped=True)

    def _beat_until_stopped(self) -> None:
        interval = max(self.lost_after / 6, 0.05)
        while not self._stop.wait(interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried; too many make this owner look dead
                log.warning("could not refresh the liveness record", uri=self.record_uri, error=one_line(exc))
            for callback in self.on_beat:
                callback()

    def owner_alive(self, claim: dict[str, Any]) -> bool:
        """Whether the daemon that claimed an attempt still runs (within ``lost_after`` seconds of its last sign)."""
        owner = str(claim.get("owner", ""))
        if owner == self.owner:
            return not self._stop.is_set()
        record = _read_json(str(claim.get("liveness") or self.record_of(owner)))
        if record is None:  # never seen: give it the claim's own time
            return time.time() - float(claim.get("claimed", 0)) < self.lost_after
        return not record.get("stopped") and time.time() - float(record.get("beat", 0)) < self.lost_after


def write_claim(meta: ResourceMeta, liveness: Liveness) -> None:
    claim = {"attempt": meta.attempt, "owner": meta.owner, "outputs": meta.outputs, "liveness": liveness.record_uri, "claimed": time.time()}
    io.write_bytes(io.join(meta.prefix, CLAIM_FILE), json.dumps(claim).encode())


def read_claim(prefix: str) -> dict[str, Any] | None:
    return _read_json(io.join(prefix, CLAIM_FILE))


def answer_from_storage(meta: ResourceMeta, liveness: Liveness, on_lost: Callable[[str], None] = lambda outcome: None) -> Answer:
    """The answer for an attempt this process does not hold, from its output prefix and its owner's record."""
    committed, failure = verdict.read(meta.prefix)
    if committed:
        return answer_for_verdict(failure, meta.outputs)
    claim = read_claim(meta.prefix) or {"owner": meta.owner, "claimed": 0}
    if liveness.owner_alive(claim):
        return Answer("RUNNING", f"running in daemon {claim.get('owner')}")
    how = f"its daemon {claim.get('owner') or meta.owner} stopped before a verdict was written"
    log.warning("attempt lost", attempt=meta.attempt, prefix=meta.prefix, owner=claim.get("owner"))
    committed, failure = verdict.read(meta.prefix)  # the owner may have committed meanwhile
    if not committed:
        failure = write_lost_verdict(meta.prefix, how)
        on_lost("LOST")
    return answer_for_verdict(failure, meta.outputs)
