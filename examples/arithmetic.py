"""The smallest useful tasks: what the cold-start benchmark and `make demo` run."""

from flytelite import task


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

