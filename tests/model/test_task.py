"""``@task``, its metadata and resources, the interface it reads, hooks, and local calls."""

import asyncio
import dataclasses
import datetime
import typing
from typing import NamedTuple, Optional

import pytest
from flyteidl.core import literals_pb2, types_pb2

from flytelite import Resources, Secret, Task, TaskMetadata, task
from flytelite.runtime.context import ExecutionContext, current_context, use_context
from flytelite.model.interface import interface_of
from flytelite.model.metadata import ResourceSpec
from flytelite.types import UnsupportedType, encode_map, literal_type


@pytest.fixture(autouse=True)
def local_context(tmp_path):
    ctx = ExecutionContext(working_directory=str(tmp_path), raw_output_prefix=str(tmp_path / "raw"))
    with use_context(ctx):
        yield ctx


# --- @task -------------------------------------------------------------------------------------


@task
def add(a: int, b: int = 2) -> int:
    """Adds."""
    return a + b


@task(retries=3, cache=True, cache_version="7", timeout=60, environment={"K": "V"}, container_image="img:1")
def configured(x: str) -> str:
    return x * 2


def test_bare_decorator():
    assert isinstance(add, Task)
    assert add.name == f"{__name__}.add"
    assert add.task_type == "python-task"
    assert add.metadata == TaskMetadata()
    assert add.resources == ResourceSpec()
    assert add.function(1, 1) == 2
    assert add.__doc__ == "Adds." and add.__name__ == "add"
    assert add(1) == 3


def test_decorator_with_arguments():
    assert isinstance(configured, Task)
    assert configured.name == f"{__name__}.configured"
    assert configured.metadata.retries == 3
    assert configured.metadata.cache and configured.metadata.cache_version == "7"
    assert configured.metadata.timeout == datetime.timedelta(seconds=60)
    assert configured.environment == {"K": "V"}
    assert configured.container_image == "img:1"
    assert configured("ab") == "abab"


def test_name_is_module_and_function():
    def inner(x: int) -> int:
        return x

    assert task(inner).name == f"{inner.__module__}.inner"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"cache": True}, "cache=True needs a cache_version"),
        ({"cache_serialize": True}, "cache_serialize=True only makes sense with caching"),
        ({"cache_serialize": True, "cache_version": "1"}, "cache_serialize=True only makes sense with caching"),
        ({"cache_ignore_input_vars": ("a",)}, "cache_ignore_input_vars only makes sense with caching"),
        ({"retries": -1}, "retries must be a whole number >= 0, not -1"),
        ({"retries": 1.5}, "retries must be a whole number >= 0, not 1.5"),
        ({"retries": True}, "retries must be a whole number"),
        ({"timeout": "60"}, "timeout must be whole seconds .* not str"),
        ({"timeout": 1.5}, "timeout must be whole seconds .* not float"),
        ({"timeout": True}, "timeout must be whole seconds .* not bool"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"timeout": datetime.timedelta(seconds=-1)}, "timeout must be positive"),
        ({"deprecated": True}, "deprecated takes the message"),
        ({"resources": Resources(cpu="1"), "requests": Resources(cpu="1")}, "either resources= or requests=/limits="),
        ({"resources": Resources(cpu="1"), "limits": Resources(cpu="1")}, "either resources= or requests=/limits="),
        ({"resources": Resources(cpu=("1", "2", "3"))}, r"resources cpu=\('1', '2', '3'\): a pair must be"),
    ],
)
def test_validation_messages(kwargs, words):
    with pytest.raises(ValueError, match=words):
        task(**kwargs)


def test_valid_cache_settings():
    t = task(cache=True, cache_version="1", cache_serialize=True, cache_ignore_input_vars=["x"])(configured.function)
    assert t.metadata.cache_serialize and t.metadata.cache_ignore_input_vars == ("x",)


