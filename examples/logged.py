"""A task that logs through the standard library, as real tasks do: the cold-start benchmark's second case."""

import logging

from flytelite import task

log = logging.getLogger(__name__)


@task
def add_logged(a: int, b: int = 3) -> int:
    """Add two integers, saying so in the log."""
    log.warning("adding %d and %d", a, b)
    return a + b
