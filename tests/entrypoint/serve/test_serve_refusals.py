"""What flytelite serve cannot run is refused when the task is defined or serialized, saying why."""

from __future__ import annotations

import pytest

from flytelite import Elastic, PodTemplate, dynamic, map_task, task
from flytelite.model.template import SerializationSettings, to_task_template

SETTINGS = SerializationSettings({"default": "ghcr.io/acme/app:1"}, project="p", domain="d", version="v1")


def double(x: int) -> int:
    return 2 * x


def test_a_map_over_a_reusable_task_is_refused_with_the_backend_s_reason_and_what_to_use():
    with pytest.raises(ValueError) as refused:
        map_task(task(reusable=True)(double))
    message = str(refused.value)
    assert "cannot send an array node's sub-nodes to an agent" in message
    assert "@dynamic that calls the task once per item" in message and "without reusable=True" in message
    plain = map_task(task(double))  # a map over a plain task stays what it was: pods
    assert to_task_template(plain, SETTINGS).container.args[1] == "map-execute"


def test_a_map_over_a_reusable_task_inside_a_dynamic_is_refused_when_the_dynamic_builds_it():
    inner = task(reusable=True)(double)

    @dynamic(reusable=True)
    def fan(n: int) -> list[int]:
        return map_task(inner)(x=list(range(n)))

    with pytest.raises(ValueError, match="cannot send an array node's sub-nodes"):
        fan(n=2)


@pytest.mark.parametrize(
    ("options", "reason"),
    [
        ({"task_config": Elastic(nnodes=2)}, "Elastic task_config"),
        ({"task_config": Elastic(nnodes=1, nproc_per_node=2)}, "Elastic task_config"),
        ({"pod_template": PodTemplate({"containers": [{"name": "primary"}]})}, "pod template"),
        ({"pod_template_name": "gpu-nodes"}, "pod template"),
        ({"accelerator": "nvidia-tesla-t4"}, "accelerator or shared memory"),
        ({"shared_memory": "2Gi"}, "accelerator or shared memory"),
    ],
)
def test_reusable_tasks_the_daemon_cannot_run_are_refused_when_defined(options, reason):
    for decorator in (task, dynamic):
        with pytest.raises(ValueError) as refused:
            decorator(reusable=True, **options)(double)
        assert reason in str(refused.value) and "Drop reusable=True" in str(refused.value)
        decorator(**options)(double)  # the same task in a pod of its own is fine


def test_a_reusable_task_changed_after_its_decorator_is_refused_when_serialized():
    reusable = task(reusable=True)(double)
    assert to_task_template(reusable, SETTINGS).type == "flytelite-reusable"
    reusable.pod_template = PodTemplate({"containers": [{"name": "primary"}]})
    with pytest.raises(ValueError, match="pod template"):
        to_task_template(reusable, SETTINGS)


def test_serialize_refuses_a_module_with_a_map_over_a_reusable_task(ep, tmp_path):
    module = tmp_path / "mapped_reusable.py"
    module.write_text("from flytelite import map_task, task\n\n@task(reusable=True)\ndef double(x: int) -> int:\n    return 2 * x\n\nmapped = map_task(double)\n")
    result = ep.flytelite("serialize", str(module), "-o", str(tmp_path / "out"), "--image", "ghcr.io/acme/app:1", cwd=tmp_path)
    assert result.returncode != 0 and "cannot send an array node's sub-nodes to an agent" in result.stderr
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
