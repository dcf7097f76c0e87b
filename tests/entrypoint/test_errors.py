"""Black-box: every failure ends in one valid error document (and never beside outputs.pb)."""

from __future__ import annotations

import re
from pathlib import Path

import flytelite
import pytest
from flyteidl.core import errors_pb2, execution_pb2, literals_pb2

USER = execution_pb2.ExecutionError.ErrorKind.USER
SYSTEM = execution_pb2.ExecutionError.ErrorKind.SYSTEM
RECOVERABLE = errors_pb2.ContainerError.Kind.RECOVERABLE
NON_RECOVERABLE = errors_pb2.ContainerError.Kind.NON_RECOVERABLE
SRC_DIR = str(Path(flytelite.__file__).parent)
TASK_DIR = Path(__file__).parent / "task_modules"


def assert_no_bare_traceback(result):
    # the verdict is the document: stderr has log lines, not an unhandled exception
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr
    assert any(line.get("event") == "task failed" for line in result.logs()), result.stderr


# --- user code raises -------------------------------------------------------------------------


def test_user_exception(ep):
    ep.write_inputs(a=4)
    result = ep.execute("failing_tasks", "boom")
    assert result.returncode == 0, result.describe()
    error = result.error()  # the only file under the prefix: no outputs.pb
    assert error.origin == USER
    assert error.kind == NON_RECOVERABLE
    assert error.code == "USER:RuntimeError"
    summary, _, body = error.message.partition("\n")
    assert "RuntimeError: boom with value 4" in summary
    user_file = str(TASK_DIR / "failing_tasks.py")
    assert f'File "{user_file}", line 19, in boom' in body
    assert f'File "{user_file}", line 14, in _inner_helper' in body
    assert "Traceback (most recent call last)" in body
    assert SRC_DIR not in error.message
    assert "/flytelite/" not in error.message
    assert error.worker == ""
    assert_no_bare_traceback(result)


def test_error_code_attribute_is_the_code(ep):
    error = ep.execute("failing_tasks", "coded").error()
    assert error.code == "USER:MyCode"
    assert error.origin == USER and error.kind == NON_RECOVERABLE
    assert error.message.splitlines()[0].endswith("MyError: with a code of its own")


def test_recoverable_exception(ep):
    error = ep.execute("failing_tasks", "recoverable").error()
    assert (error.origin, error.kind, error.code) == (USER, RECOVERABLE, "USER:Recoverable")
    assert "RecoverableException: please retry me" in error.message.splitlines()[0]


def test_fail_on_error_exits_1_with_the_document(ep):
    ep.write_inputs(a=1)
    result = ep.execute("failing_tasks", "boom", env={"FLYTE_FAIL_ON_ERROR": "true"})
    assert result.returncode == 1, result.describe()
    assert result.error().code == "USER:RuntimeError"


def test_fail_on_error_false_exits_0(ep):
    ep.write_inputs(a=1)
    result = ep.execute("failing_tasks", "boom", env={"FLYTE_FAIL_ON_ERROR": "false"})
    assert result.returncode == 0, result.describe()
    assert result.error().origin == USER


@pytest.mark.parametrize(
    "env",
    [
        {"FLYTE_INTERNAL_DIST_ERROR_STRATEGY": "1", "FLYTE_INTERNAL_WORKER_NAME": "worker-3"},
        {"_F_DES": "1", "_F_WN": "worker-3"},
    ],
    ids=["long-names", "short-names"],
)
def test_distributed_error_strategy_writes_error_uuid_pb_with_the_worker(ep, env):
    ep.write_inputs(a=2)
    result = ep.execute("failing_tasks", "boom", env=env)
    assert result.returncode == 0, result.describe()
    files = result.files()
    assert len(files) == 1 and re.fullmatch(r"error-[0-9a-f]{32}\.pb", files[0]), files
    error = ep.read_error_document(ep.out / files[0]).error
    assert error.worker == "worker-3"
    assert error.origin == USER and "boom with value 2" in error.message


