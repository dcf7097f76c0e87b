"""Tasks as the ``TaskTemplate`` a Flyte backend registers, with our command in the container.

The container args are ``flytelite execute`` with the backend's placeholders and the resolver's
loader args; ``fast=True`` prefixes ``flytelite fast-execute``; a task may replace the command with
``set_command_fn``. Image strings may hold ``{{.image.<name>.fqn}}:{{.image.<name>.version}}``
placeholders, resolved from the images given to :class:`SerializationSettings`.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from flyteidl.core import identifier_pb2, security_pb2, tasks_pb2

from .. import __version__
from ..support.records import Record
from .contract import BaseTask
from .tasks import REUSABLE_SYNC_TASK_TYPE, REUSABLE_TASK_TYPE, check_reusable

EXECUTE_PLACEHOLDER_ARGS = [
    "--inputs",
    "{{.input}}",
    "--output-prefix",
    "{{.outputPrefix}}",
    "--raw-output-data-prefix",
    "{{.rawOutputDataPrefix}}",
    "--checkpoint-path",
    "{{.checkpointOutputPrefix}}",
    "--prev-checkpoint",
    "{{.prevCheckpointPrefix}}",
]
FAST_PLACEHOLDER_ARGS = ["--additional-distribution", "{{ .remote_package_path }}", "--dest-dir", "{{ .dest_dir }}"]
_IMAGE_PLACEHOLDER = re.compile(r"\{\{\s*\.image\.([\w-]+)\.(fqn|version)\s*\}\}")
_RESOURCE_NAMES = {
    "cpu": tasks_pb2.Resources.CPU,
    "mem": tasks_pb2.Resources.MEMORY,
    "gpu": tasks_pb2.Resources.GPU,
    "ephemeral_storage": tasks_pb2.Resources.EPHEMERAL_STORAGE,
}
_MOUNT = {"ANY": security_pb2.Secret.ANY, "ENV_VAR": security_pb2.Secret.ENV_VAR, "FILE": security_pb2.Secret.FILE}


class SerializationSettings(Record):
    """Where and as what tasks are registered: identity, images (``default`` is the default image)."""

    __slots__ = ("project", "domain", "version", "images", "fast", "env", "distribution")

    def __init__(
        self,
        images: dict[str, str],
        project: str = "{{ registration.project }}",
        domain: str = "{{ registration.domain }}",
        version: str = "{{ registration.version }}",
        fast: bool = False,
        env: dict[str, str] | None = None,
        distribution: tuple[str, str] | None = None,
    ) -> None:
        if "default" not in images:
            raise ValueError("a default image is needed: --image <uri> or --image default=<uri>")
        self.images, self.project, self.domain, self.version = images, project, domain, version
        self.fast, self.env = fast, env or {}
        # (code archive uri, dest dir) of a running fast-registered dynamic: its sub-tasks get the real values
        self.distribution = distribution


def _split_image(uri: str) -> tuple[str, str]:
    repository, _, tag = uri.rpartition(":")
    if not repository or "/" in tag:
        return uri, "latest"
    return repository, tag


def resolve_image(image: str | None, images: dict[str, str]) -> str:
    """The image string with ``{{.image.<name>.fqn/version}}`` placeholders filled in."""
    if image is None:
        return images["default"]

    def fill(match: re.Match[str]) -> str:
        name, part = match.group(1), match.group(2)
        if name not in images:
            known = ", ".join(sorted(images))
            raise ValueError(f"image placeholder names {name!r}, but only these images were given: {known} (use --image {name}=<uri>)")
        fqn, version = _split_image(images[name])
        return fqn if part == "fqn" else version

    return _IMAGE_PLACEHOLDER.sub(fill, image)


def default_command(task: BaseTask, settings: SerializationSettings) -> list[str]:
    """``flytelite execute`` (or ``map-execute``) with placeholders, the resolver and its loader args."""
    resolver = task.task_resolver
    args = ["flytelite", task.execute_verb, *EXECUTE_PLACEHOLDER_ARGS, "--resolver", resolver.location(), "--", *resolver.loader_args(task)]
    if settings.distribution is not None:
        uri, dest_dir = settings.distribution
        return ["flytelite", "fast-execute", "--additional-distribution", uri, "--dest-dir", dest_dir, "--", *args]
    if settings.fast:
        return ["flytelite", "fast-execute", *FAST_PLACEHOLDER_ARGS, "--", *args]
    return args


def resources_to_idl(requests: Any, limits: Any) -> tasks_pb2.Resources:
    """flyteidl ``Resources`` of two :class:`~flytelite.model.metadata.Resources` (either may be None)."""
    out = tasks_pb2.Resources()
    for entries, spec in ((out.requests, requests), (out.limits, limits)):
        for name, value in spec.items() if spec is not None else ():
            entries.add(name=_RESOURCE_NAMES[name], value=str(value))
    return out


def _metadata(task: BaseTask) -> tasks_pb2.TaskMetadata:
    meta = task.metadata
    out = tasks_pb2.TaskMetadata(
        discoverable=meta.cache,
        discovery_version=meta.cache_version,
        cache_serializable=meta.cache_serialize,
        cache_ignore_input_vars=list(meta.cache_ignore_input_vars),
        deprecated_error_message=meta.deprecated,
        pod_template_name=meta.pod_template_name or "",
    )
    out.runtime.type = tasks_pb2.RuntimeMetadata.FLYTE_SDK
    out.runtime.version = __version__
    out.runtime.flavor = "python"
    out.retries.retries = meta.retries
    if meta.timeout is not None:
        out.timeout.FromTimedelta(meta.timeout)
    if meta.interruptible is not None:
        out.interruptible = meta.interruptible
    out.generates_deck.value = task.enable_deck
    out.metadata.SetInParent()  # flytekit always sends the (empty) pod metadata
    out.metadata.labels.update(meta.labels)
    out.metadata.annotations.update(meta.annotations)
    return out


def _extended_resources(extended: Any) -> tasks_pb2.ExtendedResources:
    out = tasks_pb2.ExtendedResources()
    accelerator = extended.accelerator
    if accelerator is not None:
        out.gpu_accelerator.device = accelerator.device
        if accelerator.partition_size:
            out.gpu_accelerator.partition_size = accelerator.partition_size
    if extended.shared_memory:  # flytekit's mount: /dev/shm, named flyte-shared-memory
        out.shared_memory.mount_path = "/dev/shm"
        out.shared_memory.mount_name = "flyte-shared-memory"
        if isinstance(extended.shared_memory, str):
            out.shared_memory.size_limit = extended.shared_memory
    return out


# flytekit names them after the flyteidl enum, lower-cased: GPU -> "gpu" (the backend maps it to the device plugin).
_K8S_RESOURCE_NAMES = {"cpu": "cpu", "mem": "memory", "gpu": "gpu", "ephemeral_storage": "ephemeral-storage"}


def _pod_spec(task: BaseTask, container: tasks_pb2.Container, images: dict[str, str]) -> dict[str, Any]:
    """The pod template's spec with the task's container filled into the primary one, as flytekit does."""
    import copy

    template = task.pod_template
    spec = copy.deepcopy(template.pod_spec)
    containers = spec.setdefault("containers", [])
    if not any(c.get("name") == template.primary_container_name for c in containers):
        containers.append({"name": template.primary_container_name})
    for side in containers:
        if side.get("name") != template.primary_container_name:
            if side.get("image"):
                side["image"] = resolve_image(side["image"], images)
            continue
        side["image"] = resolve_image(side["image"], images) if side.get("image") else container.image
        side["command"], side["args"] = list(container.command), list(container.args)
        resources = {
            kind: {_K8S_RESOURCE_NAMES[name]: str(value) for name, value in spec_of.items()}
            for kind, spec_of in (("limits", task.resources.limits), ("requests", task.resources.requests))
        }
        if resources["limits"] or resources["requests"]:
            side["resources"] = resources
        side["env"] = [{"name": e.key, "value": e.value} for e in container.env] + side.get("env", [])
    return spec


def _move_to_pod(template: tasks_pb2.TaskTemplate, task: BaseTask, images: dict[str, str]) -> None:
    pod = task.pod_template
    spec = _pod_spec(task, template.container, images)
    template.ClearField("container")
    template.k8s_pod.metadata.labels.update(pod.labels)
    template.k8s_pod.metadata.annotations.update(pod.annotations)
    template.k8s_pod.pod_spec.update(spec)
    template.config["primary_container_name"] = pod.primary_container_name


def to_task_spec(task: BaseTask, settings: SerializationSettings) -> Any:
    """flyteidl's ``admin.TaskSpec``: the template and the task's description (``docs=``), as flytekit registers it."""
    from flyteidl.admin import task_pb2

    from .documentation import description_of

    spec = task_pb2.TaskSpec(template=to_task_template(task, settings))
    documentation = task.documentation
    if documentation is not None:
        spec.description.CopyFrom(description_of(documentation))
    return spec


def to_task_template(task: BaseTask, settings: SerializationSettings) -> tasks_pb2.TaskTemplate:
    """The ``TaskTemplate`` of a task."""
    check_reusable(task)  # settings changed after the decorator are refused here too
    interface = task.registered_interface
    template = tasks_pb2.TaskTemplate(type=task.task_type, metadata=_metadata(task), interface=interface)
    template.id.CopyFrom(
        identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project=settings.project, domain=settings.domain, name=task.name, version=settings.version
        )
    )
    template.task_type_version = task.task_type_version
    custom = task.config.custom()
    if custom:
        template.custom.update(custom)
    elif task.task_type in (REUSABLE_TASK_TYPE, REUSABLE_SYNC_TASK_TYPE):
        # Flyte 2's connector plugin reads a Connection from custom and fails a template without one
        # (flyte main, webapi/connector/plugin.go:171-175; marshal_utils.go:19-22); Flyte 1's agent plugin ignores it.
        template.custom.SetInParent()
    command_fn: Callable[[SerializationSettings], list[str]] = task.command_fn or (lambda s: default_command(task, s))
    container = template.container
    container.image = resolve_image(task.container_image, settings.images)
    container.args.extend(command_fn(settings))
    container.resources.CopyFrom(resources_to_idl(task.resources.requests, task.resources.limits))
    for key, value in sorted(task.container_env(settings).items()):
        container.env.add(key=key, value=value)
    for secret in task.secret_requests:
        template.security_context.secrets.add(group=secret.group, key=secret.key or "", mount_requirement=_MOUNT[secret.mount_requirement])
    extended = _extended_resources(task.extended_resources)
    if extended.ByteSize():
        template.extended_resources.CopyFrom(extended)
    if task.pod_template is not None:
        _move_to_pod(template, task, settings.images)
    return template
