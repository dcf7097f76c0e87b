"""What a task declares about itself besides its code: caching, retries, resources, secrets."""

from __future__ import annotations

import datetime
import enum
from typing import Any, Iterable

from ..support.records import Record


class Resources(Record):
    """Kubernetes resources; with ``resources=`` a value may be a ``(request, limit)`` pair."""

    __slots__ = ("cpu", "mem", "gpu", "ephemeral_storage")

    def __init__(self, cpu: Any = None, mem: Any = None, gpu: Any = None, ephemeral_storage: Any = None) -> None:
        self.cpu, self.mem, self.gpu, self.ephemeral_storage = cpu, mem, gpu, ephemeral_storage

    def items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self.__slots__ if getattr(self, name) is not None]


class _MountType:
    """flytekit's ``Secret.MountType`` names: ``Secret(..., mount_requirement=Secret.MountType.ENV_VAR)``."""

    ANY = "ANY"
    ENV_VAR = "ENV_VAR"
    FILE = "FILE"


class Secret(Record):
    """A secret the task needs mounted: ``Secret(group="aws", key="token")``."""

    __slots__ = ("group", "key", "mount_requirement")
    MountType = _MountType

    def __init__(self, group: str, key: str | None = None, mount_requirement: str = "ANY") -> None:
        if not group:
            raise ValueError("Secret needs a group, e.g. Secret(group='aws', key='token')")
        if mount_requirement not in ("ANY", "ENV_VAR", "FILE"):
            raise ValueError(f"Secret mount_requirement must be ANY, ENV_VAR or FILE, not {mount_requirement!r}")
        self.group, self.key, self.mount_requirement = group, key, mount_requirement


