"""Helpers of the entrypoint tests: build inputs.pb, run the real command, read what it left.

Every test gets an :class:`Entrypoint` (fixture ``ep``) bound to its ``tmp_path``: ``ep.execute(...)``
runs ``python -m flytelite execute ...`` (or the ``flytelite`` console script) as a subprocess with
``task_modules/`` as its working directory and a clean environment, and returns a :class:`Result`
that reads ``outputs.pb``, ``error.pb`` and the JSON log lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import errors_pb2, literals_pb2

TASK_DIR = Path(__file__).parent / "task_modules"
SCRIPT = Path(sys.executable).parent / "flytelite"
# Variables of the Flyte backend, of storage credentials and of flytelite itself: none leaks in.
_SCRUBBED_PREFIXES = ("FLYTE", "_F_", "_FSEC_", "AWS_", "AZURE_", "GOOGLE_", "PET_")


def clean_env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_SCRUBBED_PREFIXES)}
    tmpdir = tmp_path / "tmpdir"
    tmpdir.mkdir(exist_ok=True)
    env["TMPDIR"] = str(tmpdir)  # the attempt's working directory goes here, not in /tmp
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def literal(value: Any) -> literals_pb2.Literal:
    """A Literal of a Python int / float / str / bool, or a Literal passed through."""
    if isinstance(value, literals_pb2.Literal):
        return value
    lit = literals_pb2.Literal()
    primitive = lit.scalar.primitive
    if isinstance(value, bool):
        primitive.boolean = value
    elif isinstance(value, int):
        primitive.integer = value
    elif isinstance(value, float):
        primitive.float_value = value
    elif isinstance(value, str):
        primitive.string_value = value
    else:
        raise TypeError(f"no literal helper for {type(value).__name__}")
    return lit


def literal_map(**values: Any) -> literals_pb2.LiteralMap:
    out = literals_pb2.LiteralMap()
    for name, value in values.items():
        out.literals[name].CopyFrom(literal(value))
    return out


def read_literal_map(path: Path) -> literals_pb2.LiteralMap:
    out = literals_pb2.LiteralMap()
    out.ParseFromString(path.read_bytes())
    return out


def read_error_document(path: Path) -> errors_pb2.ErrorDocument:
    doc = errors_pb2.ErrorDocument()
    doc.ParseFromString(path.read_bytes())
    assert doc.HasField("error"), f"{path} holds no ContainerError"
    return doc


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among the lines of ``text``."""
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return found


class Result:
    """One finished run: exit status, streams and the output prefix it wrote under."""

    def __init__(self, returncode: int, stdout: str, stderr: str, out: Path, started: float) -> None:
        self.returncode, self.stdout, self.stderr, self.out, self.started = returncode, stdout, stderr, out, started

    def files(self) -> list[str]:
        """Every file under the output prefix, relative to it (temporary siblings included)."""
        if not self.out.exists():
            return []
        return sorted(str(p.relative_to(self.out)) for p in self.out.rglob("*") if p.is_file())

    def outputs(self) -> literals_pb2.LiteralMap:
        files = self.files()
        assert "outputs.pb" in files and not any(f.startswith("error") for f in files), self.describe()
        return read_literal_map(self.out / "outputs.pb")

    def error(self) -> errors_pb2.ContainerError:
        """The error document, checking it is the attempt's only verdict."""
        assert self.files() == ["error.pb"], self.describe()
        error = read_error_document(self.out / "error.pb").error
        # written now, not at some other time: within the run
        assert self.started - 1 <= error.timestamp.ToNanoseconds() / 1e9 <= time.time() + 1, error.timestamp
        return error

    def logs(self) -> list[dict[str, Any]]:
        return json_lines(self.stderr)

    def describe(self) -> str:
        return f"rc={self.returncode}\nfiles={self.files()}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}"


class Entrypoint:
    """Runs the real ``flytelite`` command for one test, everything under its ``tmp_path``."""

    # the module-level helpers, for tests (which do not import conftest by name)
    literal = staticmethod(literal)
    literal_map = staticmethod(literal_map)
    read_literal_map = staticmethod(read_literal_map)
    read_error_document = staticmethod(read_error_document)
    json_lines = staticmethod(json_lines)

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.out = tmp_path / "out"
        self.raw = tmp_path / "raw"

    def write_inputs(self, value: literals_pb2.LiteralMap | bytes | None = None, **values: Any) -> Path:
        path = self.tmp_path / "inputs.pb"
        if isinstance(value, bytes):
            path.write_bytes(value)
        else:
            path.write_bytes((value or literal_map(**values)).SerializeToString())
        return path

    def command(
        self,
        module: str | None,
        name: str | None,
        *,
        inputs: Path | None = None,
        options: list[str] | None = None,
        loader_args: list[str] | None = None,
        raw: bool = True,
        script: bool = False,
    ) -> list[str]:
        head = [str(SCRIPT)] if script else [sys.executable, "-m", "flytelite"]
        command = head + ["execute", "--inputs", str(inputs or self.tmp_path / "inputs.pb"), "--output-prefix", str(self.out)]
        if raw:
            command += ["--raw-output-data-prefix", str(self.raw)]
        command += options or []
        if loader_args is None:
            loader_args = ["task-module", module or "", "task-name", name or ""]
        return command + ["--", *loader_args]

    def run(self, command: list[str], env: dict[str, str] | None = None, timeout: float = 30, cwd: Path = TASK_DIR) -> Result:
        started = time.time()
        proc = subprocess.run(
            command, cwd=cwd, env=clean_env(self.tmp_path, env), capture_output=True, text=True, timeout=timeout
        )
        return Result(proc.returncode, proc.stdout, proc.stderr, self.out, started)

    def execute(self, module: str | None, name: str | None, *, env: dict[str, str] | None = None, timeout: float = 30, **kw: Any) -> Result:
        if "inputs" not in kw and not (self.tmp_path / "inputs.pb").exists():
            self.write_inputs()
        return self.run(self.command(module, name, **kw), env=env, timeout=timeout)

    def popen(self, module: str, name: str, *, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(module, name, **kw),
            cwd=TASK_DIR,
            env=clean_env(self.tmp_path, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def flytelite(self, *args: str, env: dict[str, str] | None = None, timeout: float = 30, cwd: Path = TASK_DIR) -> Result:
        """``flytelite <args>`` through the console script, outside the execute fast path."""
        return self.run([str(SCRIPT), *args], env=env, timeout=timeout, cwd=cwd)


@pytest.fixture
def ep(tmp_path: Path) -> Entrypoint:
    return Entrypoint(tmp_path)


@pytest.fixture(scope="module")
def module_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The clean environment for a process a whole test module shares (a daemon)."""
    return clean_env(tmp_path_factory.mktemp("env"))
