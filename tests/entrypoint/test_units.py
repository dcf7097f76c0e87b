"""In-process: the fast option parser, ExecuteArgs, classify, and pipeline steps one at a time."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from flyteidl.core import errors_pb2, literals_pb2

from flytelite.entrypoint import pipeline
from flytelite.entrypoint.errors import RECOVERABLE, SYSTEM, USER, UserCodeError, classify
from flytelite.entrypoint.options import parse_execute_fast
from flytelite.entrypoint.pipeline import Attempt, ExecuteArgs
from flytelite.support.exceptions import RecoverableException, TaskError, TerminatedError
from flytelite.io import StorageError

TASK_DIR = Path(__file__).parent / "task_modules"
SRC_DIR = str(Path(pipeline.__file__).parent.parent)


# --- parse_execute_fast ---------------------------------------------------------------------


def test_fast_parser_space_and_equals_forms():
    parsed = parse_execute_fast(
        ["--inputs", "s3://b/in.pb", "--output-prefix=s3://b/out", "--raw-output-data-prefix", "s3://b/raw",
         "--resolver=pkg.mod.res", "--test", "--", "task-module", "m", "task-name", "--odd-but-loader-arg"]
    )  # fmt: skip
    assert parsed == {
        "inputs": "s3://b/in.pb",
        "output_prefix": "s3://b/out",
        "raw_output_data_prefix": "s3://b/raw",
        "resolver": "pkg.mod.res",
        "test": True,
        "loader_args": ("task-module", "m", "task-name", "--odd-but-loader-arg"),
    }


def test_fast_parser_value_may_look_like_an_option_or_be_empty():
    parsed = parse_execute_fast(["--inputs", "in.pb", "--output-prefix", "out", "--prev-checkpoint", '""', "--"])
    assert parsed == {"inputs": "in.pb", "output_prefix": "out", "prev_checkpoint": '""', "loader_args": ()}


def test_fast_parser_without_loader_args():
    assert parse_execute_fast(["--inputs", "a", "--output-prefix", "b"]) == {"inputs": "a", "output_prefix": "b", "loader_args": ()}


@pytest.mark.parametrize(
    "argv",
    [
        ["--inputs", "a", "--", "task-module", "m"],  # no --output-prefix
        ["--output-prefix", "b", "--", "x"],  # no --inputs
        ["--inputs", "a", "--output-prefix", "b", "--unknown", "c", "--"],
        ["--inputs", "a", "--output-prefix"],  # option without its value
        ["--inputs", "a", "--output-prefix", "b", "--test=yes"],  # a flag takes no value
        ["--inputs", "a", "--output-prefix", "b", "task-module", "m"],  # loader args without --
        ["--inputs", "a", "--output-prefix", "b", "-h"],
        ["--help"],
    ],
)
def test_fast_parser_leaves_other_lines_to_click(argv):
    assert parse_execute_fast(argv) is None


def test_cli_main_usage_error_for_missing_inputs(capsys):
    from flytelite.entrypoint.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["execute", "--output-prefix", "out", "--", "task-module", "m", "task-name", "n"])
    assert exited.value.code == 2
    assert "Missing option '--inputs'" in capsys.readouterr().err


# --- ExecuteArgs --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["{{.rawOutputDataPrefix}}", "{{ .checkpointOutputPrefix }}", '""', "''", "", "  ", None])
def test_execute_args_placeholders_are_absent(value):
    args = ExecuteArgs(
        "in.pb", "out", raw_output_data_prefix=value, checkpoint_path=value, prev_checkpoint=value, resolver=value,
        dynamic_addl_distro=value, dynamic_dest_dir=value,
    )  # fmt: skip
    assert args.raw_output_data_prefix is None
    assert args.checkpoint_path is None and args.prev_checkpoint is None
    assert args.resolver is None and args.dynamic_addl_distro is None and args.dynamic_dest_dir is None


def test_execute_args_real_values_are_kept():
    args = ExecuteArgs("in.pb", "out", raw_output_data_prefix="s3://b/raw", prev_checkpoint="s3://b/cp/1", test=1, loader_args=["a"])
    assert args.raw_output_data_prefix == "s3://b/raw"
    assert args.prev_checkpoint == "s3://b/cp/1"
    assert args.test is True and args.loader_args == ("a",)


# --- classify ---------------------------------------------------------------------------------


def _raised(exc):
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001
        return caught


def test_classify_user_code_error():
    cause = _raised(ValueError("bad value"))
    failure = classify(UserCodeError("mytask failed: ValueError: bad value", cause))
    assert (failure.origin, failure.recoverable, failure.code) == (USER, False, "USER:RuntimeError")
    assert failure.message.startswith("mytask failed: ValueError: bad value\n\nTraceback")
    assert SRC_DIR not in failure.message  # this test file's frame is the "user" frame
    assert abs(failure.timestamp - time.time()) < 5


def test_classify_recoverable_user_error():
    failure = classify(UserCodeError("t failed", _raised(RecoverableException("again"))))
    assert (failure.origin, failure.recoverable, failure.code) == (USER, True, "USER:Recoverable")


def test_classify_task_error_keeps_summary_details_and_code():
    failure = classify(TaskError("worker 1 failed: X", "worker traceback here", origin="USER", recoverable=True, error_code="USER:Worker"))
    assert (failure.origin, failure.recoverable, failure.code) == (USER, True, "USER:Worker")
    assert failure.message == "worker 1 failed: X\n\nworker traceback here"
    system = classify(TaskError("inputs unreadable", origin="SYSTEM"))
    assert (system.origin, system.recoverable, system.code, system.message) == (SYSTEM, False, "SYSTEM", "inputs unreadable")


def test_classify_task_error_wrapped_by_a_step_keeps_its_origin():
    failure = classify(UserCodeError("t failed", TaskError("down", origin="SYSTEM", recoverable=True)))
    assert (failure.origin, failure.recoverable) == (SYSTEM, True)


def test_classify_terminated():
    failure = classify(TerminatedError("SIGTERM"))
    assert (failure.origin, failure.recoverable, failure.code) == (SYSTEM, True, "SYSTEM")
    assert "terminated" in failure.message and "SIGTERM" in failure.message


@pytest.mark.parametrize("transient", [True, False])
def test_classify_storage_error(transient):
    failure = classify(StorageError("503 from s3://b/k", "s3://b/k", transient=transient))
    assert (failure.origin, failure.recoverable, failure.code) == (SYSTEM, transient, "SYSTEM")
    assert "s3://b/k" in failure.message.splitlines()[0]


def test_classify_storage_error_inside_user_code_is_still_system():
    failure = classify(UserCodeError("t failed", StorageError("refused", "s3://b/k", transient=True)))
    assert (failure.origin, failure.recoverable) == (SYSTEM, True)


def test_classify_plain_exception_is_a_recoverable_system_error_with_the_full_traceback():
    exc = _raised(KeyError("internal"))
    failure = classify(exc)
    assert (failure.origin, failure.recoverable, failure.code) == (SYSTEM, True, "SYSTEM")
    assert failure.message.splitlines()[0] == "flytelite failed: KeyError: 'internal'"
    assert "Traceback (most recent call last)" in failure.message and __file__ in failure.message


def test_failure_document_fields():
    failure = classify(UserCodeError("t failed", _raised(RecoverableException("again"))))
    doc = failure.to_document("worker-7")
    assert isinstance(doc, errors_pb2.ErrorDocument)
    assert doc.error.kind == RECOVERABLE == errors_pb2.ContainerError.Kind.RECOVERABLE
    assert doc.error.origin == USER and doc.error.worker == "worker-7"
    assert abs(doc.error.timestamp.ToNanoseconds() / 1e9 - time.time()) < 5


# --- steps, one at a time -------------------------------------------------------------------------


@pytest.fixture
def in_task_dir(monkeypatch, tmp_path):
    """Steps run as in the container's cwd; what they change process-wide is undone afterwards."""
    import logging

    from flytelite.support import logs as _logging

    monkeypatch.chdir(TASK_DIR)
    monkeypatch.syspath_prepend(str(TASK_DIR))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(_logging, "_bound", {})  # build_context binds the identity for every later line
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers  # run_task routes the root logger through flytelite's
    root.setLevel(level)


