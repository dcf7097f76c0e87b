"""The attempt's environment: one table of variables (``entrypoint/settings.py``), the README's copy of it, the attempt's view."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flytelite.entrypoint.serve.flyte2_worker import PER_ACTION_PREFIXES
from flytelite.entrypoint.settings import VARIABLES, AttemptSettings
from flytelite.io.credentials import SECRET_VARIABLES
from flytelite.runtime.context import ATTEMPT_NUMBER_VARIABLE, EXECUTION_VARIABLES, TASK_VARIABLES

ROOT = Path(__file__).resolve().parents[2]
_ROW = re.compile(r"^\| `(?P<name>[A-Z_]+)`(?: \(`(?P<alias>[A-Z_]+)`\))? \| (?P<default>[^|]+) \| [^|]+ \|$")
_VARIABLE = re.compile(r"(?:FLYTE|FLYTELITE|_F|BATCH_JOB)_[A-Z0-9_]+")
# Read by the storage layer and listed in the README's storage table, beside the credentials.
_CLOUD_SETTINGS = {
    "FLYTE_AWS_ACCESS_KEY_ID", "FLYTE_AWS_ENDPOINT", "FLYTE_AZURE_STORAGE_ACCOUNT_NAME", "FLYTE_AZURE_TENANT_ID", "FLYTE_AZURE_CLIENT_ID",
}  # fmt: skip


def _readme_rows() -> dict[str, tuple[str, str]]:
    section = ROOT.joinpath("README.md").read_text(encoding="utf-8").split("### Environment variables", 1)[1].split("\n## ", 1)[0]
    return {m["name"]: (m["alias"] or "", m["default"].strip().strip("`")) for m in map(_ROW.match, section.splitlines()) if m}


def test_the_readme_table_is_the_settings_table():
    assert _readme_rows() == {v.name: (v.alias, v.default) for v in VARIABLES}


def test_every_variable_flytelite_reads_is_in_one_table():
    identity = {name for table in (EXECUTION_VARIABLES, TASK_VARIABLES) for pair in table.values() for name in pair} | {ATTEMPT_NUMBER_VARIABLE}
    documented = {v.name for v in VARIABLES} | {v.alias for v in VARIABLES if v.alias} | identity | set(SECRET_VARIABLES) | _CLOUD_SETTINGS
    read = set()
    for path in ROOT.joinpath("src", "flytelite").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _VARIABLE.fullmatch(node.value):
                read.add(node.value)
    assert "FLYTELITE_IO_TIMEOUT" in read and "_F_WN" in read  # the reader finds them
    # Flyte 2's per-action variable families: the Flyte 2 worker tells them from flyte's configuration; flytelite reads none.
    assert read - documented - set(PER_ACTION_PREFIXES) == set()


def test_the_attempts_defaults_are_the_tables():
    settings = AttemptSettings.from_environ({})
    assert (settings.fail_on_error, settings.distributed_errors, settings.worker_name) == (False, False, "")
    assert (settings.termination_grace_s, settings.offload_min_mb, settings.offload_max_mb, settings.runtime_packages) == (20.0, None, 1000, ())
    assert settings.problems == ()


def test_aliases_and_values_are_read_once():
    settings = AttemptSettings.from_environ(
        {"FLYTE_FAIL_ON_ERROR": "True", "_F_DES": "1", "_F_WN": "w-3", "FLYTELITE_TERMINATION_GRACE_S": "2.5", "_F_L_MIN_SIZE_MB": "0", "_F_RUNTIME_PACKAGES": "a==1 b"}
    )
    assert (settings.fail_on_error, settings.distributed_errors, settings.worker_name, settings.termination_grace_s) == (True, True, "w-3", 2.5)
    assert (settings.offload_min_mb, settings.runtime_packages) == (0, ("a==1", "b"))


def test_a_malformed_value_fails_the_attempt_with_a_system_error_naming_it(ep):
    result = ep.execute("ok_tasks", "add", env={"_F_L_MIN_SIZE_MB": "lots", "FLYTELITE_TERMINATION_GRACE_S": "soon"})
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert error.origin == 2 and error.code == "SYSTEM"
    assert "_F_L_MIN_SIZE_MB='lots' is not an integer" in error.message and "FLYTELITE_TERMINATION_GRACE_S='soon' is not a number" in error.message
