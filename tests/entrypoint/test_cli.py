"""Black-box: the command line itself (usage errors, --test) through the real command."""

from __future__ import annotations

import pytest


def test_missing_inputs_option_is_a_usage_error(ep):
    result = ep.run([*ep.command("ok_tasks", "add")[:3], "execute", "--output-prefix", str(ep.out), "--",
                     "task-module", "ok_tasks", "task-name", "add"])  # fmt: skip
    assert result.returncode == 2, result.describe()
    assert "Missing option '--inputs'" in result.stderr
    assert result.files() == []


def test_missing_output_prefix_is_a_usage_error(ep):
    ep.write_inputs(a=1, b=2)
    result = ep.flytelite("execute", "--inputs", str(ep.tmp_path / "inputs.pb"), "--", "task-module", "ok_tasks", "task-name", "add")
    assert result.returncode == 2, result.describe()
    assert "Missing option '--output-prefix'" in result.stderr


def test_unknown_option_before_the_loader_args_ends_in_a_document(ep):
    # click ignores unknown options (they join the loader args): the verdict is still a document
    ep.write_inputs(a=1, b=2)
    command = ep.command("ok_tasks", "add")
    command.insert(command.index("--"), "--no-such-option")
    result = ep.run(command)
    assert result.returncode == 0, result.describe()
    error = result.error()
    assert "--no-such-option" in error.message.splitlines()[0]


def test_help_lists_the_options(ep):
    result = ep.flytelite("execute", "--help")
    assert result.returncode == 0
    for option in ("--inputs", "--output-prefix", "--raw-output-data-prefix", "--checkpoint-path", "--prev-checkpoint",
                   "--resolver", "--dynamic-addl-distro", "--dynamic-dest-dir", "--test"):  # fmt: skip
        assert option in result.stdout


# --- --test ---------------------------------------------------------------------------------


def test_test_flag_loads_and_decodes_but_writes_nothing(ep):
    ep.write_inputs(a=1, b=2)
    result = ep.execute("ok_tasks", "add", options=["--test"])
    assert result.returncode == 0, result.describe()
    assert "loaded ok_tasks.add" in result.stdout and "a=int, b=int" in result.stdout
    assert not ep.out.exists()
    assert not ep.raw.exists()


def test_test_flag_does_not_run_the_task(ep):
    marker = ep.tmp_path / "started"
    ep.write_inputs(marker=str(marker), seconds=0.0)
    result = ep.execute("ok_tasks", "sleepy", options=["--test"])
    assert result.returncode == 0, result.describe()
    assert not marker.exists()
    assert not ep.out.exists()


@pytest.mark.parametrize("case", ["missing-input", "garbage", "bad-module"])
def test_test_flag_with_bad_inputs_fails_and_writes_nothing(ep, case):
    if case == "missing-input":
        ep.write_inputs(a=1)
    elif case == "garbage":
        ep.write_inputs(b"\xff\xfe not a literal map")
    else:
        ep.write_inputs(a=1, b=2)
    result = ep.execute("no_such_module_here" if case == "bad-module" else "ok_tasks", "add", options=["--test"])
    assert result.returncode != 0, result.describe()
    assert not ep.out.exists()
    assert "loaded" not in result.stdout
    assert any(line.get("event") == "task failed" for line in result.logs()), result.stderr
