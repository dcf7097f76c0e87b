"""Our TaskTemplate against the one flytekit 1.16 serializes for the same task (golden file)."""

from __future__ import annotations

import datetime
import os

from flyteidl.core import tasks_pb2

from flytelite import Resources, Secret, task
from flytelite.model.template import SerializationSettings, to_task_template

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "task_template_configured.pb")


@task(
    retries=2,
    cache=True,
    cache_version="1",
    cache_serialize=True,
    timeout=datetime.timedelta(minutes=5),
    interruptible=True,
    deprecated="use configured_v2",
    requests=Resources(cpu="1", mem="1Gi"),
    limits=Resources(mem="2Gi"),
    environment={"MODE": "prod"},
    secret_requests=[Secret(group="aws", key="token")],
)
def configured(a: int, b: int = 3) -> int:
    return a + b


def _flytekit_template() -> tasks_pb2.TaskTemplate:
    with open(GOLDEN, "rb") as f:
        return tasks_pb2.TaskTemplate.FromString(f.read())


def _ours() -> tasks_pb2.TaskTemplate:
    settings = SerializationSettings({"default": "ghcr.io/acme/img:1"}, project="p", domain="d", version="v1")
    return to_task_template(configured, settings)


def test_interface_type_and_security_match_flytekit():
    theirs, ours = _flytekit_template(), _ours()
    assert ours.interface == theirs.interface
    assert ours.type == theirs.type
    assert ours.security_context == theirs.security_context


def test_metadata_matches_flytekit_except_the_runtime_identity():
    theirs, ours = _flytekit_template(), _ours()
    assert theirs.metadata.runtime.version  # flytekit's own version; ours names flytelite's
    theirs.metadata.runtime.version = ours.metadata.runtime.version
    assert ours.metadata == theirs.metadata


def test_container_matches_flytekit_except_the_command():
    theirs, ours = _flytekit_template(), _ours()
    assert ours.container.image == theirs.container.image
    assert ours.container.resources == theirs.container.resources
    assert list(ours.container.env) == list(theirs.container.env)
    assert ours.container.args[:12] == ["flytelite", "execute", *theirs.container.args[1:11]]
    assert ours.id.project == theirs.id.project and ours.id.version == theirs.id.version
