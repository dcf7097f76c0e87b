"""Task functions the launcher tests run in real worker processes (importable by name in a worker)."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time

import torch
import torch.distributed as dist

from flytelite.runtime.context import current_context
from flytelite.support.exceptions import RecoverableException


def _rank() -> int:
    return int(os.environ["RANK"])


def allreduce_sum(x: float) -> float:
    """Every rank contributes ``x + rank``; rank 0 returns the sum."""
    dist.init_process_group("gloo")
    try:
        total = torch.tensor([x + dist.get_rank()])
        dist.all_reduce(total)
        return total.item()
    finally:
        dist.destroy_process_group()


def fail_in_rank(failing_rank: int, recoverable: bool = False, in_collective: bool = False) -> str:
    """``failing_rank`` raises; with ``in_collective`` the others wait in an all-reduce meanwhile."""
    if in_collective:
        dist.init_process_group("gloo")
    if _rank() == failing_rank:
        if recoverable:
            raise RecoverableException(f"flaky storage seen by rank {failing_rank}")
        raise ValueError(f"boom from rank {failing_rank}")
    if in_collective:
        dist.all_reduce(torch.zeros(1))
    return "survived"


def die_by_signal_in_rank(dying_rank: int, in_collective: bool = False) -> str:
    """``dying_rank`` kills itself with SIGKILL, as the kernel's OOM killer would."""
    if in_collective:
        dist.init_process_group("gloo")
    if _rank() == dying_rank:
        os.kill(os.getpid(), signal.SIGKILL)
    if in_collective:
        dist.all_reduce(torch.zeros(1))
    return "survived"


def fail_first_time_in_rank_1(marker_dir: str) -> int:
    """Rank 1 fails on the group's first attempt only (a marker file remembers it)."""
    marker = os.path.join(marker_dir, "failed-once")
    if _rank() == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("first attempt fails")
    return int(os.environ["TORCHELASTIC_RESTART_COUNT"])


def describe_worker() -> dict:
    """What the worker sees: its context, flytelite modules loaded, and a deck it adds."""
    ctx = current_context()
    ctx.decks.append(f"deck from rank {_rank()}")
    return {
        "raw_output_prefix": ctx.raw_output_prefix,
        "working_directory": ctx.working_directory,
        "execution_name": ctx.execution_id.name,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
        "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("flytelite", "click", "structlog")),
    }


def wait_forever(pid_dir: str) -> None:
    """Each rank leaves its pid in ``pid_dir`` and sleeps until stopped."""
    with open(os.path.join(pid_dir, f"rank-{_rank()}.pid"), "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(0.1)


def exit_quietly() -> int:
    """Every rank leaves with status 0 before returning."""
    sys.exit(0)


def frozen_object_count() -> int:
    """How many objects the worker's garbage collector leaves alone (those it inherited at a fork)."""
    return gc.get_freeze_count()
