"""The registry: the codec of each Python type annotation, built once and cached.

Codecs of optional kinds (dataclasses and pydantic models, files, pickles, data frames) live in their
own modules, imported the first time a type needs them.
"""

from __future__ import annotations

import collections.abc
import datetime
import enum
import functools
import os
import types
import typing
from typing import Any, Callable

from . import _base
from ._base import Codec, UnsupportedType, type_name
from ._builtins import (
    BoolCodec,
    DateCodec,
    DatetimeCodec,
    DictCodec,
    DurationCodec,
    EnumCodec,
    FloatCodec,
    IntCodec,
    IteratorCodec,
    ListCodec,
    LiteralValuesCodec,
    NoneCodec,
    StrCodec,
    UnionCodec,
)

_SIMPLE_CODECS: dict[Any, Callable[[], Codec]] = {
    int: IntCodec,
    float: FloatCodec,
    str: StrCodec,
    bool: BoolCodec,
    datetime.datetime: DatetimeCodec,
    datetime.date: DateCodec,
    datetime.timedelta: DurationCodec,
    type(None): NoneCodec,
    None: NoneCodec,
}


@functools.lru_cache(maxsize=None)
def _cached_codec(py_type: Any) -> Codec:
    return _build_codec(py_type)


def codec_for(py_type: Any) -> Codec:
    """The codec of a Python type annotation; raises :class:`UnsupportedType` if there is none."""
    try:
        return _cached_codec(py_type)
    except TypeError as exc:
        if isinstance(exc, UnsupportedType):
            raise
        return _build_codec(py_type)  # unhashable annotation: build without caching


_UNDER_CONSTRUCTION: set[int] = set()


def _build_codec(py_type: Any) -> Codec:
    # A type that contains itself (a tree dataclass) has no finite LiteralType: say so, don't recurse.
    if id(py_type) in _UNDER_CONSTRUCTION:
        raise UnsupportedType(f"{type_name(py_type)} refers to itself: recursive types cannot be expressed as a Flyte type")
    _UNDER_CONSTRUCTION.add(id(py_type))
    try:
        return _build_codec_of(py_type)
    finally:
        _UNDER_CONSTRUCTION.discard(id(py_type))


def _build_codec_of(py_type: Any) -> Codec:
    origin = typing.get_origin(py_type)
    args = typing.get_args(py_type)
    if origin is typing.Annotated:  # first: its extras may be unhashable (kwtypes(...) is a dict)
        return _annotated_codec(args[0], args[1:])
    simple = _SIMPLE_CODECS.get(py_type) if origin is None else None  # List[Annotated[...]] may be unhashable
    if simple is not None:
        return simple()
    if origin in (typing.Union, types.UnionType):
        return UnionCodec(py_type, [codec_for(arg) for arg in args])
    if origin is typing.Literal:
        return _literal_values_codec(py_type, args)
    if origin is list:
        if not args:
            raise UnsupportedType("list needs an element type, e.g. list[int]")
        return ListCodec(py_type, codec_for(args[0]))
    if origin is collections.abc.Iterator:
        if not args:
            raise UnsupportedType("Iterator needs an element type, e.g. Iterator[int]")
        return IteratorCodec(py_type, codec_for(args[0]))
    if origin is dict:
        if not args:
            return _structured().UntypedDictCodec()
        if args[0] is str:
            return DictCodec(py_type, codec_for(args[1]))
        return _structured().KeyedDictCodec(py_type)
    if py_type is dict:
        return _structured().UntypedDictCodec()
    if py_type is typing.Any:  # before classes: Any is one since Python 3.11
        from ._pickled import AnyCodec

        return AnyCodec()
    if isinstance(py_type, type):
        return _codec_for_class(py_type)
    raise UnsupportedType(f"{type_name(py_type)} cannot be expressed as a Flyte type")


def _literal_values_codec(py_type: Any, values: tuple[Any, ...]) -> Codec:
    base = type(values[0])
    if any(type(value) is not base for value in values) or base not in (str, int, float, bool):
        raise UnsupportedType(f"{type_name(py_type)}: a Literal's values must all be str, int, float or bool, and of one type")
    return LiteralValuesCodec(py_type, codec_for(base))


