"""flytekit's ``Annotated`` markers: ``HashMethod`` (the literal's cache hash) and ``BatchSize``.

``Annotated[T, HashMethod(fn)]`` writes ``fn(value)`` as the output literal's ``hash``, which Flyte
uses in the cache key of tasks that take it, instead of the literal's contents. ``BatchSize(n)``
changes no literal in flytekit 1.16 (it only chunks a ``FlyteDirectory``'s transfers, which flytelite
does 16 files at a time anyway), so it is accepted and changes nothing here either.
"""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from flyteidl.core import literals_pb2

from ._base import Codec

T = TypeVar("T")


class HashMethod(Generic[T]):
    """The function that gives a value's hash: ``Annotated[pd.DataFrame, HashMethod(hash_frame)]``."""

    def __init__(self, function: Callable[[T], str]) -> None:
        self._function = function

    def calculate(self, obj: T) -> str:
        return self._function(obj)


class BatchSize:
    """flytekit's transfer chunk size for a folder; accepted for compatibility, with no effect."""

    def __init__(self, val: int) -> None:
        self.val = val


class HashedCodec(Codec):
    """The codec of ``Annotated[T, HashMethod(fn)]``: ``T``'s, with ``fn(value)`` as the literal's hash."""

    def __init__(self, inner: Codec, method: HashMethod[Any]) -> None:
        self.inner, self.method = inner, method
        self.py_type, self.literal_type, self.union_tag = inner.py_type, inner.literal_type, inner.union_tag

    def encode(self, value: Any, lit: literals_pb2.Literal) -> None:
        self.inner.encode(value, lit)
        digest = self.method.calculate(value)
        if not isinstance(digest, str):
            raise self.mismatch(f"a HashMethod result of type {type(digest).__name__} (it must return a str)")
        lit.hash = digest

    def decode(self, lit: literals_pb2.Literal) -> Any:
        return self.inner.decode(lit)

    def accepts(self, value: Any) -> bool:
        return self.inner.accepts(value)

    def to_builtin(self, value: Any) -> Any:
        return self.inner.to_builtin(value)

    def from_builtin(self, data: Any, lenient: bool) -> Any:
        return self.inner.from_builtin(data, lenient)

    def document_gap(self) -> str | None:
        return self.inner.document_gap()
