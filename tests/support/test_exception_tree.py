"""Every exception class flytelite defines derives from ``FlyteliteException`` and is drawn in the one
tree, in the module it lives in; the tree draws no class the source lacks."""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path

import flytelite
from flytelite.io import FlyteliteError, FlyteliteException
from flytelite.support import exceptions

SRC = Path(flytelite.__file__).parent
NOT_AN_EXCEPTION = {"TerminatedError"}  # on purpose: user code's ``except Exception`` must not catch it
# A drawn class: its name, its builtin bases in brackets, the module it lives in.
_ROW = re.compile(r"^\s*(?:[├└]── )?(?P<name>[A-Z]\w+)(?: \((?P<builtins>[\w, ]+)\))?\s+(?P<module>[\w/]+)\s")


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


def test_every_exception_class_derives_from_the_common_base() -> None:
    outside = [q for q, cls in _exception_classes().items() if not issubclass(cls, FlyteliteException)]
    assert outside == []


def test_all_but_terminated_error_are_exceptions() -> None:
    for qualified, cls in _exception_classes().items():
        name = qualified.rsplit(".", 1)[1]
        if name == "FlyteliteException":
            continue
        assert issubclass(cls, FlyteliteError) is (name not in NOT_AN_EXCEPTION), qualified
        assert issubclass(cls, Exception) is (name not in NOT_AN_EXCEPTION), qualified


def _rows() -> list[re.Match[str]]:
    block = (exceptions.__doc__ or "").split("::\n\n", 1)[1].split("\n\n", 1)[0]
    return [row for row in map(_ROW.match, block.splitlines()) if row]


def _drawn() -> dict[str, str]:
    """``{class name: module}`` as the tree draws them."""
    return {row["name"]: row["module"] for row in _rows()}


def _drawn_builtins() -> dict[str, list[str]]:
    return {row["name"]: [b.strip() for b in (row["builtins"] or "").split(",") if b.strip()] for row in _rows()}


def test_the_tree_draws_each_class_where_it_lives_and_no_other() -> None:
    defined = {q.rsplit(".", 1)[1]: q.rsplit(".", 1)[0] for q in _exception_classes()}
    drawn = _drawn()
    assert sorted(drawn) == sorted(defined), "the tree draws a class the source lacks, or misses one"
    moved = {name: module for name, module in drawn.items() if "flytelite." + module.replace("/", ".") != defined[name]}
    assert moved == {}


def test_the_tree_draws_each_class_with_its_builtin_bases() -> None:
    drawn = _drawn_builtins()
    for qualified, cls in _exception_classes().items():
        name = qualified.rsplit(".", 1)[1]
        builtin = [base.__name__ for base in cls.__bases__ if base.__module__ == "builtins" and base is not BaseException]
        assert drawn[name] == builtin, f"{qualified} is drawn with builtin bases {drawn[name]}, has {builtin}"


def test_builtin_bases_are_kept_for_callers_that_catch_them() -> None:
    from flytelite.types import InterfaceMismatch, MalformedLiteral, UnsupportedType

    assert issubclass(UnsupportedType, TypeError) and issubclass(InterfaceMismatch, TypeError)
    assert issubclass(MalformedLiteral, ValueError)
    assert flytelite.FlyteliteError is FlyteliteError and flytelite.FlyteliteException is FlyteliteException
