"""The storage layer's variables: defined once (``io/variables.py``), parsed once per set of values."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

import flytelite
from flytelite.entrypoint.settings import VARIABLES
from flytelite.io import variables
from flytelite.io._retry import Budget
from flytelite.support import logs, redact

SRC = Path(flytelite.__file__).parent


@functools.cache
def _string_constants() -> dict[str, set[str]]:
    """Each string constant in ``src/flytelite`` (docstrings aside: they mention names, define none) -> the files holding it."""
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree) if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and ast.get_docstring(node) is not None}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                found.setdefault(node.value, set()).add(str(path.relative_to(SRC)))
    return found


def _modules_naming(name: str) -> list[str]:
    return sorted(_string_constants().get(name, ()))


HOMES = {"io/variables.py": variables.VARIABLES, "support/logs.py": logs.VARIABLES, "support/redact.py": redact.VARIABLES}


@pytest.mark.parametrize("home,variable", [(home, v) for home, table in HOMES.items() for v in table], ids=lambda x: getattr(x, "name", x))
def test_each_storage_logging_and_secrets_variable_is_defined_in_one_module(home: str, variable: variables.Variable) -> None:
    assert _modules_naming(variable.name) == [home]
    assert variable in VARIABLES  # the settings table is composed from the definition itself


def test_the_defaults_are_the_tables() -> None:
    settings = variables.IoSettings({})
    assert (settings.retry_budget_s, settings.retry_backoff_s, settings.part_size_mb, settings.concurrency) == (60.0, 0.5, 16, 16)
    assert settings.client_timeouts == {"connect_timeout": "5s", "read_timeout": "30s", "timeout": "10min"}
    assert variables.IoSettings({"FLYTELITE_IO_PART_SIZE_MB": "1", "FLYTELITE_IO_CONCURRENCY": "0"}).part_size_mb == 5  # S3's least part


def test_parsed_once_per_set_of_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "7")
    first = variables.current()
    assert first.retry_budget_s == 7.0 and variables.current() is first
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "8")  # a new attempt's environment is read afresh
    assert variables.current().retry_budget_s == 8.0


def test_a_malformed_value_is_named() -> None:
    with pytest.raises(variables.MalformedVariable, match="FLYTELITE_IO_CONCURRENCY='many' is not an integer"):
        variables.IoSettings({"FLYTELITE_IO_CONCURRENCY": "many"})


def test_a_transfer_resolves_its_budget_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "0")
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BACKOFF", "0.001")
    budget = Budget()
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "60")  # not read again on each retry
    assert budget.retry_allowed() is False


def test_the_log_level_follows_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLYTELITE_LOG_LEVEL", "ERROR")
    assert logs.threshold() == logs.ERROR
    monkeypatch.setenv("FLYTELITE_LOG_LEVEL", "debug")
    assert logs.threshold() == logs.DEBUG
    monkeypatch.delenv("FLYTELITE_LOG_LEVEL")
    assert logs.threshold() == logs.INFO
