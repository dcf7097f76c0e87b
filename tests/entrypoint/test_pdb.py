"""``execute --pdb`` / ``FLYTELITE_PDB``: a post-mortem debugger on a terminal, a warning anywhere else.

The terminal is a real pseudo-terminal (the standard ``pty`` module) on the child's stdin and stdout;
the test answers the ``(Pdb)`` prompt as a person would. Without a terminal the attempt must not wait:
it warns and writes its error document as without the flag.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from terminal import PDB_PROMPT, Terminal

from .conftest import TASK_DIR, Entrypoint, clean_env


@pytest.mark.parametrize("leave", ["c", "q"])
def test_pdb_on_a_terminal_stops_where_the_task_raised_then_the_error_is_recorded(ep: Entrypoint, tmp_path: Path, leave: str) -> None:
    ep.write_inputs(a=7)
    terminal = Terminal(ep.command("failing_tasks", "boom", options=["--pdb"]), clean_env(tmp_path), TASK_DIR)
    shown = terminal.expect(PDB_PROMPT)
    assert b"_inner_helper()" in shown and b"raise RuntimeError" in shown  # stopped in the frame that raised
    terminal.type("p value")  # a local of the frame that raised (_inner_helper), not of flytelite's
    assert b"7" in terminal.expect(PDB_PROMPT).split(b"p value", 1)[-1]
    terminal.type(leave)
    returncode, stderr = terminal.finish()
    assert returncode == 0, stderr
    assert "RuntimeError: boom with value 7" in stderr  # the traceback, printed before the prompt
    error = ep.read_error_document(ep.out / "error.pb").error
    assert "boom with value 7" in error.message and error.origin == 1


def test_the_environment_variable_asks_for_it_too(ep: Entrypoint, tmp_path: Path) -> None:
    ep.write_inputs(a=3)
    terminal = Terminal(ep.command("failing_tasks", "boom"), clean_env(tmp_path, {"FLYTELITE_PDB": "1"}), TASK_DIR)
    terminal.expect(PDB_PROMPT)
    terminal.type("c")
    returncode, stderr = terminal.finish()
    assert returncode == 0, stderr
    assert (ep.out / "error.pb").exists()


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_without_a_terminal_it_is_ignored_with_a_warning_and_never_waits(ep: Entrypoint, tmp_path: Path, how: str) -> None:
    ep.write_inputs(a=5)
    options, env = (["--pdb"], {}) if how == "flag" else ([], {"FLYTELITE_PDB": "true"})
    # stdin is an open pipe that never ends: a debugger reading it would wait until the time-out
    process = subprocess.Popen(
        ep.command("failing_tasks", "boom", options=options), cwd=TASK_DIR, env=clean_env(tmp_path, env),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    warnings = [line for line in ep.json_lines(stderr) if "stdin is not a terminal" in line.get("event", "")]
    assert len(warnings) == 1 and warnings[0]["level"] == "warning", stderr
    assert "(Pdb)" not in stdout
    error = ep.read_error_document(ep.out / "error.pb").error
    assert "boom with value 5" in error.message


def test_a_task_that_succeeds_never_meets_the_debugger(ep: Entrypoint, tmp_path: Path) -> None:
    ep.write_inputs(a=1, b=2)
    result = ep.execute("ok_tasks", "add", options=["--pdb"])
    assert result.returncode == 0, result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.integer == 3
    assert not [line for line in result.logs() if "pdb" in line.get("event", "").lower()]
