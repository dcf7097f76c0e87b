"""Task configs for distributed PyTorch, as ``@task(task_config=...)`` takes them.

* :class:`Elastic`: torch elastic (``torchrun``) inside the task's own container; one node is a plain
  ``python-task``, several nodes are a Kubeflow ``PyTorchJob`` (task type ``pytorch``).
* :class:`PyTorch`: a Kubeflow ``PyTorchJob`` with a master and worker replicas; the operator sets
  ``MASTER_ADDR``/``RANK``/``WORLD_SIZE`` and each replica runs the function once.

Both are :class:`~flytelite.model.contract.TaskConfig`s (the contract is written down there).
Importing this module never imports torch (an optional extra): the task model asks a config for
``task_type``, ``task_type_version`` and ``custom()`` at serialization time, and calls
``run_function(fn, kwargs)`` at run time, which is when torch gets loaded.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from ..model.contract import TaskConfig
from ._rendezvous import RDZV_BACKEND, parse_nnodes

if TYPE_CHECKING:
    from flytelite.model.metadata import Resources

PLUGIN_TASK_TYPE = "pytorch"
STANDALONE_TASK_TYPE = "python-task"
# The backend's PyTorch plugin reads replica specs (not the v0 ``num_workers`` layout) from version 1 on.
TASK_TYPE_VERSION = 1
START_METHODS = ("spawn", "fork")


class RestartPolicy(enum.Enum):
    """How the operator restarts a replica's pods (numbers of ``flyteidl.plugins.common_pb2.RestartPolicy``)."""

    NEVER = 0
    FAILURE = 1
    ALWAYS = 2


class CleanPodPolicy(enum.Enum):
    """Which pods the operator deletes when the job ends (``flyteidl.plugins.kubeflow.common_pb2.CleanPodPolicy``)."""

    NONE = 0
    RUNNING = 1
    ALL = 2


@dataclass
class RunPolicy:
    """Job-level policy of a ``PyTorchJob``: pod clean-up, TTL, deadline, retries of the whole job."""

    clean_pod_policy: CleanPodPolicy | None = None
    ttl_seconds_after_finished: int | None = None
    active_deadline_seconds: int | None = None
    backoff_limit: int | None = None

    def __post_init__(self) -> None:
        if self.clean_pod_policy is not None and not isinstance(self.clean_pod_policy, CleanPodPolicy):
            raise ValueError(f"clean_pod_policy must be a CleanPodPolicy (e.g. CleanPodPolicy.ALL), not {self.clean_pod_policy!r}")
        for name in ("ttl_seconds_after_finished", "active_deadline_seconds", "backoff_limit"):
            value = getattr(self, name)
            if value is not None:
                _require_int(name, value, minimum=0)

    def to_idl(self) -> Any:
        from flyteidl.plugins.kubeflow import common_pb2

        return common_pb2.RunPolicy(
            clean_pod_policy=self.clean_pod_policy.value if self.clean_pod_policy else None,
            ttl_seconds_after_finished=self.ttl_seconds_after_finished,
            active_deadline_seconds=self.active_deadline_seconds,
            backoff_limit=self.backoff_limit,
        )


@dataclass
class Master:
    """The master replica group of a ``PyTorchJob``: always exactly one replica."""

    image: str | None = None
    requests: Resources | None = None
    limits: Resources | None = None
    restart_policy: RestartPolicy | None = None

    def __post_init__(self) -> None:
        _check_restart_policy(self.restart_policy)

    def to_idl(self) -> Any:
        return _replica_spec(1, self.image, self.requests, self.limits, self.restart_policy)


@dataclass
class Worker:
    """The worker replica group of a ``PyTorchJob`` (flytekit's name; not a worker of ``flytelite serve``)."""

    image: str | None = None
    requests: Resources | None = None
    limits: Resources | None = None
    replicas: int | None = None
    restart_policy: RestartPolicy | None = None

    def __post_init__(self) -> None:
        _check_restart_policy(self.restart_policy)
        if self.replicas is not None:
            _require_int("Worker.replicas", self.replicas, minimum=0)

    def to_idl(self, replicas: int) -> Any:
        return _replica_spec(replicas, self.image, self.requests, self.limits, self.restart_policy)