def test_timeout_int_becomes_timedelta():
    assert TaskMetadata(timeout=90).timeout == datetime.timedelta(seconds=90)
    assert TaskMetadata(timeout=datetime.timedelta(minutes=2)).timeout == datetime.timedelta(minutes=2)
    assert TaskMetadata().timeout is None


def test_resources_pairs_split_into_request_and_limit():
    t = task(resources=Resources(cpu=("1", "2"), mem="4Gi", gpu=[0, 1]))(configured.function)
    assert t.resources.requests == Resources(cpu="1", mem="4Gi", gpu=0)
    assert t.resources.limits == Resources(cpu="2", mem="4Gi", gpu=1)


def test_requests_and_limits():
    t = task(requests=Resources(cpu="1"), limits=Resources(mem="2Gi"))(configured.function)
    assert t.resources == ResourceSpec(Resources(cpu="1"), Resources(mem="2Gi"))
    assert Resources(cpu="1", ephemeral_storage="1Gi").items() == [("cpu", "1"), ("ephemeral_storage", "1Gi")]


def test_secret_validation():
    assert Secret(group="aws", key="token").mount_requirement == "ANY"
    with pytest.raises(ValueError, match="Secret needs a group"):
        Secret(group="")
    with pytest.raises(ValueError, match="mount_requirement must be ANY, ENV_VAR or FILE, not 'DISK'"):
        Secret(group="g", mount_requirement="DISK")
    t = task(secret_requests=[Secret("g", "k", "ENV_VAR")])(configured.function)
    assert t.secret_requests == [Secret("g", "k", "ENV_VAR")]


class _Config:
    task_type = "my-plugin"


def test_task_config_with_task_type_is_honoured():
    t = task(task_config=_Config())(configured.function)
    assert t.task_type == "my-plugin"
    assert task(task_config=object())(configured.function).task_type == "python-task"


def test_task_config_run_function():
    calls = []

    class Runner:
        def run_function(self, fn, kwargs):
            calls.append(kwargs)
            return fn(**kwargs) + "!"

    t = task(task_config=Runner())(configured.function)
    assert t("a") == "aa!" and calls == [{"x": "a"}]


def test_set_resolver():
    resolver = object()
    t = task(configured.function)
    t.set_resolver(resolver)
    assert t.task_resolver is resolver
    assert task(task_resolver=resolver)(configured.function).task_resolver is resolver


def test_default_resolver():
    from flytelite.resolvers import module

    assert add.task_resolver is module.default_task_resolver
    assert module.default_task_resolver.loader_args(add)[::2] == ["task-module", "task-name"]


# --- the interface -----------------------------------------------------------------------------


class Stats(NamedTuple):
    mean: float
    count: int


def test_inputs_with_defaults_and_single_output():
    def f(a: int, b: str = "x", c: Optional[float] = None) -> float:
        return 0.0

    iface = interface_of(f)
    assert iface.inputs == {"a": int, "b": str, "c": Optional[float]}
    assert iface.defaults == {"b": "x", "c": None}
    assert iface.outputs == {"o0": float} and iface.output_tuple is None


def test_tuple_output_gives_o0_to_on():
    def f() -> tuple[int, str, list[float]]:
        return 1, "a", []

    iface = interface_of(f)
    assert iface.outputs == {"o0": int, "o1": str, "o2": list[float]}
    assert iface.pack_outputs((1, "a", [])) == {"o0": 1, "o1": "a", "o2": []}
    assert iface.unpack_outputs({"o0": 1, "o1": "a", "o2": []}) == (1, "a", [])


def test_typing_tuple_output():
    def f() -> typing.Tuple[int, int]:
        return 1, 2

    assert interface_of(f).outputs == {"o0": int, "o1": int}


def test_named_tuple_output_uses_field_names():
    def f() -> Stats:
        return Stats(1.0, 2)

    iface = interface_of(f)
    assert iface.outputs == {"mean": float, "count": int} and iface.output_tuple is Stats
    assert iface.unpack_outputs({"mean": 1.0, "count": 2}) == Stats(1.0, 2)


