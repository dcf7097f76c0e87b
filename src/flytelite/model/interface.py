"""A task's Python interface (names, types, defaults) and its flyteidl ``TypedInterface``."""

from __future__ import annotations

import types
import typing
from typing import TYPE_CHECKING, Any, Callable

from ..support.records import Record
from ..types import InterfaceMismatch, UnsupportedType, literal_type, type_name

if TYPE_CHECKING:
    from flyteidl.core import interface_pb2

_VAR_ARGS_FLAGS = 0x04 | 0x08  # CO_VARARGS | CO_VARKEYWORDS (inspect is not imported: start-up time)


def _is_named_tuple(py_type: Any) -> bool:
    return isinstance(py_type, type) and issubclass(py_type, tuple) and hasattr(py_type, "_fields")


class Interface(Record):
    """Inputs and outputs by name; ``output_tuple`` is the NamedTuple class of a NamedTuple return."""

    __slots__ = ("inputs", "defaults", "outputs", "output_tuple")

    def __init__(
        self,
        inputs: dict[str, Any],
        defaults: dict[str, Any] | None = None,
        outputs: dict[str, Any] | None = None,
        output_tuple: type | None = None,
    ) -> None:
        self.inputs = inputs
        self.defaults = defaults or {}
        self.outputs = outputs or {}
        self.output_tuple = output_tuple

    def to_typed_interface(self) -> interface_pb2.TypedInterface:
        from flyteidl.core import interface_pb2

        typed = interface_pb2.TypedInterface()
        typed.inputs.SetInParent()  # present even when empty, as flytekit writes them
        typed.outputs.SetInParent()
        for variables, named in ((typed.inputs.variables, self.inputs), (typed.outputs.variables, self.outputs)):
            for name, py_type in named.items():
                variables[name].type.CopyFrom(literal_type(py_type))
                variables[name].description = name
        return typed

    def pack_outputs(self, rval: Any) -> dict[str, Any]:
        """The task's return value as ``{output name: value}``."""
        names = list(self.outputs)
        if not names:
            if rval is not None:
                raise InterfaceMismatch(f"the task returned {type(rval).__name__} but declares no outputs: add a return annotation")
            return {}
        if len(names) == 1:
            return {names[0]: self._single_output(rval)}
        if not isinstance(rval, tuple) or len(rval) != len(names):
            raise InterfaceMismatch(f"the task must return a tuple of {len(names)} values ({', '.join(names)}), got {type(rval).__name__}")
        return dict(zip(names, rval))

    def _single_output(self, rval: Any) -> Any:
        # flytekit takes a one-field NamedTuple's value bare or wrapped; a plain return is always the value.
        if self.output_tuple is not None and isinstance(rval, tuple) and len(rval) == 1:
            return rval[0]
        return rval

    def unpack_outputs(self, values: dict[str, Any]) -> Any:
        """The inverse of :meth:`pack_outputs`: what a local call of the task returns."""
        names = list(self.outputs)
        if not names:
            return None
        if self.output_tuple is not None:
            return self.output_tuple(*(values[n] for n in names))
        if len(names) == 1:
            return values[names[0]]
        return tuple(values[n] for n in names)


def _output_types(return_type: Any) -> tuple[dict[str, Any], type | None]:
    if return_type is None or return_type is type(None):
        return {}, None
    if _is_named_tuple(return_type):
        hints = typing.get_type_hints(return_type)
        return {name: hints[name] for name in return_type._fields}, return_type
    if isinstance(return_type, tuple):  # `-> (int, str)`: flytekit reads a tuple of types as Tuple[int, str]
        return_type = tuple[return_type]
    if typing.get_origin(return_type) is tuple:
        args = typing.get_args(return_type)
        if not args or args[-1] is Ellipsis:
            raise UnsupportedType(f"return type {type_name(return_type)}: a tuple return needs one type per value")
        return {f"o{i}": arg for i, arg in enumerate(args)}, None
    return {"o0": return_type}, None


def _parameters(fn: Callable[..., Any]) -> tuple[list[str], dict[str, Any]]:
    """Parameter names and defaults, read off the code object."""
    while hasattr(fn, "__wrapped__"):
        fn = fn.__wrapped__  # type: ignore[attr-defined]
    code = fn.__code__
    if code.co_flags & _VAR_ARGS_FLAGS:
        raise UnsupportedType(f"{fn.__qualname__}: *args and **kwargs cannot be task inputs")
    positional = list(code.co_varnames[: code.co_argcount])
    keyword_only = list(code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount])
    positional_defaults = fn.__defaults__ or ()
    defaults = dict(zip(positional[len(positional) - len(positional_defaults) :], positional_defaults))
    defaults.update(fn.__kwdefaults__ or {})
    return positional + keyword_only, defaults


def _type_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except TypeError:
        # `-> (A, B)` under `from __future__ import annotations`: typing refuses a tuple as an annotation,
        # so the return is evaluated apart, in the function's module, like the others.
        annotations = getattr(fn, "__annotations__", {})
        written = annotations.get("return")
        if not isinstance(written, str):
            raise
        inputs_only = types.SimpleNamespace(__annotations__={k: v for k, v in annotations.items() if k != "return"})
        globalns = getattr(fn, "__globals__", {})
        hints = typing.get_type_hints(inputs_only, globalns=globalns, include_extras=True)
        hints["return"] = eval(written, globalns)  # noqa: S307 - the module's own annotation text
        return hints


def interface_of(fn: Callable[..., Any], pickle_untyped: bool = False) -> Interface:
    """Read a function's annotations; every input must be annotated, unless ``pickle_untyped`` makes
    an unannotated input, and an unannotated return, ``Any`` (a pickle), as flytekit does."""
    hints = _type_hints(fn)
    names, defaults = _parameters(fn)
    inputs = {}
    for name in names:
        if name not in hints and not pickle_untyped:
            raise UnsupportedType(
                f"{fn.__qualname__}: input '{name}' needs a type annotation (or @task(pickle_untyped=True) to pickle it)"
            )
        inputs[name] = hints.get(name, typing.Any)
    returned = hints.get("return", typing.Any if pickle_untyped else None)
    outputs, output_tuple = _output_types(returned)
    interface = Interface(inputs, defaults, outputs, output_tuple)
    for kind, named in (("input", inputs), ("output", outputs)):
        for name, py_type in named.items():
            try:
                literal_type(py_type)
            except UnsupportedType as exc:
                raise UnsupportedType(f"{fn.__qualname__}: {kind} '{name}': {exc}") from None
    return interface
