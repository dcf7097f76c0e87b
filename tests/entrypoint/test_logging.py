"""Black-box: the log stream on stderr (JSON lines, identity, user logging, secrets)."""

from __future__ import annotations

import json


IDENTITY_LONG = {
    "FLYTE_INTERNAL_EXECUTION_PROJECT": "flytesnacks",
    "FLYTE_INTERNAL_EXECUTION_DOMAIN": "development",
    "FLYTE_INTERNAL_EXECUTION_ID": "a1b2c3d4e5",
    "FLYTE_INTERNAL_TASK_NAME": "ok_tasks.log_warning",
}
IDENTITY_SHORT = {"_F_PRJ": "flytesnacks", "_F_DM": "development", "_F_NM": "a1b2c3d4e5", "_F_TK_NM": "ok_tasks.log_warning"}
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GROUP_SECRET = "s3cr3t-group-value-9f8e7d"


def _assert_identity(line):
    assert line["execution"] == "a1b2c3d4e5", line
    assert line["project"] == "flytesnacks" and line["domain"] == "development", line
    assert line["task"] == "ok_tasks.log_warning", line


def test_every_stderr_line_is_json_when_not_a_tty(ep):
    ep.write_inputs(text="hi")
    result = ep.execute("ok_tasks", "log_warning", raw=False)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines, "expected at least the raw-prefix warning and the user's warning"
    for line in lines:
        record = json.loads(line)
        assert {"event", "level", "timestamp", "logger"} <= set(record), record


def test_user_logging_goes_through_the_same_json_stream(ep):
    ep.write_inputs(text="hello logs")
    result = ep.execute("ok_tasks", "log_warning", env=IDENTITY_SHORT)
    assert result.returncode == 0, result.describe()
    user_lines = [line for line in result.logs() if line.get("logger") == "ok_tasks"]
    assert len(user_lines) == 1, result.stderr
    line = user_lines[0]
    assert line["event"] == "user says hello logs"
    assert line["level"] == "warning"
    _assert_identity(line)


def test_error_line_carries_the_execution_identity(ep):
    ep.write_inputs(a=1)
    result = ep.execute("failing_tasks", "boom", env={**IDENTITY_LONG, "FLYTE_INTERNAL_TASK_NAME": "ok_tasks.log_warning"})
    errors = [line for line in result.logs() if line.get("level") == "error"]
    assert len(errors) == 1, result.stderr
    _assert_identity(errors[0])
    assert "RuntimeError: boom with value 1" in errors[0]["error"]
    assert errors[0]["origin"] == "USER"


def test_warning_before_the_task_runs_carries_the_execution_identity(ep):
    ep.write_inputs(a=1, b=2)
    result = ep.execute("ok_tasks", "add", raw=False, env=IDENTITY_SHORT)
    warnings = [line for line in result.logs() if line.get("level") == "warning"]
    assert len(warnings) == 1 and "raw output prefix" in warnings[0]["event"], result.stderr
    _assert_identity(warnings[0])


def test_console_format_is_not_json(ep):
    ep.write_inputs(text="console please")
    result = ep.execute("ok_tasks", "log_warning", env={"FLYTELITE_LOG_FORMAT": "console"})
    assert result.returncode == 0, result.describe()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert any("user says console please" in line for line in lines), result.stderr
    assert result.logs() == []  # not one JSON line


def test_log_level_threshold(ep):
    ep.write_inputs(text="quiet")
    result = ep.execute("ok_tasks", "log_warning", env={"FLYTELITE_LOG_LEVEL": "error"})
    assert result.returncode == 0
    assert result.stderr.strip() == "", result.stderr


def test_secrets_are_masked_in_logs_and_in_the_error_document(ep):
    result = ep.execute(
        "failing_tasks", "leak_secrets", env={"AWS_SECRET_ACCESS_KEY": AWS_SECRET, "_FSEC_GROUP_KEY": GROUP_SECRET}
    )
    assert result.returncode == 0, result.describe()
    error = result.error()
    for secret in (AWS_SECRET, GROUP_SECRET):
        assert secret not in result.stderr
        assert secret not in result.stdout
        assert secret not in error.message
    # the lines are still there, masked
    user_line = next(line for line in result.logs() if line.get("logger") == "failing_tasks")
    assert user_line["event"] == "the keys are *** and ***"
    assert "RuntimeError: failed with keys *** and ***" in error.message.splitlines()[0]
    assert "failed with keys *** and ***" in next(line for line in result.logs() if line.get("level") == "error")["error"]


def test_logging_first_imported_inside_the_task_is_json_and_redacted(ep):
    secret = "pa55-lazy-secret-value"
    ep.write_inputs(text=f"key {secret}")
    result = ep.execute("lazy_logging", "lazy", env={"AWS_SECRET_ACCESS_KEY": secret})
    assert result.returncode == 0, result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.boolean is False  # the case this test is about
    assert secret not in result.stderr
    line = next(line for line in result.logs() if line.get("logger") == "lazy_logging")
    assert line["event"] == "lazy says key ***"