def test_single_field_named_tuple():
    class One(NamedTuple):
        value: int

    def f() -> One:
        return One(3)

    iface = interface_of(f)
    assert iface.outputs == {"value": int}
    assert iface.pack_outputs(One(3)) == {"value": 3}
    assert task(f)() == One(3)


def test_single_field_named_tuple_takes_a_bare_value_like_flytekit():
    class One(NamedTuple):
        value: list[int]

    def f() -> One:
        return [1, 2]  # type: ignore[return-value]

    assert interface_of(f).pack_outputs([1, 2]) == {"value": [1, 2]}
    assert task(f)() == One([1, 2])


def test_return_annotation_written_as_a_tuple_of_types():
    def f() -> (dict[str, int], list[str], int):  # type: ignore[syntax]
        return {"a": 1}, ["x"], 2

    iface = interface_of(f)
    assert iface.outputs == {"o0": dict[str, int], "o1": list[str], "o2": int}
    assert iface.to_typed_interface().outputs.variables["o1"].type.collection_type.simple == 3  # STRING
    assert task(f)() == ({"a": 1}, ["x"], 2)


def test_empty_tuple_of_types_names_the_problem():
    def f() -> ():  # type: ignore[syntax]
        return ()

    with pytest.raises(UnsupportedType, match="one type per value"):
        interface_of(f)


@pytest.mark.parametrize("annotation", [None, "missing"])
def test_no_return_gives_no_outputs(annotation):
    def f(a: int):
        pass

    if annotation is None:
        f.__annotations__["return"] = None
    iface = interface_of(f)
    assert iface.outputs == {} and iface.unpack_outputs({}) is None
    assert task(f)(1) is None


def test_missing_annotation_names_input():
    def f(a: int, b) -> int:
        return a

    with pytest.raises(UnsupportedType, match="input 'b' needs a type annotation"):
        interface_of(f)


def test_varargs_rejected():
    def f(*args: int) -> int:
        return 0

    def g(**kwargs: int) -> int:
        return 0

    for fn in (f, g):
        with pytest.raises(UnsupportedType, match=r"\*args and \*\*kwargs cannot be task inputs"):
            interface_of(fn)


@pytest.mark.parametrize(
    "annotation, words",
    [
        (tuple, "tuple is not a Flyte type"),
        (set[int], r"set\[int\] cannot be expressed"),
        (dict[tuple[int, int], str], "keys must be int, float, bool, str or an Enum"),
        (list, "list is not a Flyte type"),
    ],
)
def test_unsupported_input_type_names_input(annotation, words):
    def f(good: int, bad) -> int:
        return 0

    f.__annotations__["bad"] = annotation
    with pytest.raises(UnsupportedType, match=f"f: input 'bad': .*{words}"):
        interface_of(f)


def test_unsupported_output_type_names_output():
    def f() -> set[int]:
        return set()

    with pytest.raises(UnsupportedType, match=r"output 'o0': set\[int\]"):
        interface_of(f)


def test_variadic_tuple_return_rejected():
    def f() -> tuple[int, ...]:
        return (1,)

    with pytest.raises(UnsupportedType, match="a tuple return needs one type per value"):
        interface_of(f)


def test_typed_interface():
    def f(a: int, b: list[str] = []) -> Stats:  # noqa: B006
        return Stats(0.0, 0)

    typed = task(f).interface
    assert set(typed.inputs.variables) == {"a", "b"}
    assert set(typed.outputs.variables) == {"mean", "count"}
    for variables in (typed.inputs.variables, typed.outputs.variables):
        for name, variable in variables.items():
            assert variable.description == name
    assert typed.inputs.variables["b"].type == literal_type(list[str])
    assert typed.outputs.variables["count"].type == types_pb2.LiteralType(simple=types_pb2.SimpleType.INTEGER)