def test_worker_name_alone_is_not_recorded_in_error_pb(ep):
    ep.write_inputs(a=2)
    result = ep.execute("failing_tasks", "boom", env={"FLYTE_INTERNAL_WORKER_NAME": "worker-3"})
    assert result.error().worker == ""


# --- inputs that cannot be read or do not fit ---------------------------------------------------


def test_garbage_inputs_pb(ep):
    path = ep.write_inputs(b"\xff\xff\xff\x07 this is not protobuf")
    result = ep.execute("ok_tasks", "add")
    assert result.returncode == 0, result.describe()
    error = result.error()
    # not the user's fault and not retryable: the same bytes would fail again
    assert (error.origin, error.kind, error.code) == (SYSTEM, NON_RECOVERABLE, "SYSTEM")
    assert str(path) in error.message and "LiteralMap" in error.message
    assert_no_bare_traceback(result)


def test_truncated_inputs_pb(ep):
    data = ep.literal_map(a=1, b="a long enough string value").SerializeToString()
    path = ep.write_inputs(data[: len(data) - 5])
    error = ep.execute("ok_tasks", "add").error()
    assert (error.origin, error.kind) == (SYSTEM, NON_RECOVERABLE)
    assert str(path) in error.message


def test_inputs_file_that_does_not_exist(ep):
    missing = ep.tmp_path / "nowhere" / "inputs.pb"
    result = ep.execute("ok_tasks", "add", inputs=missing)
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert error.origin == SYSTEM and error.code == "SYSTEM"
    assert error.kind == NON_RECOVERABLE  # a missing local file will not appear on a retry
    assert str(missing) in error.message
    assert_no_bare_traceback(result)


def test_missing_required_input(ep):
    ep.write_inputs(a=1)
    result = ep.execute("ok_tasks", "add")
    error = result.error()
    assert (error.origin, error.kind) == (USER, NON_RECOVERABLE)
    first = error.message.splitlines()[0]
    assert "'b'" in first and "missing" in first and "int" in first
    assert_no_bare_traceback(result)


def test_wrong_literal_type_for_an_input(ep):
    ep.write_inputs(a="four", b=4)
    error = ep.execute("ok_tasks", "add").error()
    assert error.origin == USER
    first = error.message.splitlines()[0]
    assert "'a'" in first and "expected int" in first and "'four'" in first and "string" in first


@pytest.mark.parametrize(
    ("name", "raised"),
    [
        ("takes_positive", "ValueError: Positive needs a value above 0, got -3"),
        ("takes_strictly_positive", "NotPositive: StrictlyPositive needs a value above 0, got -3"),
    ],
    ids=["builtin", "own-class"],
)
def test_input_refused_by_the_users_own_constructor_is_the_users_fault(ep, name, raised):
    # A dataclass input whose __post_init__ raises (a builtin, or the user's own class): the data is
    # at fault, not flytelite (a retry reads the same data). The type engine names the input; the
    # user's frame stays in the body.
    import msgpack

    value = literals_pb2.Literal()
    value.scalar.binary.value = msgpack.packb({"value": -3})
    value.scalar.binary.tag = "msgpack"
    ep.write_inputs(literals_pb2.LiteralMap(literals={"p": value}))
    result = ep.execute("refused_inputs", name)
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert (error.origin, error.kind, error.code) == (USER, NON_RECOVERABLE, "USER:RuntimeError")
    first, _, body = error.message.partition("\n")
    assert "'p'" in first and raised in first
    assert f'File "{TASK_DIR / "refused_inputs.py"}"' in body and "__post_init__" in body
    assert_no_bare_traceback(result)


# --- the task cannot be loaded ----------------------------------------------------------------


def _load_error(ep, module, name, **kw):
    ep.write_inputs(a=1, b=2)
    result = ep.execute(module, name, **kw)
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert (error.origin, error.kind, error.code) == (USER, NON_RECOVERABLE, "USER:RuntimeError")
    assert_no_bare_traceback(result)
    return error


