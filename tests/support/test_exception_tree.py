"""Every exception class flytelite defines derives from ``FlyteliteError`` and is drawn in the one tree."""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

import flytelite
from flytelite.io import FlyteliteError
from flytelite.support import exceptions

SRC = Path(flytelite.__file__).parent
OUTSIDE_THE_BASE = {"TerminatedError"}  # a BaseException on purpose: user code's ``except Exception`` must not catch it


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _exception_classes() -> dict[str, type]:
    """Every class defined at module level in ``src/flytelite`` that is an exception, by qualified name."""
    found: dict[str, type] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = [node.name for node in tree.body if isinstance(node, ast.ClassDef)]
        if not names:
            continue
        module = importlib.import_module(_module_name(path))
        for name in names:
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = cls
    return found


def test_the_walk_finds_the_known_classes() -> None:
    names = {qualified.rsplit(".", 1)[1] for qualified in _exception_classes()}
    assert {"StorageError", "UnsupportedType", "MalformedLiteral", "TaskTimeoutError", "PoolError", "InvalidRequest"} <= names


def test_every_exception_class_derives_from_the_base() -> None:
    outside = [q for q, cls in _exception_classes().items() if not issubclass(cls, FlyteliteError) and q.rsplit(".", 1)[1] not in OUTSIDE_THE_BASE]
    assert outside == []


def test_the_classes_outside_the_base_are_base_exceptions() -> None:
    for qualified, cls in _exception_classes().items():
        if qualified.rsplit(".", 1)[1] in OUTSIDE_THE_BASE:
            assert not issubclass(cls, Exception), qualified


def test_the_tree_lists_every_class_with_its_builtin_base() -> None:
    tree = exceptions.__doc__ or ""
    for qualified, cls in _exception_classes().items():
        name = qualified.rsplit(".", 1)[1]
        builtin = [base.__name__ for base in cls.__bases__ if base.__module__ == "builtins" and base not in (Exception, BaseException)]
        drawn = f"{name} ({builtin[0]})" if builtin else name
        assert f"── {drawn} " in tree, f"{qualified} is not drawn in support/exceptions.py's tree as {drawn!r}"


def test_builtin_bases_are_kept_for_callers_that_catch_them() -> None:
    from flytelite.types import InterfaceMismatch, MalformedLiteral, UnsupportedType

    assert issubclass(UnsupportedType, TypeError) and issubclass(InterfaceMismatch, TypeError)
    assert issubclass(MalformedLiteral, ValueError)
    assert flytelite.FlyteliteError is FlyteliteError