def test_annotated_input_uses_inner_type():
    def f(a: typing.Annotated[int, "meta"]) -> int:
        return a

    assert task(f).interface.inputs.variables["a"].type.simple == types_pb2.SimpleType.INTEGER
    assert task(f)(a=4) == 4


# --- hooks -------------------------------------------------------------------------------------


class RecordingTask(Task):
    def __init__(self, fn, calls):
        super().__init__(fn, metadata=TaskMetadata(), resources=ResourceSpec())
        self.calls = calls
        self.params = None

    def pre_execute(self, params):
        self.calls.append("pre_execute")
        self.params = ExecutionContext(working_directory=params.working_directory, raw_output_prefix="/pre/raw")
        return self.params

    def execute(self, **kwargs):
        self.calls.append("execute")
        return super().execute(**kwargs)

    def post_execute(self, params, rval):
        self.calls.append("post_execute")
        assert params is self.params
        return rval + 100


def test_hook_order_and_post_execute_alters_rval(local_context):
    calls = []
    seen = {}

    def f(x: int) -> int:
        calls.append("fn")
        seen["ctx"] = current_context()
        return x * 2

    t = RecordingTask(f, calls)
    out = t.dispatch_execute(local_context, encode_map({"x": 4}, {"x": int}, what="input"))
    assert calls == ["pre_execute", "execute", "fn", "post_execute"]
    assert out.literals["o0"].scalar.primitive.integer == 108
    assert seen["ctx"] is t.params and seen["ctx"].raw_output_prefix == "/pre/raw"
    assert current_context() is local_context  # restored after


def test_local_call_goes_through_hooks():
    calls = []

    def f(x: int) -> int:
        return x

    assert RecordingTask(f, calls)(x=1) == 101
    assert calls == ["pre_execute", "execute", "post_execute"]


def test_dispatch_execute_input_type_error_names_input(local_context):
    lm = literals_pb2.LiteralMap()
    lm.literals["a"].scalar.primitive.string_value = "x"
    with pytest.raises(TypeError, match="input 'a': expected int, got a string_value literal 'x'"):
        add.dispatch_execute(local_context, lm)


def test_dispatch_execute_uses_defaults(local_context):
    lm = literals_pb2.LiteralMap()
    lm.literals["a"].scalar.primitive.integer = 5
    assert add.dispatch_execute(local_context, lm).literals["o0"].scalar.primitive.integer == 7


# --- local calls -------------------------------------------------------------------------------


@task
def three(a: int, b: str, c: float = 0.5) -> tuple[str, float]:
    return b * a, c


def test_positional_and_keyword_args():
    assert three(2, "x") == ("xx", 0.5)
    assert three(2, b="y", c=1) == ("yy", 1.0)
    assert three(c=2.5, b="z", a=1) == ("z", 2.5)


def test_unknown_input():
    with pytest.raises(TypeError, match="has no input named d"):
        three(1, "x", d=1)


def test_input_given_twice():
    with pytest.raises(TypeError, match="got input 'a' twice"):
        three(1, "x", a=2)


def test_too_many_positional_args():
    with pytest.raises(TypeError, match="takes 3 inputs, 4 were given"):
        three(1, "x", 1.0, 2)


def test_missing_input():
    with pytest.raises(TypeError, match=r"input 'b' is missing and has no default \(expected str\)"):
        three(1)


def test_local_call_checks_input_types():
    with pytest.raises(TypeError, match="input 'a': expected int, got str '1'"):
        three("1", "x")


def test_local_call_checks_output_types():
    @task
    def bad() -> int:
        return "nope"  # type: ignore[return-value]

    with pytest.raises(TypeError, match="output 'o0': expected int, got str 'nope'"):
        bad()


def test_returning_value_with_no_outputs_declared():
    @task
    def f(a: int):
        return a

    with pytest.raises(TypeError, match="returned int but declares no outputs"):
        f(1)