@dataclass
class PyTorch(TaskConfig):
    """A Kubeflow ``PyTorchJob``: ``PyTorch(worker=Worker(replicas=2))``.

    Every replica (the master and each worker) runs the task function once, in process, with the
    operator's ``MASTER_ADDR``, ``MASTER_PORT``, ``RANK`` and ``WORLD_SIZE``; the function calls
    ``torch.distributed.init_process_group()`` itself. Rank 0 (the master) writes the outputs; the
    other replicas end with ``IgnoreOutputs``. ``num_workers`` is the deprecated spelling of
    ``worker.replicas``.
    """

    elastic: ClassVar[bool] = False  # the operator starts one pod per replica

    master: Master = field(default_factory=Master)
    worker: Worker = field(default_factory=Worker)
    run_policy: RunPolicy | None = None
    num_workers: int | None = None

    def __post_init__(self) -> None:
        if self.num_workers is not None and self.worker.replicas is not None:
            raise ValueError("give the worker count once: Worker(replicas=N) (num_workers is its deprecated spelling)")
        if self.num_workers is None and self.worker.replicas is None:
            raise ValueError("PyTorch needs a worker count: PyTorch(worker=Worker(replicas=N))")
        if self.num_workers is not None:
            _require_int("num_workers", self.num_workers, minimum=0)

    @property
    def task_type(self) -> str:
        return PLUGIN_TASK_TYPE

    @property
    def task_type_version(self) -> int:
        return TASK_TYPE_VERSION

    @property
    def worker_replicas(self) -> int:
        return self.worker.replicas if self.worker.replicas is not None else int(self.num_workers or 0)

    def custom(self) -> dict[str, Any]:
        """The plugin's custom: a ``DistributedPyTorchTrainingTask`` as a JSON-ready dict."""
        from flyteidl.plugins.kubeflow import pytorch_pb2

        job = pytorch_pb2.DistributedPyTorchTrainingTask(
            master_replicas=self.master.to_idl(),
            worker_replicas=self.worker.to_idl(self.worker_replicas),
            run_policy=self.run_policy.to_idl() if self.run_policy else None,
        )
        return _message_to_dict(job)

    def run_function(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        from .launcher import launch

        return launch(self, fn, kwargs)


@dataclass
class Elastic(TaskConfig):
    """Torch elastic training, like ``torchrun``: ``Elastic(nnodes=2, nproc_per_node=4)``.

    ``nnodes`` is a node count or a ``"min:max"`` range. ``start_method="spawn"`` runs each worker in
    a fresh interpreter (the function travels with cloudpickle); ``"fork"`` forks the task's process
    and starts faster. ``monitor_interval`` is how often (seconds) the agent checks on its workers:
    a task takes at least that long. ``max_restarts`` restarts a failed worker group that many
    times. ``rdzv_configs`` go to the c10d rendezvous (``timeout``, ``join_timeout``, ...).
    ``run_policy`` applies to the ``PyTorchJob`` of a multi-node task.
    """

    elastic: ClassVar[bool] = True  # the launcher starts the workers itself

    nnodes: int | str = 1
    nproc_per_node: int = 1
    start_method: str = "spawn"
    monitor_interval: float = 5
    max_restarts: int = 0
    rdzv_configs: dict[str, Any] = field(default_factory=lambda: {"timeout": 900, "join_timeout": 900})
    run_policy: RunPolicy | None = None

    def __post_init__(self) -> None:
        parse_nnodes(self.nnodes)
        _require_int("nproc_per_node", self.nproc_per_node, minimum=1)
        if self.start_method not in START_METHODS:
            raise ValueError(f"start_method must be 'spawn' or 'fork', not {self.start_method!r}")
        if isinstance(self.monitor_interval, bool) or not isinstance(self.monitor_interval, (int, float)) or self.monitor_interval <= 0:
            raise ValueError(f"monitor_interval must be a positive number of seconds, not {self.monitor_interval!r}")
        _require_int("max_restarts", self.max_restarts, minimum=0)
        if not isinstance(self.rdzv_configs, Mapping) or not all(isinstance(k, str) for k in self.rdzv_configs):
            raise ValueError(f"rdzv_configs must be a dict with string keys, e.g. {{'timeout': 900}}, not {self.rdzv_configs!r}")

    @property
    def min_nodes(self) -> int:
        return parse_nnodes(self.nnodes)[0]

    @property
    def max_nodes(self) -> int:
        return parse_nnodes(self.nnodes)[1]

    @property
    def task_type(self) -> str:
        # One node runs in a plain pod, without the Kubeflow operator.
        return STANDALONE_TASK_TYPE if self.max_nodes == 1 else PLUGIN_TASK_TYPE

    @property
    def task_type_version(self) -> int:
        return TASK_TYPE_VERSION

    def custom(self) -> dict[str, Any] | None:
        """``None`` for one node; otherwise a ``DistributedPyTorchTrainingTask`` with an ``ElasticConfig``, as a JSON-ready dict."""
        if self.task_type == STANDALONE_TASK_TYPE:
            return None
        from flyteidl.plugins.common_pb2 import CommonReplicaSpec
        from flyteidl.plugins.kubeflow import pytorch_pb2

        job = pytorch_pb2.DistributedPyTorchTrainingTask(
            worker_replicas=pytorch_pb2.DistributedPyTorchTrainingReplicaSpec(
                common=CommonReplicaSpec(replicas=self.max_nodes)
            ),
            elastic_config=pytorch_pb2.ElasticConfig(
                rdzv_backend=RDZV_BACKEND,
                min_replicas=self.min_nodes,
                max_replicas=self.max_nodes,
                nproc_per_node=self.nproc_per_node,
                max_restarts=self.max_restarts,
            ),
            run_policy=self.run_policy.to_idl() if self.run_policy else None,
        )
        return _message_to_dict(job)

    def run_function(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        from .launcher import launch

        return launch(self, fn, kwargs)


def _require_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, not {value!r}")


def _check_restart_policy(policy: Any) -> None:
    if policy is not None and not isinstance(policy, RestartPolicy):
        raise ValueError(f"restart_policy must be a RestartPolicy (e.g. RestartPolicy.FAILURE), not {policy!r}")


def _replica_spec(
    replicas: int, image: str | None, requests: Resources | None, limits: Resources | None, restart_policy: RestartPolicy | None
) -> Any:
    from flyteidl.plugins.common_pb2 import CommonReplicaSpec
    from flyteidl.plugins.kubeflow import pytorch_pb2

    from ..model.template import resources_to_idl

    resources = resources_to_idl(requests, limits)
    return pytorch_pb2.DistributedPyTorchTrainingReplicaSpec(
        common=CommonReplicaSpec(
            replicas=replicas,
            image=image or "",
            resources=resources if resources.requests or resources.limits else None,
            restart_policy=restart_policy.value if restart_policy else None,
        )
    )


def _message_to_dict(message: Any) -> dict[str, Any]:
    from google.protobuf.json_format import MessageToDict

    return MessageToDict(message)
