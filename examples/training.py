"""Typed configuration and results, checkpoints, decks, and a distributed variant of the same step."""

from __future__ import annotations

import dataclasses
import json

from flytelite import Deck, Elastic, RecoverableException, current_context, span, task


@dataclasses.dataclass
class TrainConfig:
    learning_rate: float = 0.1
    epochs: int = 5
    layers: list[int] = dataclasses.field(default_factory=lambda: [16, 8])


@dataclasses.dataclass
class TrainResult:
    final_loss: float
    epochs_run: int


def _fit(config: TrainConfig, start_epoch: int, loss: float) -> float:
    for _ in range(start_epoch, config.epochs):
        loss *= 1 - config.learning_rate
    return loss


@task(retries=3, enable_deck=True)
def train(config: TrainConfig) -> TrainResult:
    """A toy fit that resumes from the previous attempt's checkpoint when Flyte retries it."""
    checkpoint = current_context().checkpoint
    state = {"epoch": 0, "loss": 1.0}
    if checkpoint is not None and checkpoint.prev_exists():
        state = json.loads(checkpoint.read())
    with span("fit"):
        loss = _fit(config, state["epoch"], state["loss"])
    if checkpoint is not None:
        checkpoint.write(json.dumps({"epoch": config.epochs, "loss": loss}).encode())
    if loss != loss:  # NaN: worth another attempt from the checkpoint
        raise RecoverableException("the loss diverged")
    Deck("Loss", f"<p>final loss <b>{loss:.4f}</b> after {config.epochs} epochs</p>")
    return TrainResult(final_loss=loss, epochs_run=config.epochs)


@task(task_config=Elastic(nproc_per_node=2, start_method="fork", monitor_interval=1))
def allreduce_sum(value: int) -> int:
    """Every worker contributes ``value + rank``; rank 0's sum becomes the output (needs flytelite[torch])."""
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")
    tensor = torch.tensor([value + dist.get_rank()])
    dist.all_reduce(tensor)
    dist.destroy_process_group()
    return int(tensor.item())
