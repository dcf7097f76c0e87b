"""A child process on a pseudo-terminal (the standard ``pty`` module), answered as a person would.

For the debugger tests: ``execute --pdb`` opens pdb only when stdin is a terminal.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

PDB_PROMPT = b"(Pdb) "


class Terminal:
    """A child process whose stdin and stdout are a pseudo-terminal; stderr (the JSON logs) goes to a pipe."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.master, follower = pty.openpty()
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdin=follower, stdout=follower, stderr=subprocess.PIPE)
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