def _attempt(tmp_path, loader_args=("task-module", "ok_tasks", "task-name", "add"), environ=None, **kw):
    args = ExecuteArgs(str(tmp_path / "inputs.pb"), str(tmp_path / "out"), loader_args=loader_args, **kw)
    return Attempt(args, environ if environ is not None else {})


def test_build_context_from_args_and_environment(tmp_path, in_task_dir):
    attempt = _attempt(tmp_path, raw_output_data_prefix="s3://bucket/raw", checkpoint_path=str(tmp_path / "cp"),
                       environ={"_F_NM": "exec-1", "_F_PRJ": "p", "FLYTE_INTERNAL_TASK_VERSION": "v3"})  # fmt: skip
    pipeline.build_context(attempt)
    ctx = attempt.ctx
    assert ctx.raw_output_prefix == "s3://bucket/raw"
    assert ctx.execution_id.name == "exec-1" and ctx.execution_id.project == "p"
    assert ctx.task_id.version == "v3"
    assert ctx.working_directory.startswith(str(tmp_path)) and os.path.isdir(ctx.working_directory)
    assert ctx.checkpoint.checkpoint_uri == str(tmp_path / "cp") and ctx.checkpoint.prev_checkpoint_uri is None


def test_build_context_without_checkpoint_or_raw_prefix(tmp_path, in_task_dir):
    attempt = _attempt(tmp_path)
    pipeline.build_context(attempt)
    assert attempt.ctx.checkpoint is None
    assert attempt.ctx.raw_output_prefix == os.path.join(attempt.ctx.working_directory, "raw")


