"""Black-box: successful attempts through the real command (outputs.pb and what it refers to)."""

from __future__ import annotations

import re

from flyteidl.core import literals_pb2


def test_add_writes_outputs_pb_and_nothing_else(ep):
    ep.write_inputs(a=3, b=4)
    result = ep.execute("ok_tasks", "add")
    assert result.returncode == 0, result.describe()
    assert result.files() == ["outputs.pb"]
    outputs = result.outputs()
    assert list(outputs.literals) == ["o0"]
    assert outputs.literals["o0"].scalar.primitive.integer == 7


def test_console_script_runs_the_same_command(ep):
    ep.write_inputs(a=10, b=-3)
    result = ep.execute("ok_tasks", "add", script=True)
    assert result.returncode == 0, result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.integer == 7


def test_task_without_outputs_writes_an_empty_map(ep):
    result = ep.execute("ok_tasks", "nothing")
    assert result.returncode == 0, result.describe()
    assert (ep.out / "outputs.pb").exists()
    assert len(result.outputs().literals) == 0


def test_tuple_outputs_are_o0_o1(ep):
    ep.write_inputs(a=5)
    result = ep.execute("ok_tasks", "pair")
    outputs = result.outputs().literals
    assert sorted(outputs) == ["o0", "o1"]
    assert outputs["o0"].scalar.primitive.integer == 10
    assert outputs["o1"].scalar.primitive.string_value == "a=5"


def test_named_tuple_outputs_use_field_names(ep):
    ep.write_inputs(a=1, b=2)
    outputs = ep.execute("ok_tasks", "stats").outputs().literals
    assert sorted(outputs) == ["label", "total"]
    assert outputs["total"].scalar.primitive.integer == 3
    assert outputs["label"].scalar.primitive.string_value == "sum"


def test_file_output_is_uploaded_under_the_raw_prefix(ep):
    ep.write_inputs(text="hello from the task")
    result = ep.execute("ok_tasks", "write_file")
    blob = result.outputs().literals["o0"].scalar.blob
    assert blob.metadata.type.dimensionality == 0  # SINGLE
    prefix = str(ep.raw) + "/"
    assert blob.uri.startswith(prefix), blob.uri
    assert re.fullmatch(r"[0-9a-f]{32}/report\.txt", blob.uri[len(prefix):]), blob.uri
    with open(blob.uri) as f:
        assert f.read() == "hello from the task"


def test_custom_resolver_class_by_dotted_path(ep):
    ep.write_inputs(x=4)
    result = ep.execute(None, None, options=["--resolver", "custom_resolver.MyResolver"], loader_args=["name", "triple"])
    assert result.outputs().literals["o0"].scalar.primitive.integer == 12


def test_custom_resolver_instance_by_dotted_path(ep):
    ep.write_inputs(x=21)
    result = ep.execute(
        None, None, options=["--resolver", "custom_resolver.instance_resolver"], loader_args=["name", "double"]
    )
    assert result.returncode == 0, result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.integer == 42


def test_options_with_equals_sign(ep):
    ep.write_inputs(a=1, b=1)
    command = [
        *ep.command("ok_tasks", "add")[:3], "execute",
        f"--inputs={ep.tmp_path / 'inputs.pb'}", f"--output-prefix={ep.out}",
        "--", "task-module", "ok_tasks", "task-name", "add",
    ]  # fmt: skip
    result = ep.run(command)
    assert result.outputs().literals["o0"].scalar.primitive.integer == 2


def test_loader_args_without_double_dash_go_through_click(ep):
    ep.write_inputs(a=2, b=2)
    command = [*ep.command("ok_tasks", "add")[:3], "execute", "--inputs", str(ep.tmp_path / "inputs.pb"),
               "--output-prefix", str(ep.out), "task-module", "ok_tasks", "task-name", "add"]  # fmt: skip
    result = ep.run(command)
    assert result.returncode == 0, result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.integer == 4


# --- placeholders that the backend left unrendered --------------------------------------------


def test_unrendered_placeholders_count_as_absent(ep):
    ep.write_inputs(text="placeholder run")
    result = ep.execute(
        "ok_tasks",
        "write_file",
        raw=False,
        options=[
            "--raw-output-data-prefix", "{{.rawOutputDataPrefix}}",
            "--checkpoint-path", "{{.checkpointOutputPrefix}}",
            "--prev-checkpoint", '""',
        ],
    )  # fmt: skip
    assert result.returncode == 0, result.describe()
    uri = result.outputs().literals["o0"].scalar.blob.uri
    assert "{{" not in uri and uri.startswith(str(ep.tmp_path / "tmpdir")), uri  # the local fallback
    assert open(uri).read() == "placeholder run"
    warnings = [line for line in result.logs() if line.get("level") == "warning"]
    assert any("raw output prefix" in w["event"] and "local folder" in w["event"] for w in warnings), result.stderr
    assert not (ep.tmp_path / "{{.rawOutputDataPrefix}}").exists()
    assert not (ep.tmp_path / "task_modules" / "{{.checkpointOutputPrefix}}").exists()


def test_missing_raw_output_prefix_falls_back_to_a_local_folder(ep):
    ep.write_inputs(a=1, b=2)
    result = ep.execute("ok_tasks", "add", raw=False)
    assert result.outputs().literals["o0"].scalar.primitive.integer == 3
    assert any(line.get("raw_output_prefix", "").startswith(str(ep.tmp_path / "tmpdir")) for line in result.logs())


def test_offloaded_input_literal_is_read(ep):
    stored = ep.literal("offloaded text")
    stored_path = ep.tmp_path / "upstream" / "o0_offloaded_metadata.pb"
    stored_path.parent.mkdir()
    stored_path.write_bytes(stored.SerializeToString())
    pointer = literals_pb2.Literal()
    pointer.offloaded_metadata.uri = str(stored_path)
    pointer.offloaded_metadata.size_bytes = stored.ByteSize()
    pointer.offloaded_metadata.inferred_type.simple = 3  # STRING
    ep.write_inputs(ep.literal_map(s=pointer))
    result = ep.execute("ok_tasks", "upper")
    assert result.outputs().literals["o0"].scalar.primitive.string_value == "OFFLOADED TEXT"


def test_ignore_outputs_writes_nothing(ep):
    result = ep.execute("ok_tasks", "ignored")
    assert result.returncode == 0, result.describe()
    assert result.files() == []


def test_the_attempts_scratch_folder_is_removed_unless_it_holds_the_raw_prefix(ep, tmp_path):
    scratch = tmp_path / "tmpdir"  # the TMPDIR the `ep` runs get
    ep.write_inputs(a=2, b=5)
    assert ep.execute("ok_tasks", "add").returncode == 0
    assert list(scratch.iterdir()) == []
    assert ep.execute("ok_tasks", "add", raw=False).returncode == 0
    kept = list(scratch.iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("flytelite-")  # the fallback raw prefix lives there
