"""Objects named by a dotted path, the way Flyte names resolvers: ``package.module.attribute``."""

from __future__ import annotations

import importlib
from typing import Any


def object_at(path: str, what: str = "object") -> Any:
    """The attribute ``path`` names; ``ValueError`` says what is wrong with the path."""
    module_name, _, attribute = path.rpartition(".")
    if not module_name:
        raise ValueError(f"{what} {path!r} is not a dotted path like 'package.module.attribute'")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except AttributeError:
        raise ValueError(f"{what} {path!r}: module {module_name!r} has no attribute {attribute!r}") from None
