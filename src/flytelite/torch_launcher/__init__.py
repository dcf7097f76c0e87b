"""Distributed PyTorch tasks: ``Elastic`` (torch elastic / torchrun) and ``PyTorch`` (Kubeflow PyTorchJob).

The configs live in :mod:`.config` (no torch import); :mod:`.launcher` runs a task function as a
worker group and is loaded only when such a task runs; :mod:`._worker` is what each spawned worker
process imports. This package's ``__init__`` imports nothing, so that a worker stays light.
"""