def test_load_task_finds_the_task(tmp_path, in_task_dir):
    attempt = _attempt(tmp_path)
    pipeline.load_task(attempt)
    assert attempt.task.name == "ok_tasks.add"
    assert os.getcwd() in sys.path


def test_load_task_failure_is_a_user_code_error(tmp_path, in_task_dir):
    attempt = _attempt(tmp_path, loader_args=("task-module", "ok_tasks", "task-name", "nope"))
    with pytest.raises(UserCodeError) as raised:
        pipeline.load_task(attempt)
    assert "nope" in raised.value.summary and isinstance(raised.value.cause, AttributeError)


def test_fetch_and_decode_read_the_map_and_resolve_offloaded_literals(tmp_path, in_task_dir):
    stored = literals_pb2.Literal()
    stored.scalar.primitive.integer = 99
    (tmp_path / "big.pb").write_bytes(stored.SerializeToString())
    input_map = literals_pb2.LiteralMap()
    input_map.literals["a"].offloaded_metadata.uri = str(tmp_path / "big.pb")
    input_map.literals["b"].scalar.primitive.integer = 1
    (tmp_path / "inputs.pb").write_bytes(input_map.SerializeToString())
    attempt = _attempt(tmp_path)
    pipeline.fetch_inputs(attempt)
    assert attempt.input_bytes == input_map.SerializeToString()
    pipeline.load_task(attempt)
    pipeline.decode_inputs(attempt)
    assert attempt.inputs == {"a": 99, "b": 1}


def test_decoding_garbage_inputs_is_a_system_task_error(tmp_path, in_task_dir):
    (tmp_path / "inputs.pb").write_bytes(b"\xff\xff garbage")
    attempt = _attempt(tmp_path)
    pipeline.fetch_inputs(attempt)
    pipeline.load_task(attempt)
    with pytest.raises(TaskError) as raised:
        pipeline.decode_inputs(attempt)
    assert raised.value.origin == "SYSTEM" and raised.value.recoverable is False
    assert str(tmp_path / "inputs.pb") in raised.value.summary


def test_fetch_inputs_missing_file_is_a_permanent_storage_error(tmp_path):
    with pytest.raises(StorageError) as raised:
        pipeline.fetch_inputs(_attempt(tmp_path))
    assert raised.value.transient is False


def test_decode_inputs_and_wrong_types(tmp_path, in_task_dir):
    attempt = _attempt(tmp_path)
    pipeline.load_task(attempt)
    input_map = literals_pb2.LiteralMap()
    input_map.literals["a"].scalar.primitive.integer = 1
    input_map.literals["b"].scalar.primitive.integer = 2
    attempt.input_bytes = input_map.SerializeToString()
    pipeline.decode_inputs(attempt)
    assert attempt.inputs == {"a": 1, "b": 2}
    input_map.literals["b"].scalar.primitive.string_value = "two"
    attempt.input_bytes = input_map.SerializeToString()
    with pytest.raises(UserCodeError) as raised:
        pipeline.decode_inputs(attempt)
    assert "'b'" in raised.value.summary and "expected int" in raised.value.summary


def _loaded(tmp_path, name, environ=None, **inputs):
    attempt = _attempt(tmp_path, loader_args=("task-module", "ok_tasks", "task-name", name), environ=environ)
    pipeline.build_context(attempt)
    pipeline.load_task(attempt)
    attempt.inputs = inputs
    return attempt


