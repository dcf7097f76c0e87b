"""What a task declares about itself besides its code: caching, retries, resources, secrets."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any, Union

ResourceValue = Union[str, int, float, None]


@dataclass(frozen=True)
class Resources:
    """Kubernetes resources; with ``resources=`` a value may be a ``(request, limit)`` pair."""

    cpu: Any = None
    mem: Any = None
    gpu: Any = None
    ephemeral_storage: Any = None

    def items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in vars(self).items() if v is not None]


@dataclass(frozen=True)
class Secret:
    """A secret the task needs mounted: ``Secret(group="aws", key="token")``."""

    group: str
    key: str | None = None
    mount_requirement: str = "ANY"  # ANY, ENV_VAR or FILE

    def __post_init__(self) -> None:
        if not self.group:
            raise ValueError("Secret needs a group, e.g. Secret(group='aws', key='token')")
        if self.mount_requirement not in ("ANY", "ENV_VAR", "FILE"):
            raise ValueError(f"Secret mount_requirement must be ANY, ENV_VAR or FILE, not {self.mount_requirement!r}")


def _as_timeout(value: int | datetime.timedelta | None) -> datetime.timedelta | None:
    if value is None or isinstance(value, datetime.timedelta):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.timedelta(seconds=value)
    raise ValueError(f"timeout must be whole seconds (int) or a datetime.timedelta, not {type(value).__name__}")


@dataclass(frozen=True)
class TaskMetadata:
    """Validated caching, retry and timeout settings of a task."""

    cache: bool = False
    cache_version: str = ""
    cache_serialize: bool = False
    cache_ignore_input_vars: tuple[str, ...] = ()
    retries: int = 0
    timeout: datetime.timedelta | None = None
    interruptible: bool | None = None
    deprecated: str = ""
    pod_template_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeout", _as_timeout(self.timeout))  # type: ignore[arg-type]
        object.__setattr__(self, "cache_ignore_input_vars", tuple(self.cache_ignore_input_vars))
        if self.cache and not self.cache_version:
            raise ValueError("cache=True needs a cache_version: add cache_version='1' and bump it when the code changes")
        if self.cache_serialize and not self.cache:
            raise ValueError("cache_serialize=True only makes sense with caching: add cache=True and a cache_version")
        if self.cache_ignore_input_vars and not self.cache:
            raise ValueError("cache_ignore_input_vars only makes sense with caching: add cache=True and a cache_version")
        if not isinstance(self.retries, int) or isinstance(self.retries, bool) or self.retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, not {self.retries!r}")
        if self.timeout is not None and self.timeout <= datetime.timedelta(0):
            raise ValueError(f"timeout must be positive, not {self.timeout}")
        if not isinstance(self.deprecated, str):
            raise ValueError("deprecated takes the message to show users, e.g. deprecated='use train_v2'")


@dataclass(frozen=True)
class ResourceSpec:
    requests: Resources = field(default_factory=Resources)
    limits: Resources = field(default_factory=Resources)

    @classmethod
    def build(cls, requests: Resources | None, limits: Resources | None, resources: Resources | None) -> ResourceSpec:
        if resources is None:
            return cls(requests or Resources(), limits or Resources())
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
