"""GPU check of the torch launcher: NCCL all-reduce and a few DDP steps, one worker per GPU.

    .venv/bin/python benchmarks/torch_gpu_check.py [--nproc-per-node N] [--start-method spawn|fork]

Needs CUDA (exits with status 2 and says so otherwise). Prints the all-reduced value, the DDP
losses and the wall time of each launch.
"""

from __future__ import annotations

import argparse
import sys
import time

from flytelite.torch_launcher.config import Elastic


def nccl_all_reduce(size: int) -> float:
    """Each rank contributes ``rank + 1`` in every element; rank 0 returns element 0 of the sum."""
    import os

    import torch
    import torch.distributed as dist

    local_rank = int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    try:
        tensor = torch.full((size,), float(dist.get_rank() + 1), device="cuda")
        dist.all_reduce(tensor)
        torch.cuda.synchronize()
        return tensor[0].item()
    finally:
        dist.destroy_process_group()


def ddp_steps(steps: int) -> list[float]:
    """A few steps of a small MLP under DistributedDataParallel; rank 0 returns the losses."""
    import os

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    local_rank = int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local_rank)
    dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    try:
        torch.manual_seed(0)
        model = DistributedDataParallel(
            torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 1)).cuda(), device_ids=[local_rank]
        )
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        inputs, targets = torch.randn(1024, 256, device="cuda"), torch.randn(1024, 1, device="cuda")
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses
    finally:
        dist.destroy_process_group()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc-per-node", type=int, default=1)
    parser.add_argument("--start-method", choices=["spawn", "fork"], default="spawn")
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        print("torch_gpu_check: CUDA is not available (no GPU, or a CPU-only torch build): nothing was checked", file=sys.stderr)
        return 2
    if args.nproc_per_node > torch.cuda.device_count():
        print(f"torch_gpu_check: {args.nproc_per_node} workers asked for, {torch.cuda.device_count()} GPUs seen", file=sys.stderr)
        return 2
    config = Elastic(nproc_per_node=args.nproc_per_node, start_method=args.start_method, monitor_interval=0.1)

    started = time.perf_counter()
    total = config.run_function(nccl_all_reduce, {"size": 1 << 20})
    expected = sum(range(1, args.nproc_per_node + 1))
    print(f"NCCL all-reduce: {total} (expected {expected}) in {time.perf_counter() - started:.2f} s")

    started = time.perf_counter()
    losses = config.run_function(ddp_steps, {"steps": 5})
    print(f"DDP losses: {[round(v, 4) for v in losses]} in {time.perf_counter() - started:.2f} s")

    ok = total == expected and len(losses) == 5 and losses[-1] < losses[0]
    print("torch_gpu_check: OK" if ok else "torch_gpu_check: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
