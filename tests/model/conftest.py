"""Fixtures of the model tests: the example programs of dynamic_programs/, importable by name."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Callable, Iterator

import pytest

from .futures_runner import PROGRAMS


@pytest.fixture(scope="module")
def import_program() -> Iterator[Callable[[str], ModuleType]]:
    """``importlib.import_module``, with dynamic_programs/ on ``sys.path`` while a test module runs."""
    sys.path.insert(0, str(PROGRAMS))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(PROGRAMS))
