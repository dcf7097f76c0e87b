"""The task contract (``model/contract.py``): what every task provides, what a task config provides."""

from __future__ import annotations

import pytest

from flytelite import Elastic, PyTorch, task
from flytelite.model.contract import BaseTask, TaskConfig, as_task_config
from flytelite.model.map_task import MapSubtask, map_task
from flytelite.runtime.context import ExecutionContext, use_context
from flytelite.torch_launcher.config import Worker
from flytelite.types import encode_map


@task
def square(x: int, offset: int = 0) -> int:
    return x * x + offset


@pytest.fixture
def local_context(tmp_path):
    ctx = ExecutionContext(working_directory=str(tmp_path), raw_output_prefix=str(tmp_path / "raw"))
    with use_context(ctx):
        yield ctx


def test_a_map_subtask_runs_its_own_element_through_the_contract(local_context, monkeypatch):
    """Its ``dispatch_execute`` is its own (one element), not the inner task's (which would decode the whole list)."""
    monkeypatch.setenv("BATCH_JOB_ARRAY_INDEX_OFFSET", "2")
    mapped = map_task(square, bound_inputs=["offset"])
    inputs = encode_map({"x": [1, 2, 3], "offset": 10}, {"x": list[int], "offset": int}, what="input")
    out = mapped.dispatch_execute(local_context, inputs)
    assert out.literals["o0"].scalar.primitive.integer == 19


def test_a_map_subtask_has_no_forwarding_of_unknown_names():
    mapped = map_task(square)
    with pytest.raises(AttributeError):
        mapped.set_resolver  # noqa: B018 - a Task method, not part of the contract
    assert isinstance(mapped, BaseTask) and isinstance(square, BaseTask) and isinstance(mapped, MapSubtask)
    assert mapped.task_type == square.task_type and mapped.task_type_version == 1 and square.task_type_version == 0
    assert mapped.python_interface is square.python_interface  # one element's
    assert dict(mapped.call_interface.inputs) == {"x": list[int], "offset": list[int]}


def test_the_plugin_configs_are_task_configs():
    assert isinstance(Elastic(nnodes=2), TaskConfig) and isinstance(PyTorch(worker=Worker(replicas=1)), TaskConfig)
    assert task(task_config=Elastic(nnodes=2))(square.function).task_type == "pytorch"


def test_a_config_of_another_class_is_read_through_the_contract_with_its_defaults():
    class OnlyType:
        task_type = "my-plugin"

    config = as_task_config(OnlyType())
    assert (config.task_type, config.task_type_version, config.custom()) == ("my-plugin", 0, None)
    assert config.run_function(lambda a: a + 1, {"a": 1}) == 2
    assert as_task_config(None).task_type == "python-task"


def test_the_pipeline_refuses_an_object_that_only_looks_like_a_task(tmp_path):
    from flytelite.entrypoint import pipeline
    from flytelite.entrypoint.errors import UserCodeError

    class LooksLikeATask:
        def dispatch_execute(self, ctx, inputs):  # what the pipeline used to probe for
            return inputs

    attempt = pipeline.Attempt(pipeline.ExecuteArgs(str(tmp_path / "in.pb"), str(tmp_path / "out")))
    fake = LooksLikeATask()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("flytelite.resolvers.load_resolver", lambda path: type("R", (), {"load_task": staticmethod(lambda args: fake)})())
        with pytest.raises(UserCodeError, match="is not a flytelite task"):
            pipeline.load_task(attempt)
