"""The smallest useful tasks: what the cold-start benchmark and `make demo` run."""

import logging

from flytelite import task

log = logging.getLogger(__name__)


@task
def add(a: int, b: int = 3) -> int:
    """Add two integers."""
    return a + b


@task(retries=2)
def mean(values: list[float]) -> float:
    """The mean of a non-empty list."""
    if not values:
        raise ValueError("mean() of an empty list: pass at least one value")
    return sum(values) / len(values)


@task
def add_logged(a: int, b: int = 3) -> int:
    """Add two integers, saying so in the log as real tasks do."""
    log.warning("adding %d and %d", a, b)
    return a + b
