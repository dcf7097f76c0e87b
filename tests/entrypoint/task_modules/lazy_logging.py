"""A task module that never imports logging at module level: only the task body does."""

from __future__ import annotations

import sys

from flytelite import task


@task
def lazy(text: str) -> bool:
    was_imported = "logging" in sys.modules
    import logging

    logging.getLogger("lazy_logging").warning("lazy says %s", text)
    return was_imported