def test_wrong_tuple_length():
    @task
    def f() -> tuple[int, int]:
        return 1, 2, 3  # type: ignore[return-value]

    with pytest.raises(TypeError, match=r"must return a tuple of 2 values \(o0, o1\), got tuple"):
        f()

    @task
    def g() -> tuple[int, int]:
        return 1  # type: ignore[return-value]

    with pytest.raises(TypeError, match="must return a tuple of 2 values"):
        g()


def test_named_tuple_local_call():
    @task
    def f(xs: list[float]) -> Stats:
        return Stats(sum(xs) / len(xs), len(xs))

    assert f([1.0, 2.0, 6.0]) == Stats(3.0, 3)


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_local_call_with_dataclass_and_optional():
    @task
    def f(p: Point, scale: Optional[int] = None) -> list[Point]:
        return [Point(p.x * (scale or 1), p.y)]

    assert f(Point(1, 2)) == [Point(1, 2)]
    assert f(Point(1, 2), scale=3) == [Point(3, 2)]


def test_local_call_result_is_a_copy():
    items = [1, 2]

    @task
    def f(xs: list[int]) -> list[int]:
        return xs

    out = f(items)
    assert out == items and out is not items


# --- async tasks -------------------------------------------------------------------------------


async def _async_double(x: int) -> int:
    await asyncio.sleep(0)
    return x * 2


def test_async_task():
    t = task(_async_double)
    assert t.python_interface.outputs == {"o0": int}
    assert t(21) == 42


def test_async_task_dispatch_execute(local_context):
    t = task(_async_double)
    out = t.dispatch_execute(local_context, encode_map({"x": 5}, {"x": int}, what="input"))
    assert out.literals["o0"].scalar.primitive.integer == 10


def test_async_task_sees_context(local_context):
    @task
    async def f() -> str:
        return current_context().raw_output_prefix

    assert f() == local_context.raw_output_prefix


# --- the package export ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "first_import",
    ["import flytelite.model.tasks", "from flytelite import Task", "from flytelite.model.tasks import Task", "pass"],
)
def test_from_flytelite_import_task_is_the_decorator_in_any_order(first_import):
    # The entrypoint imports the task model before the user's module runs `from flytelite import task`.
    import subprocess
    import sys

    code = (
        f"{first_import}\n"
        "from flytelite import task\n"
        "import flytelite, sys\n"
        "assert callable(task) and task.__module__ == 'flytelite.model.tasks', type(task)\n"
        "assert flytelite.task is task\n"
        "assert sys.modules['flytelite.model.tasks'].Task.__name__ == 'Task'\n"
        "from flytelite.model.tasks import Task\n"
        "assert isinstance(task(lambda: None), Task)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_deck_fields_take_flytekit_names_and_refuse_others():
    from flytelite import DeckField

    def f(a: int) -> int:
        return a

    assert task(enable_deck=True, deck_fields=("Input", DeckField.TIMELINE))(f).deck_fields == (DeckField.INPUT, DeckField.TIMELINE)
    assert task(f).deck_fields == tuple(DeckField)  # flytekit 1.16's default: all five
    with pytest.raises(ValueError, match=r"deck_fields: 'Inputs' is not a deck field; use DeckField.INPUT, DeckField.OUTPUT"):
        task(deck_fields=("Inputs",))(f)


def test_a_reusable_tasks_template_carries_an_empty_custom_and_a_plain_ones_none():
    # Flyte 2's connector plugin refuses a template without custom (flyte main, webapi/connector/plugin.go:171-175).
    from flytelite.model.template import SerializationSettings, to_task_template

    settings = SerializationSettings({"default": "ghcr.io/acme/app:1"}, project="p", domain="d", version="v1")

    @task(reusable=True)
    def warm(a: int) -> int:
        return a

    @task(reusable=True, sync=True)
    def warm_sync(a: int) -> int:
        return a

    @task
    def plain(a: int) -> int:
        return a

    for reusable in (warm, warm_sync):
        template = to_task_template(reusable, settings)
        assert template.HasField("custom") and not template.custom.fields
    assert not to_task_template(plain, settings).HasField("custom")