def test_run_encode_offload_store(tmp_path, in_task_dir):
    attempt = _loaded(tmp_path, "add", environ={"_F_L_MIN_SIZE_MB": "0"}, a=2, b=5)
    pipeline.run_task(attempt)
    assert attempt.rval == 7
    pipeline.encode_outputs(attempt)
    assert literals_pb2.Literal.FromString(attempt.output_literals["o0"]).scalar.primitive.integer == 7
    pipeline.offload_outputs(attempt)
    assert list(attempt.offloaded) == ["o0_offloaded_metadata.pb"]
    pointer = literals_pb2.Literal.FromString(attempt.output_literals["o0"])
    assert pointer.offloaded_metadata.uri == str(tmp_path / "out" / "o0_offloaded_metadata.pb")
    pipeline.store_outputs(attempt)
    assert sorted(os.listdir(tmp_path / "out")) == ["o0_offloaded_metadata.pb", "outputs.pb"]


def test_offload_outputs_is_off_without_the_minimum(tmp_path, in_task_dir):
    attempt = _loaded(tmp_path, "add", a=2, b=5)
    pipeline.run_task(attempt)
    pipeline.encode_outputs(attempt)
    before = dict(attempt.output_literals)
    pipeline.offload_outputs(attempt)
    assert attempt.offloaded == {} and attempt.output_literals == before


def test_run_task_wraps_user_exceptions(tmp_path, in_task_dir):
    attempt = _attempt(tmp_path, loader_args=("task-module", "failing_tasks", "task-name", "boom"))
    pipeline.build_context(attempt)
    pipeline.load_task(attempt)
    attempt.inputs = {"a": 3}
    with pytest.raises(UserCodeError) as raised:
        pipeline.run_task(attempt)
    assert isinstance(raised.value.cause, RuntimeError)
    assert raised.value.summary == "failing_tasks.boom failed: RuntimeError: boom with value 3"


def test_encode_outputs_mismatch_is_a_user_error(tmp_path, in_task_dir):
    attempt = _loaded(tmp_path, "add", a=1, b=1)
    attempt.rval = "not an int"
    with pytest.raises(UserCodeError) as raised:
        pipeline.encode_outputs(attempt)
    assert "'o0'" in raised.value.summary


def test_a_builtin_error_raised_by_flytelite_itself_while_encoding_is_a_system_failure(tmp_path, in_task_dir, monkeypatch):
    # A fault of the type engine (injected: int() called with a Literal raises TypeError from
    # flytelite's own frame) is not the user's because it happens to be a TypeError.
    from flytelite.types._builtins import IntCodec

    attempt = _loaded(tmp_path, "add", a=1, b=1)
    attempt.rval = 2
    monkeypatch.setattr(IntCodec, "encode", int)
    with pytest.raises(TypeError) as raised:
        pipeline.encode_outputs(attempt)
    failure = classify(raised.value)
    assert (failure.origin, failure.recoverable, failure.code) == (SYSTEM, True, "SYSTEM")
    assert failure.summary.startswith("flytelite failed: TypeError")


def test_a_builtin_error_raised_by_flytelite_itself_while_decoding_is_a_system_failure(tmp_path, in_task_dir, monkeypatch):
    from flytelite.types._builtins import IntCodec

    attempt = _attempt(tmp_path)
    pipeline.load_task(attempt)
    input_map = literals_pb2.LiteralMap()
    input_map.literals["a"].scalar.primitive.integer = 1
    input_map.literals["b"].scalar.primitive.integer = 2
    attempt.input_bytes = input_map.SerializeToString()
    monkeypatch.setattr(IntCodec, "decode", int)
    with pytest.raises(TypeError) as raised:
        pipeline.decode_inputs(attempt)
    assert classify(raised.value).origin == SYSTEM


def test_execute_in_process_writes_one_verdict(tmp_path, in_task_dir):
    input_map = literals_pb2.LiteralMap()
    input_map.literals["a"].scalar.primitive.integer = 5
    (tmp_path / "inputs.pb").write_bytes(input_map.SerializeToString())
    args = ExecuteArgs(str(tmp_path / "inputs.pb"), str(tmp_path / "out"), raw_output_data_prefix=str(tmp_path / "raw"),
                       loader_args=("task-module", "failing_tasks", "task-name", "boom"))  # fmt: skip
    assert pipeline.execute(args, environ={"FLYTE_FAIL_ON_ERROR": "1"}) == 1
    assert os.listdir(tmp_path / "out") == ["error.pb"]
    doc = errors_pb2.ErrorDocument.FromString((tmp_path / "out" / "error.pb").read_bytes())
    assert "boom with value 5" in doc.error.message


def test_every_step_names_itself_for_the_timeline():
    labels = [step.label for step in pipeline.EXECUTE_STEPS]
    assert labels[:4] == ["preparing the context", "installing runtime packages", "loading the task", "reading inputs"]
    assert len(set(labels)) == len(labels) and all(labels)
