"""What a task declares about itself besides its code: caching, retries, resources, secrets."""

from __future__ import annotations

import datetime
from typing import Any

from ..support.records import Record


class Resources(Record):
    """Kubernetes resources; with ``resources=`` a value may be a ``(request, limit)`` pair."""

    __slots__ = ("cpu", "mem", "gpu", "ephemeral_storage")

    def __init__(self, cpu: Any = None, mem: Any = None, gpu: Any = None, ephemeral_storage: Any = None) -> None:
        self.cpu, self.mem, self.gpu, self.ephemeral_storage = cpu, mem, gpu, ephemeral_storage

    def items(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self.__slots__ if getattr(self, name) is not None]


class Secret(Record):
    """A secret the task needs mounted: ``Secret(group="aws", key="token")``."""

    __slots__ = ("group", "key", "mount_requirement")

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
