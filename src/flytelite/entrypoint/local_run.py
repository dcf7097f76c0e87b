"""``flytelite run``: a task, dynamic task or workflow run locally through the very same execute pipeline.

Inputs come from the command line, parsed by their declared types; ``inputs.pb`` is written to a
temporary folder, the pipeline runs as in a container, and the outputs are printed as JSON.
"""

from __future__ import annotations

import datetime
import enum
import importlib
import json
import os
import shutil
import sys
import tempfile
import typing
from typing import Any

import click
from flyteidl.core import errors_pb2

from .. import io
from ..types import BlobPaths, codec_for, decode_map_bytes, encode_literals, from_json_data, literal_map_bytes, type_name
from ..model.contract import BaseTask
from ..model.workflow import Workflow
from ..types.files import Directory, File
from .pipeline import ExecuteArgs, execute
from .verdict import ERROR_FILE, OUTPUTS_FILE

_TRUE, _FALSE = ("true", "1", "yes", "y", "t"), ("false", "0", "no", "n", "f")


def import_target(target: str) -> tuple[Any, str]:
    """The module of a ``file.py`` path or a dotted module name, and its importable name."""
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise click.UsageError(f"no such file: {target}")
        folder, module_name = os.path.dirname(path), os.path.splitext(os.path.basename(path))[0]
        if folder not in sys.path:
            sys.path.insert(0, folder)
    else:
        module_name = target
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
    return importlib.import_module(module_name), module_name


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{text!r} is not a boolean (true/false)")


def _parse_timedelta(text: str) -> datetime.timedelta:
    try:
        return datetime.timedelta(seconds=float(text))
    except ValueError:
        hours, minutes, seconds = text.split(":")
        return datetime.timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))


_SCALAR_PARSERS = {
    int: int,
    float: float,
    str: str,
    bool: _parse_bool,
    datetime.datetime: datetime.datetime.fromisoformat,
    datetime.date: datetime.date.fromisoformat,
    datetime.timedelta: _parse_timedelta,
}


def parse_value(text: str, py_type: Any) -> Any:
    """A command-line string as a value of ``py_type`` (JSON for lists, dicts and dataclasses)."""
    parser = _SCALAR_PARSERS.get(py_type)
    if parser is not None:
        return parser(text)
    args = typing.get_args(py_type)
    if type(None) in args and text.lower() in ("none", "null"):
        return None
    if len(args) == 2 and type(None) in args:
        return parse_value(text, next(a for a in args if a is not type(None)))
    if isinstance(py_type, type) and issubclass(py_type, (File, Directory)):
        return py_type(text)
    if isinstance(py_type, type) and issubclass(py_type, enum.Enum):
        return py_type(text)
    return from_json_data(json.loads(text), py_type)


def parse_inputs(task: Any, raw_args: list[str]) -> dict[str, Any]:
    """``--name value`` pairs parsed by the task's declared input types."""
    declared = task.python_interface.inputs
    values: dict[str, Any] = {}
    pending = list(raw_args)
    while pending:
        flag = pending.pop(0)
        name = flag[2:].replace("-", "_") if flag.startswith("--") else None
        if name not in declared:
            raise click.UsageError(f"unknown input {flag!r}; {task.name} takes: {', '.join('--' + n for n in declared) or 'no inputs'}")
        if not pending:
            raise click.UsageError(f"input '--{name}' needs a value")
        text = pending.pop(0)
        try:
            values[name] = parse_value(text, declared[name])
        except Exception as exc:  # noqa: BLE001 - any parse failure is a usage error naming the input
            raise click.UsageError(f"input '--{name}': {text!r} is not a valid {type_name(declared[name])} ({exc})") from None
    missing = [n for n in declared if n not in values and n not in task.python_interface.defaults]
    if missing:
        raise click.UsageError(f"missing input(s): {', '.join('--' + n for n in missing)}")
    return values


def to_json_value(value: Any, py_type: Any) -> Any:
    """A decoded output in a form ``json.dumps`` can print: its document form, from the type's codec (the
    same one that writes it inside a dataclass); a type without one (a pickle, an array) prints as its repr."""
    codec = codec_for(py_type)
    if codec.document_gap() is not None:
        return repr(value)
    return codec.to_builtin(value)


def run_locally(target: str, task_name: str, raw_args: list[str], keep: bool) -> int:
    module, module_name = import_target(target)
    task = getattr(module, task_name, None)
    if not isinstance(task, (BaseTask, Workflow)):
        raise click.UsageError(f"{target} has no task named {task_name!r}")
    values = parse_inputs(task, raw_args)
    folder = tempfile.mkdtemp(prefix="flytelite-run-")
    raw = os.path.join(folder, "raw")
    try:
        input_types = {n: task.python_interface.inputs[n] for n in values}
        literals = encode_literals(values, input_types, what="input", blobs=BlobPaths(raw, folder))
        io.write_bytes(os.path.join(folder, "inputs.pb"), literal_map_bytes(literals))
        args = ExecuteArgs(
            inputs=os.path.join(folder, "inputs.pb"),
            output_prefix=os.path.join(folder, "outputs"),
            raw_output_data_prefix=raw,
            loader_args=tuple(task.task_resolver.loader_args(task)),
            in_process=True,
        )
        execute(args)
        return _print_verdict(task, args.output_prefix)
    finally:
        if keep:
            click.echo(f"inputs and outputs kept in {folder}", err=True)
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _print_verdict(task: Any, output_prefix: str) -> int:
    outputs_uri, error_uri = io.join(output_prefix, OUTPUTS_FILE), io.join(output_prefix, ERROR_FILE)
    if io.exists(outputs_uri):
        outputs = task.python_interface.outputs
        values = decode_map_bytes(io.read_bytes(outputs_uri), outputs, what="output")
        shown = {name: to_json_value(value, outputs[name]) for name, value in values.items()}
        click.echo(json.dumps(shown, indent=2, default=repr))  # bytes inside an Any field: their repr
        return 0
    if io.exists(error_uri):
        document = errors_pb2.ErrorDocument.FromString(io.read_bytes(error_uri))
        click.echo(document.error.message, err=True)
        return 1
    click.echo("the task wrote no outputs (IgnoreOutputs)", err=True)
    return 0
