"""The task settings ML teams use (accelerator, shared memory, labels, Cache, pod templates) against
the TaskTemplates flytekit 1.16 serializes for the same tasks (golden/task_template_ml.pb, _pod.pb)."""

from __future__ import annotations

import os

import pytest
from flyteidl.core import tasks_pb2
from google.protobuf import json_format

from flytelite import Cache, PodTemplate, Resources, task
from flytelite.model.accelerators import A100, T4
from flytelite.model.template import SerializationSettings, to_task_template

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")
SETTINGS = SerializationSettings({"default": "ghcr.io/acme/img:1"}, project="p", domain="d", version="v1")


@task(
    accelerator=T4,
    shared_memory="2Gi",
    labels={"team": "ml"},
    annotations={"owner": "ada"},
    cache=Cache(version="7", serialize=True, ignored_inputs=("b",)),
    environment={"MODE": "train"},
)
def ml_settings(a: int, b: int) -> int:
    return a + b


@task(
    pod_template=PodTemplate(
        primary_container_name="main",
        labels={"l": "v"},
        annotations={"an": "av"},
        pod_spec={
            "containers": [{"name": "sidecar", "image": "busybox:1"}],
            "nodeSelector": {"gpu": "yes"},
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
        },
    ),
    accelerator=A100.partitioned("1g.5gb"),
    shared_memory=True,
    requests=Resources(cpu="1", mem="1Gi", gpu="1"),
    environment={"MODE": "train"},
)
def podded(a: int) -> int:
    return a


def _golden(name: str) -> tasks_pb2.TaskTemplate:
    with open(os.path.join(GOLDEN, f"{name}.pb"), "rb") as f:
        return tasks_pb2.TaskTemplate.FromString(f.read())


def test_ml_settings_match_flytekit():
    theirs, ours = _golden("task_template_ml"), to_task_template(ml_settings, SETTINGS)
    theirs.metadata.runtime.version = ours.metadata.runtime.version
    assert ours.metadata == theirs.metadata  # labels, annotations, Cache(...)
    assert ours.extended_resources == theirs.extended_resources
    assert ours.WhichOneof("target") == "container" and ours.container.env == theirs.container.env


def test_pod_template_matches_flytekit_except_the_command():
    theirs, ours = _golden("task_template_pod"), to_task_template(podded, SETTINGS)
    theirs.metadata.runtime.version = ours.metadata.runtime.version
    assert ours.metadata == theirs.metadata
    assert ours.extended_resources == theirs.extended_resources
    assert ours.WhichOneof("target") == theirs.WhichOneof("target") == "k8s_pod"
    assert dict(ours.config) == dict(theirs.config) == {"primary_container_name": "main"}
    assert ours.k8s_pod.metadata == theirs.k8s_pod.metadata
    our_spec, their_spec = (json_format.MessageToDict(t.k8s_pod.pod_spec) for t in (ours, theirs))
    our_main, their_main = (next(c for c in s["containers"] if c["name"] == "main") for s in (our_spec, their_spec))
    assert our_main["args"][:2] == ["flytelite", "execute"] and their_main["args"][0] == "pyflyte-execute"
    assert our_main["args"][2:12] == their_main["args"][1:11]  # the backend's placeholders
    for container in (our_main, their_main):
        del container["args"]
    assert our_spec == their_spec


def test_cache_and_cache_version_together_is_an_early_error():
    with pytest.raises(ValueError, match="either cache=Cache"):
        task(cache=Cache(version="1"), cache_version="2")


def test_cache_without_version_says_why():
    with pytest.raises(ValueError, match="Cache needs a version"):
        Cache(serialize=True)


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"accelerator": 3}, "accelerator takes a GPUAccelerator"),
        ({"shared_memory": 2.5}, "shared_memory takes True"),
        ({"labels": {"a": 1}}, "labels must map strings to strings"),
        ({"pod_template": {"containers": []}}, "pod_template takes a flytelite PodTemplate"),
    ],
)
def test_bad_settings_fail_at_decoration(settings, words):
    with pytest.raises(ValueError, match=words):
        task(**settings)


def test_accelerator_by_device_name():
    @task(accelerator="nvidia-l4")
    def f() -> None:
        pass

    assert to_task_template(f, SETTINGS).extended_resources.gpu_accelerator.device == "nvidia-l4"


def test_secret_mount_type_names_serialize_like_flytekit():
    from flytelite import Secret

    @task(secret_requests=[Secret(group="aws", key="token", mount_requirement=Secret.MountType.ENV_VAR)])
    def f() -> None:
        pass

    secret = to_task_template(f, SETTINGS).security_context.secrets[0]
    assert secret.mount_requirement == secret.ENV_VAR


def test_flytekit_recoverable_exception_name():
    import flytelite

    assert flytelite.FlyteRecoverableException is flytelite.RecoverableException