def _as_timeout(value: int | datetime.timedelta | None) -> datetime.timedelta | None:
    if value is None or isinstance(value, datetime.timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.timedelta(seconds=value)
    raise ValueError(f"timeout must be whole seconds (int) or a datetime.timedelta, not {type(value).__name__}")


class DeckField(str, enum.Enum):
    """The standard decks a task with ``enable_deck=True`` writes (``@task(deck_fields=...)``), as flytekit names them."""

    INPUT = "Input"
    OUTPUT = "Output"
    SOURCE_CODE = "Source Code"
    TIMELINE = "Timeline"
    DEPENDENCIES = "Dependencies"


ALL_DECK_FIELDS = tuple(DeckField)  # flytekit 1.16's default


def deck_fields_of(fields: Iterable[DeckField | str] | None) -> tuple[DeckField, ...]:
    """Checked deck fields (their names as strings are taken too); ``None`` means none."""
    checked = []
    for field in fields or ():
        try:
            checked.append(DeckField(field))
        except ValueError:
            names = ", ".join(f"DeckField.{member.name}" for member in DeckField)
            raise ValueError(f"deck_fields: {field!r} is not a deck field; use {names}") from None
    return tuple(checked)


class Cache(Record):
    """flytekit's cache settings in one value: ``@task(cache=Cache(version="1", serialize=True, ignored_inputs=("seed",)))``."""

    __slots__ = ("version", "serialize", "ignored_inputs")

    def __init__(self, version: str | None = None, serialize: bool = False, ignored_inputs: tuple[str, ...] | str = ()) -> None:
        if not version:
            # flytekit can hash the function's source into a version (cache policies); we do not, on purpose:
            # a version that changes with every edit of the code silently empties the cache.
            raise ValueError("Cache needs a version, e.g. Cache(version='1'): flytelite does not derive one from the source")
        self.version, self.serialize = version, serialize
        self.ignored_inputs = (ignored_inputs,) if isinstance(ignored_inputs, str) else tuple(ignored_inputs)


class TaskMetadata(Record):
    """Validated caching, retry and timeout settings of a task."""

    __slots__ = (
        "cache",
        "cache_version",
        "cache_serialize",
        "cache_ignore_input_vars",
        "retries",
        "timeout",
        "interruptible",
        "deprecated",
        "pod_template_name",
        "labels",
        "annotations",
    )

    def __init__(
        self,
        cache: bool = False,
        cache_version: str = "",
        cache_serialize: bool = False,
        cache_ignore_input_vars: tuple[str, ...] | list[str] = (),
        retries: int = 0,
        timeout: int | datetime.timedelta | None = None,
        interruptible: bool | None = None,
        deprecated: str = "",
        pod_template_name: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        if cache and not cache_version:
            raise ValueError("cache=True needs a cache_version: add cache_version='1' and bump it when the code changes")
        if cache_serialize and not cache:
            raise ValueError("cache_serialize=True only makes sense with caching: add cache=True and a cache_version")
        if cache_ignore_input_vars and not cache:
            raise ValueError("cache_ignore_input_vars only makes sense with caching: add cache=True and a cache_version")
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, not {retries!r}")
        if not isinstance(deprecated, str):
            raise ValueError("deprecated takes the message to show users, e.g. deprecated='use train_v2'")
        self.timeout = _as_timeout(timeout)
        if self.timeout is not None and self.timeout <= datetime.timedelta(0):
            raise ValueError(f"timeout must be positive, not {self.timeout}")
        self.cache, self.cache_version, self.cache_serialize = cache, cache_version, cache_serialize
        self.cache_ignore_input_vars = tuple(cache_ignore_input_vars)
        self.retries, self.interruptible, self.deprecated = retries, interruptible, deprecated
        self.pod_template_name = pod_template_name
        self.labels, self.annotations = _string_map("labels", labels), _string_map("annotations", annotations)

    @classmethod
    def with_cache(cls, cache: bool | Cache, cache_version: str, cache_serialize: bool, cache_ignore_input_vars: Any, **rest: Any) -> TaskMetadata:
        """Metadata from ``cache=True`` and its three companions, or from one :class:`Cache`."""
        if not isinstance(cache, Cache):
            return cls(cache, cache_version, cache_serialize, cache_ignore_input_vars, **rest)
        if cache_version or cache_serialize or cache_ignore_input_vars:
            raise ValueError("give either cache=Cache(...) or cache_version/cache_serialize/cache_ignore_input_vars, not both")
        return cls(True, cache.version, cache.serialize, cache.ignored_inputs, **rest)


def _string_map(what: str, values: dict[str, str] | None) -> dict[str, str]:
    values = dict(values or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise ValueError(f"{what} must map strings to strings, e.g. {{'team': 'ml'}}, not {values!r}")
    return values


class ExtendedResources(Record):
    """What Kubernetes resources cannot say: the GPU kind and the shared memory (``/dev/shm``) size."""

    __slots__ = ("accelerator", "shared_memory")

    def __init__(self, accelerator: Any = None, shared_memory: bool | str | None = None) -> None:
        if isinstance(accelerator, str):
            from .accelerators import GPUAccelerator

            accelerator = GPUAccelerator(accelerator)
        if accelerator is not None and not hasattr(accelerator, "device"):
            raise ValueError(f"accelerator takes a GPUAccelerator (e.g. flytelite.model.accelerators.T4) or a device name, not {accelerator!r}")
        if shared_memory is not None and not isinstance(shared_memory, (bool, str)):
            raise ValueError(f"shared_memory takes True (no size limit) or a size such as '2Gi', not {shared_memory!r}")
        self.accelerator, self.shared_memory = accelerator, shared_memory


class ResourceSpec(Record):
    """Requests and limits of a task."""

    __slots__ = ("requests", "limits")

    def __init__(self, requests: Resources | None = None, limits: Resources | None = None) -> None:
        self.requests = requests or Resources()
        self.limits = limits or Resources()

    @classmethod
    def build(cls, requests: Resources | None, limits: Resources | None, resources: Resources | None) -> ResourceSpec:
        if resources is None:
            return cls(requests, limits)
        if requests is not None or limits is not None:
            raise ValueError("give either resources= or requests=/limits=, not both")
        request_values, limit_values = {}, {}
        for name, value in resources.items():
            if isinstance(value, (tuple, list)):
                if len(value) != 2:
                    raise ValueError(f"resources {name}={value!r}: a pair must be (request, limit)")
                request_values[name], limit_values[name] = value
            else:
                request_values[name] = limit_values[name] = value
        return cls(Resources(**request_values), Resources(**limit_values))


class PodTemplate(Record):
    """The pod a task runs in: node selectors, tolerations, volumes, side containers.

    ``pod_spec`` is a Kubernetes ``PodSpec`` as its JSON form (a dict, camelCase keys) or a
    ``kubernetes.client.V1PodSpec``. The container named ``primary_container_name`` gets the task's
    image (unless it names one), command, resources and environment, as flytekit does.
    """

    __slots__ = ("pod_spec", "primary_container_name", "labels", "annotations")

    def __init__(
        self,
        pod_spec: Any,
        primary_container_name: str = "primary",
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> None:
        self.pod_spec = _pod_spec_json(pod_spec)
        if not isinstance(self.pod_spec.get("containers", []), list):
            raise ValueError("PodTemplate pod_spec 'containers' must be a list of containers")
        self.primary_container_name = primary_container_name
        self.labels, self.annotations = _string_map("labels", labels), _string_map("annotations", annotations)


def _pod_spec_json(pod_spec: Any) -> dict[str, Any]:
    if isinstance(pod_spec, dict):
        return pod_spec
    if hasattr(pod_spec, "openapi_types"):  # a kubernetes client model: the user has the package
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(pod_spec)
    raise ValueError(f"PodTemplate pod_spec takes a dict (the PodSpec's JSON) or a kubernetes V1PodSpec, not {type(pod_spec).__name__}")
