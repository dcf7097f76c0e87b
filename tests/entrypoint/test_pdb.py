"""``execute --pdb`` / ``FLYTELITE_PDB``: a post-mortem debugger on a terminal, a warning anywhere else.

The terminal is a real pseudo-terminal (the standard ``pty`` module) on the child's stdin and stdout;
the test answers the ``(Pdb)`` prompt as a person would. Without a terminal the attempt must not wait:
it warns and writes its error document as without the flag.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import TASK_DIR, Entrypoint, clean_env

PROMPT = b"(Pdb) "


class Terminal:
    """A child process whose stdin and stdout are a pseudo-terminal; stderr (the JSON logs) goes to a pipe."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.master, follower = pty.openpty()
        self.process = subprocess.Popen(command, cwd=TASK_DIR, env=env, stdin=follower, stdout=follower, stderr=subprocess.PIPE)
        os.close(follower)
        self.seen = b""

    def expect(self, wanted: bytes, timeout: float = 30) -> bytes:
        """Read until ``wanted`` appears; everything read since the last call."""
        deadline = time.monotonic() + timeout
        start = len(self.seen)
        while wanted not in self.seen[start:]:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {wanted!r} within {timeout}s; the terminal showed:\n{self.seen.decode(errors='replace')}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                assert chunk, f"the terminal closed before {wanted!r}:\n{self.seen.decode(errors='replace')}"
                self.seen += chunk
        return self.seen[start:]

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        _, stderr = self.process.communicate(timeout=timeout)
        os.close(self.master)
        return self.process.returncode, stderr.decode(errors="replace")


@pytest.mark.parametrize("leave", ["c", "q"])
def test_pdb_on_a_terminal_stops_where_the_task_raised_then_the_error_is_recorded(ep: Entrypoint, tmp_path: Path, leave: str) -> None:
    ep.write_inputs(a=7)
    terminal = Terminal(ep.command("failing_tasks", "boom", options=["--pdb"]), clean_env(tmp_path))
    shown = terminal.expect(PROMPT)
    assert b"_inner_helper()" in shown and b"raise RuntimeError" in shown  # stopped in the frame that raised
    terminal.type("p value")  # a local of the frame that raised (_inner_helper), not of flytelite's
    assert b"7" in terminal.expect(PROMPT).split(b"p value", 1)[-1]
    terminal.type(leave)
    returncode, stderr = terminal.finish()
    assert returncode == 0, stderr
    assert "RuntimeError: boom with value 7" in stderr  # the traceback, printed before the prompt
    error = ep.read_error_document(ep.out / "error.pb").error
    assert "boom with value 7" in error.message and error.origin == 1


def test_the_environment_variable_asks_for_it_too(ep: Entrypoint, tmp_path: Path) -> None:
    ep.write_inputs(a=3)
    terminal = Terminal(ep.command("failing_tasks", "boom"), clean_env(tmp_path, {"FLYTELITE_PDB": "1"}))
    terminal.expect(PROMPT)
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
