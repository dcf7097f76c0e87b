"""Black-box: ``flytelite run file.py task --name value`` (the execute pipeline, locally)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
OK_TASKS = "tests/entrypoint/task_modules/ok_tasks.py"  # relative to the repository root
FAILING_TASKS = "tests/entrypoint/task_modules/failing_tasks.py"


def _run(ep, *args, cwd=REPO):
    return ep.flytelite("run", *args, cwd=cwd)


def test_run_prints_outputs_as_json(ep):
    result = _run(ep, OK_TASKS, "add", "--a", "1", "--b", "2")
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": 3}


def test_run_by_module_name_from_the_cwd(ep):
    result = ep.run([*ep.command("ok_tasks", "add")[:3], "run", "ok_tasks", "pair", "--a", "4"])
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": 8, "o1": "a=4"}


@pytest.mark.parametrize(
    ("maybe_args", "shown"), [([], "None"), (["--maybe", "5"], "5"), (["--maybe", "none"], "None")], ids=["absent", "5", "none"]
)
def test_run_parses_typed_inputs(ep, maybe_args, shown):
    result = _run(
        ep, OK_TASKS, "describe", "--when", "2024-01-02T03:04:05", "--values", "[1, 2, 3]",
        "--point", '{"x": 1, "y": 2.5}', "--flag", "true", *maybe_args,
    )  # fmt: skip
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": f"2024-01-02T03:04:05+00:00|6|1,2.5|True|{shown}"}


def test_run_dataclass_in_and_out(ep):
    result = _run(ep, OK_TASKS, "move", "--point", '{"x": 1, "y": 2.5}', "--dx", "3")
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": {"x": 4, "y": 2.5}}


def test_run_named_tuple_output(ep):
    result = _run(ep, OK_TASKS, "stats", "--a", "2", "--b", "3")
    assert json.loads(result.stdout) == {"total": 5, "label": "sum"}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["add", "--a", "x", "--b", "2"], "--a"),
        (["describe", "--when", "2024-01-02", "--values", "[1,", "--point", "{}", "--flag", "true"], "--values"),
        (["describe", "--when", "2024-01-02", "--values", "[1]", "--point", '{"x": 1, "y": 1.0}', "--flag", "maybe"], "--flag"),
        (["describe", "--when", "yesterday", "--values", "[1]", "--point", '{"x": 1, "y": 1.0}', "--flag", "true"], "--when"),
    ],
    ids=["int", "list", "bool", "datetime"],
)
def test_run_bad_value_is_a_usage_error_naming_the_input(ep, args, named):
    result = _run(ep, OK_TASKS, *args)
    assert result.returncode == 2, result.describe()
    assert f"input '{named}'" in result.stderr
    assert "Usage:" in result.stderr
    assert result.stdout == ""


def test_run_unknown_input_is_a_usage_error(ep):
    result = _run(ep, OK_TASKS, "add", "--a", "1", "--c", "2")
    assert result.returncode == 2, result.describe()
    assert "unknown input '--c'" in result.stderr and "--a, --b" in result.stderr


def test_run_missing_input_is_a_usage_error(ep):
    result = _run(ep, OK_TASKS, "add", "--a", "1")
    assert result.returncode == 2, result.describe()
    assert "--b" in result.stderr and "missing" in result.stderr


def test_run_unknown_task_is_a_usage_error(ep):
    result = _run(ep, OK_TASKS, "no_such_task")
    assert result.returncode == 2, result.describe()
    assert "no_such_task" in result.stderr


def test_run_keep_prints_the_folder_with_inputs_and_outputs(ep):
    result = _run(ep, OK_TASKS, "add", "--a", "5", "--b", "6", "--keep")
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": 11}
    line = next(line for line in result.stderr.splitlines() if "kept in" in line)
    folder = Path(line.split("kept in", 1)[1].strip())
    assert folder.is_dir() and str(folder).startswith(str(ep.tmp_path))
    inputs = ep.read_literal_map(folder / "inputs.pb")
    assert inputs.literals["a"].scalar.primitive.integer == 5
    outputs = ep.read_literal_map(folder / "outputs" / "outputs.pb")
    assert outputs.literals["o0"].scalar.primitive.integer == 11


def test_run_without_keep_removes_its_folder(ep):
    result = _run(ep, OK_TASKS, "add", "--a", "5", "--b", "6")
    assert result.returncode == 0
    assert not list((ep.tmp_path / "tmpdir").glob("flytelite-run-*"))


def test_run_failing_task_prints_the_error_and_exits_1(ep):
    result = _run(ep, FAILING_TASKS, "boom", "--a", "9")
    assert result.returncode == 1, result.describe()
    assert "failing_tasks.boom failed: RuntimeError: boom with value 9" in result.stderr
    assert 'failing_tasks.py", line 14, in _inner_helper' in result.stderr
    assert result.stdout == ""


DOCUMENT_TASKS = "tests/entrypoint/task_modules/document_tasks.py"


def test_run_prints_a_dataclass_with_an_any_field(ep):
    # On main the output was written and then could not be read back: the run ended in a traceback.
    result = _run(ep, DOCUMENT_TASKS, "tag", "--text", "hi")
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": {"payload": {"text": "hi", "n": [1, 2.5]}, "when": "2024-01-02T00:00:00+00:00"}}


def test_run_reads_a_dataclass_with_an_any_field_as_input(ep):
    result = _run(ep, DOCUMENT_TASKS, "untag", "--tagged", '{"payload": {"text": "yo"}, "when": "2023-05-06T00:00:00"}')
    assert result.returncode == 0, result.describe()
    assert json.loads(result.stdout) == {"o0": "yo|2023"}


def test_run_prints_a_file_field_as_the_uri_it_was_stored_at(ep, tmp_path):
    result = _run(ep, str(REPO / DOCUMENT_TASKS), "report", "--text", "body", "--keep", cwd=tmp_path)
    assert result.returncode == 0, result.describe()
    shown = json.loads(result.stdout)["o0"]
    assert shown["name"] == "r"
    with open(shown["data"]["path"]) as f:  # the stored copy under the run's raw output folder
        assert f.read() == "body"
