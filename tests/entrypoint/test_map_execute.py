"""map-execute: each subtask of an array node runs one element of its mapped inputs."""

from __future__ import annotations

from flytelite.types import encode_map

INNER = ["resolver", "flytelite.resolvers.module.default_task_resolver", "task-module", "mapped", "task-name", "scaled_square"]


def _map_command(ep, bound: str = "scale") -> list[str]:
    command = ep.command(None, None, loader_args=["vars", bound, *INNER])
    command[command.index("execute")] = "map-execute"
    return command + []


def _inputs(ep, n: int, scale: int = 2):
    ep.write_inputs(encode_map({"x": list(range(n)), "scale": scale}, {"x": list[int], "scale": int}))


def test_subtask_takes_offset_plus_index_and_passes_bound_inputs_whole(ep):
    _inputs(ep, 30)
    env = {"BATCH_JOB_ARRAY_INDEX_VAR_NAME": "JOB_INDEX", "JOB_INDEX": "7", "BATCH_JOB_ARRAY_INDEX_OFFSET": "10"}
    result = ep.run(_map_command(ep), env=env)
    assert result.returncode == 0, result.describe()
    assert result.outputs().literals["o0"].scalar.primitive.integer == 17 * 17 * 2


def test_without_array_variables_the_subtask_takes_element_zero_and_accepts_max_concurrency(ep):
    _inputs(ep, 3, scale=5)
    command = _map_command(ep)
    command[command.index("--"):command.index("--")] = ["--max-concurrency", "4"]
    result = ep.run(command)
    assert result.outputs().literals["o0"].scalar.primitive.integer == 0


def test_a_100k_element_input_converts_only_the_chosen_element(ep):
    _inputs(ep, 100_000)
    result = ep.run(_map_command(ep), env={"BATCH_JOB_ARRAY_INDEX_OFFSET": "99999"})
    assert result.outputs().literals["o0"].scalar.primitive.integer == 99_999 * 99_999 * 2


def test_an_index_past_the_end_is_a_clear_error_document(ep):
    _inputs(ep, 5)
    result = ep.run(_map_command(ep), env={"BATCH_JOB_ARRAY_INDEX_OFFSET": "5"})
    error = result.error()
    assert result.returncode == 0
    assert "map index 5 is outside mapped input 'x', which has 5 elements" in error.message
    assert error.origin == 2  # SYSTEM: the backend's index and the list disagree


def test_a_mapped_input_that_is_not_a_list_is_a_user_error(ep):
    ep.write_inputs(encode_map({"x": 3, "scale": 2}, {"x": int, "scale": int}))
    error = ep.run(_map_command(ep)).error()
    assert error.origin == 1 and "mapped input 'x' must be a list" in error.message


def test_an_unknown_bound_input_is_a_load_error_naming_it(ep):
    _inputs(ep, 3)
    error = ep.run(_map_command(ep, bound="scale,nope")).error()
    assert error.origin == 1 and "nope" in error.message and "mapped.scaled_square" in error.message


def test_map_execute_reads_and_writes_on_s3(ep, s3_bucket, s3_env):
    from flyteidl.core import literals_pb2

    from flytelite import io

    prefix = f"s3://{s3_bucket}/map"
    io.write_bytes(f"{prefix}/inputs.pb", encode_map({"x": list(range(50)), "scale": 3}, {"x": list[int], "scale": int}).SerializeToString())
    command = _map_command(ep)
    command[command.index("--inputs") + 1] = f"{prefix}/inputs.pb"
    command[command.index("--output-prefix") + 1] = f"{prefix}/out"
    command[command.index("--raw-output-data-prefix") + 1] = f"{prefix}/raw"
    result = ep.run(command, env={**s3_env, "BATCH_JOB_ARRAY_INDEX_OFFSET": "42"})
    assert result.returncode == 0, result.describe()
    outputs = literals_pb2.LiteralMap.FromString(io.read_bytes(f"{prefix}/out/outputs.pb"))
    assert outputs.literals["o0"].scalar.primitive.integer == 42 * 42 * 3
