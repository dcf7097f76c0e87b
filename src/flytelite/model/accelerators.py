"""GPU kinds for ``@task(accelerator=...)``: the names flytekit's ``flytekit.extras.accelerators`` gives them.

The device string is what the backend matches against its node labels (``ExtendedResources.gpu_accelerator``).
"""

from __future__ import annotations

from ..support.records import Record


class GPUAccelerator(Record):
    """A GPU kind, optionally a MIG partition of it: ``GPUAccelerator("nvidia-tesla-a100", "1g.5gb")``."""

    __slots__ = ("device", "partition_size")

    def __init__(self, device: str, partition_size: str | None = None) -> None:
        if not device or not isinstance(device, str):
            raise ValueError(f"GPUAccelerator needs a device name such as 'nvidia-tesla-t4', not {device!r}")
        self.device, self.partition_size = device, partition_size

    def partitioned(self, partition_size: str) -> GPUAccelerator:
        """This GPU kind cut to a MIG partition, e.g. ``A100.partitioned("1g.5gb")``."""
        return GPUAccelerator(self.device, partition_size)


A10G = GPUAccelerator("nvidia-a10g")
L4 = GPUAccelerator("nvidia-l4")
L40S = GPUAccelerator("nvidia-l40s")
T4 = GPUAccelerator("nvidia-tesla-t4")
V100 = GPUAccelerator("nvidia-tesla-v100")
A100 = GPUAccelerator("nvidia-tesla-a100")
A100_80GB = GPUAccelerator("nvidia-a100-80gb")
H100 = GPUAccelerator("nvidia-h100")
H200 = GPUAccelerator("nvidia-h200")
