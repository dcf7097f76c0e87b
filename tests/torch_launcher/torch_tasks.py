"""Elastic tasks the black-box tests run through ``python -m flytelite execute``."""

from __future__ import annotations

import os

import torch_examples

from flytelite import task
from flytelite.torch_launcher.config import Elastic

FAST = {"nproc_per_node": 2, "monitor_interval": 0.1}


@task(task_config=Elastic(**FAST))
def allreduce_task(x: float) -> float:
    return torch_examples.allreduce_sum(x)


@task(task_config=Elastic(**FAST, start_method="fork"))
def allreduce_fork_task(x: float) -> float:
    return torch_examples.allreduce_sum(x)


@task(task_config=Elastic(**FAST))
def failing_task(x: float) -> str:
    return torch_examples.fail_in_rank(failing_rank=1)


@task(task_config=Elastic(**FAST))
def waiting_task(x: float) -> None:
    torch_examples.wait_forever(os.environ["PID_DIR"])
