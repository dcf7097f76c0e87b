"""Elastic / PyTorch configs: validation, task types and the plugin's custom, without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from flyteidl.plugins import common_pb2
from flyteidl.plugins.kubeflow import common_pb2 as kubeflow_common_pb2

from flytelite.model.metadata import Resources
from flytelite.torch_launcher.config import (
    CleanPodPolicy,
    Elastic,
    Master,
    PyTorch,
    RestartPolicy,
    RunPolicy,
    Worker,
    parse_nnodes,
)


def test_elastic_defaults_follow_the_flytekit_plugin() -> None:
    config = Elastic()
    assert (config.nnodes, config.nproc_per_node, config.start_method) == (1, 1, "spawn")
    assert (config.monitor_interval, config.max_restarts) == (5, 0)
    assert config.rdzv_configs == {"timeout": 900, "join_timeout": 900}
    assert Elastic().rdzv_configs is not config.rdzv_configs


@pytest.mark.parametrize(("nnodes", "expected"), [(1, (1, 1)), (3, (3, 3)), ("2", (2, 2)), ("1:4", (1, 4)), (" 2:2 ", (2, 2))])
def test_nnodes_parses_counts_and_ranges(nnodes: int | str, expected: tuple[int, int]) -> None:
    assert parse_nnodes(nnodes) == expected


@pytest.mark.parametrize("nnodes", [0, -1, "0", "3:2", "1:2:3", "a:b", "", True, 1.5, None])
def test_bad_nnodes_is_refused_with_the_expected_form(nnodes: object) -> None:
    with pytest.raises(ValueError, match="'min:max'"):
        Elastic(nnodes=nnodes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"nproc_per_node": 0}, "nproc_per_node must be a whole number >= 1"),
        ({"nproc_per_node": "2"}, "nproc_per_node must be a whole number >= 1"),
        ({"start_method": "forkserver"}, "start_method must be 'spawn' or 'fork'"),
        ({"monitor_interval": 0}, "monitor_interval must be a positive number"),
        ({"max_restarts": -1}, "max_restarts must be a whole number >= 0"),
        ({"rdzv_configs": ["timeout"]}, "rdzv_configs must be a dict"),
    ],
)
def test_bad_elastic_settings_are_refused_clearly(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Elastic(**overrides)


def test_one_node_is_a_plain_python_task_without_custom() -> None:
    assert Elastic().task_type == "python-task"
    assert Elastic(nnodes="1:1", nproc_per_node=4).custom() is None
    assert Elastic().task_type_version == 1


def test_several_nodes_make_a_pytorch_job_with_an_elastic_config() -> None:
    config = Elastic(nnodes="2:4", nproc_per_node=8, max_restarts=3, run_policy=RunPolicy(backoff_limit=2))
    assert config.task_type == "pytorch"
    assert config.custom() == {
        "workerReplicas": {"common": {"replicas": 4}},
        "elasticConfig": {"rdzvBackend": "c10d", "minReplicas": 2, "maxReplicas": 4, "nprocPerNode": 8, "maxRestarts": 3},
        "runPolicy": {"backoffLimit": 2},
    }


def test_pytorch_job_custom_has_master_worker_and_run_policy() -> None:
    config = PyTorch(
        master=Master(image="img:1", restart_policy=RestartPolicy.ALWAYS),
        worker=Worker(replicas=3, requests=Resources(cpu="2", mem="4Gi"), limits=Resources(gpu="1"), restart_policy=RestartPolicy.FAILURE),
        run_policy=RunPolicy(clean_pod_policy=CleanPodPolicy.ALL, ttl_seconds_after_finished=60, active_deadline_seconds=600),
    )
    assert (config.task_type, config.task_type_version) == ("pytorch", 1)
    assert config.custom() == {
        "masterReplicas": {"common": {"replicas": 1, "image": "img:1", "restartPolicy": "RESTART_POLICY_ALWAYS"}},
        "workerReplicas": {
            "common": {
                "replicas": 3,
                "resources": {
                    "requests": [{"name": "CPU", "value": "2"}, {"name": "MEMORY", "value": "4Gi"}],
                    "limits": [{"name": "GPU", "value": "1"}],
                },
                "restartPolicy": "RESTART_POLICY_ON_FAILURE",
            }
        },
        "runPolicy": {"cleanPodPolicy": "CLEANPOD_POLICY_ALL", "ttlSecondsAfterFinished": 60, "activeDeadlineSeconds": 600},
    }


def test_deprecated_num_workers_still_sets_the_worker_count() -> None:
    assert PyTorch(num_workers=2).custom()["workerReplicas"] == {"common": {"replicas": 2}}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PyTorch(), "PyTorch needs a worker count"),
        (lambda: PyTorch(worker=Worker(replicas=2), num_workers=2), "give the worker count once"),
        (lambda: Worker(replicas=-1), "Worker.replicas must be a whole number >= 0"),
        (lambda: Master(restart_policy="Always"), "restart_policy must be a RestartPolicy"),
        (lambda: RunPolicy(clean_pod_policy="All"), "clean_pod_policy must be a CleanPodPolicy"),
        (lambda: RunPolicy(backoff_limit=-1), "backoff_limit must be a whole number >= 0"),
    ],
)
def test_bad_pytorch_settings_are_refused_clearly(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


def test_enum_numbers_match_flyteidl() -> None:
    assert {p.name: p.value for p in RestartPolicy} == {
        "NEVER": common_pb2.RESTART_POLICY_NEVER,
        "FAILURE": common_pb2.RESTART_POLICY_ON_FAILURE,
        "ALWAYS": common_pb2.RESTART_POLICY_ALWAYS,
    }
    assert {p.name: p.value for p in CleanPodPolicy} == {
        "NONE": kubeflow_common_pb2.CLEANPOD_POLICY_NONE,
        "RUNNING": kubeflow_common_pb2.CLEANPOD_POLICY_RUNNING,
        "ALL": kubeflow_common_pb2.CLEANPOD_POLICY_ALL,
    }


def test_configs_and_their_custom_never_import_torch() -> None:
    code = (
        "import sys\n"
        "from flytelite.torch_launcher.config import Elastic, PyTorch, Worker\n"
        "Elastic(nnodes=2).custom(); PyTorch(worker=Worker(replicas=2)).custom()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_task_decorator_takes_the_task_type_from_the_config() -> None:
    from flytelite import task

    def train(x: int) -> int:
        return x

    assert task(task_config=Elastic())(train).task_type == "python-task"
    assert task(task_config=Elastic(nnodes="1:2"))(train).task_type == "pytorch"
    assert task(task_config=PyTorch(worker=Worker(replicas=2)))(train).task_type == "pytorch"