def _structured() -> Any:
    from . import _structured

    return _structured


def _datasets() -> Any:
    from . import _dataframes

    return _dataframes


def _annotated_codec(base: Any, extras: tuple[Any, ...]) -> Codec:
    from .annotations import HashedCodec, HashMethod

    codec = _table_codec(base, extras) if _datasets().is_table_class(base) else codec_for(base)  # columns, format
    options = [extra for extra in extras if isinstance(extra, dict)]  # kwtypes(allow_pickle=True) of an array
    if options and hasattr(codec, "with_options"):
        codec = codec.with_options(options[0])
    hashing = [extra for extra in extras if isinstance(extra, HashMethod)]
    return HashedCodec(codec, hashing[0]) if hashing else codec


def _table_codec(py_type: type, annotations: tuple[Any, ...]) -> Codec:
    codec = _datasets().dataset_codec(py_type, annotations)
    if codec is None:
        from ._pickled import PickleCodec  # a pandas DataFrame without pyarrow

        return PickleCodec(py_type)
    return codec


# Class (by dotted name: "module.QualName") -> the factory of its codec, for the class and its subclasses.
_REGISTERED: dict[str, Callable[[type], Codec]] = {}


def register_codec(py_type: type | str, factory: Callable[[type], Codec]) -> None:
    """Convert ``py_type`` and its subclasses with ``factory(annotated class)``, a :class:`Codec`.

    ``py_type`` may be the class's dotted name (``"numpy.ndarray"``), so that registering costs no import:
    the factory runs, and may import, the first time a task's interface names the class. A registration
    takes precedence over the built-in handling of dataclasses, pydantic models and pickles.
    """
    name = py_type if isinstance(py_type, str) else _dotted_name(py_type)
    _REGISTERED[name] = factory
    _cached_codec.cache_clear()


def _dotted_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _registered_codec(py_type: type) -> Codec | None:
    for cls in py_type.__mro__:
        factory = _REGISTERED.get(_dotted_name(cls))
        if factory is not None:
            return factory(py_type)
    return None


def _codec_for_class(py_type: type) -> Codec:
    registered = _registered_codec(py_type)
    if registered is not None:
        return registered
    if issubclass(py_type, enum.Enum):
        return EnumCodec(py_type)
    if hasattr(py_type, "__dataclass_fields__"):  # dataclasses.is_dataclass, without importing it
        return _structured().DataclassCodec(py_type)
    if _structured().is_pydantic_model(py_type):
        return _structured().PydanticCodec(py_type)
    blob_codec = _blob_codec(py_type)
    if blob_codec is not None:
        return blob_codec
    if _datasets().is_table_class(py_type):
        return _table_codec(py_type, ())
    if py_type in (tuple, set, frozenset, list):
        raise UnsupportedType(f"{py_type.__name__} is not a Flyte type: use list[T] with an element type")
    from ._pickled import PickleCodec

    return PickleCodec(py_type)


def _blob_codec(py_type: type) -> Codec | None:
    from . import files

    if py_type is os.PathLike:  # flytekit's file transformer takes os.PathLike too
        return files.FileCodec(files.File)
    if issubclass(py_type, files.File):
        return files.FileCodec(py_type)
    if issubclass(py_type, files.Directory):
        return files.DirectoryCodec(py_type)
    return None


def _array_codec(name: str) -> Callable[[type], Codec]:
    def build(py_type: type) -> Codec:
        from . import _arrays

        codec_class: Callable[[type], Codec] = getattr(_arrays, name)
        return codec_class(py_type)

    return build


# Our own array codecs go through the public registration, by name: torch and numpy stay unimported.
register_codec("torch.Tensor", _array_codec("TensorCodec"))
register_codec("torch.nn.modules.module.Module", _array_codec("ModuleCodec"))
register_codec("numpy.ndarray", _array_codec("NumpyArrayCodec"))

_base.install_lookup(codec_for)