def test_unknown_resolver(ep):
    error = _load_error(ep, "ok_tasks", "add", options=["--resolver", "no_such_pkg.resolvers.Resolver"])
    assert "no_such_pkg.resolvers.Resolver" in error.message
    assert "No module named 'no_such_pkg'" in error.message


def test_resolver_attribute_that_does_not_exist(ep):
    error = _load_error(ep, "ok_tasks", "add", options=["--resolver", "custom_resolver.NoSuchResolver"])
    assert "custom_resolver.NoSuchResolver" in error.message.splitlines()[0]


def test_resolver_whose_load_task_raises(ep):
    error = _load_error(ep, None, None, options=["--resolver", "custom_resolver.RaisingResolver"], loader_args=["x", "y"])
    assert "LookupError: RaisingResolver cannot find ['x', 'y']" in error.message
    assert 'custom_resolver.py", line' in error.message  # the resolver's own frame


def test_module_with_a_syntax_error(ep):
    error = _load_error(ep, "bad_syntax", "broken")
    assert "SyntaxError" in error.message.splitlines()[0]
    assert str(TASK_DIR / "bad_syntax.py") in error.message
    assert "def broken(a: int) -> int" in error.message


def test_module_whose_import_fails(ep):
    error = _load_error(ep, "broken_import", "anything")
    assert "module_that_does_not_exist_anywhere" in error.message.splitlines()[0]
    assert str(TASK_DIR / "broken_import.py") in error.message


def test_attribute_that_is_not_a_task(ep):
    error = _load_error(ep, "ok_tasks", "not_a_task")
    first = error.message.splitlines()[0]
    assert "@task" in first and "not a flytelite task" in first
    assert "not_a_task" in first  # which attribute it was


def test_plain_function_is_not_a_task(ep):
    error = _load_error(ep, "ok_tasks", "plain_function")
    assert "plain_function" in error.message and "decorate the function with @task" in error.message


def test_missing_task_attribute(ep):
    error = _load_error(ep, "ok_tasks", "no_such_task")
    assert "no_such_task" in error.message.splitlines()[0] and "ok_tasks" in error.message


def test_missing_module(ep):
    error = _load_error(ep, "no_such_module_here", "add")
    assert "No module named 'no_such_module_here'" in error.message.splitlines()[0]


def test_malformed_loader_args(ep):
    error = _load_error(ep, None, None, loader_args=["task-module", "ok_tasks"])
    assert "task-module <module> task-name <name>" in error.message


# --- limits ---------------------------------------------------------------------------------


def test_output_over_the_offloading_maximum(ep):
    ep.write_inputs(n=2 * 1024 * 1024)
    result = ep.execute("ok_tasks", "big_string", env={"_F_L_MIN_SIZE_MB": "0", "_F_L_MAX_SIZE_MB": "1"})
    assert result.returncode == 0, result.describe()
    error = result.error()  # neither outputs.pb nor o0_offloaded_metadata.pb
    assert error.origin == USER and error.kind == NON_RECOVERABLE
    first = error.message.splitlines()[0]
    assert "'o0'" in first and "1 MB" in first and "_F_L_MAX_SIZE_MB" in first


# --- sys.exit in user code -----------------------------------------------------------------------


@pytest.mark.parametrize("code", [3, 0])
def test_sys_exit_in_the_task_ends_in_a_user_error_document(ep, code):
    ep.write_inputs(code=code)
    result = ep.execute("failing_tasks", "exits")
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert (error.origin, error.kind) == (USER, NON_RECOVERABLE)
    assert f"SystemExit: {code}" in error.message.splitlines()[0] or "sys.exit" in error.message.splitlines()[0]
    assert 'failing_tasks.py", line' in error.message and "sys.exit(code)" in error.message


def test_sys_exit_while_importing_the_module_ends_in_a_user_error_document(ep):
    error = _load_error(ep, "exits_on_import", "anything")
    assert "SystemExit" in error.message.splitlines()[0]
    assert "exits_on_import" in error.message
