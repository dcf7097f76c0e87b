"""Dynamic tasks the tests serialize, compile to futures.pb, run with the test executor and call locally."""

from __future__ import annotations

import typing

from flytelite import Resources, dynamic, map_task, task


@task
def square(x: int) -> int:
    return x * x


@task(retries=2)
def add(a: int, b: int) -> int:
    return a + b


@task
def total(values: list[int]) -> int:
    return sum(values)


@task
def split(n: int) -> typing.Tuple[int, int]:
    return n // 2, n - n // 2


@task
def shout(word: str) -> str:
    return word.upper()


squares = map_task(square)


@dynamic
def fan_out(n: int) -> int:
    """One node per element, and a reducer over the list of promises."""
    return total(values=[square(x=i) for i in range(n)])


@dynamic
def chain(n: int) -> int:
    value = add(a=n, b=1)
    for _ in range(3):
        value = add(a=value, b=n)
    return value


@dynamic
def with_overrides(n: int) -> typing.Tuple[int, int]:
    low, high = split(n=n).with_overrides(node_name="Split It", retries=5, timeout=30)
    summed = add(a=low, b=high).with_overrides(name="sum", requests=Resources(cpu="2"), interruptible=True)
    return summed, high


@dynamic
def mapped(n: int) -> int:
    return total(values=squares(x=list(range(n))))


@dynamic
def inner(n: int) -> int:
    return add(a=n, b=n)


@dynamic
def outer(n: int) -> int:
    return add(a=inner(n=n), b=square(x=n))


@dynamic
def calls_nothing(n: int) -> int:
    return n * 3


@dynamic
def no_outputs(word: str) -> None:
    shout(word=word)


@dynamic
def tests_a_promise(n: int) -> int:
    if square(x=n):
        return 1
    return 0


@dynamic
def wrong_type(n: int) -> str:
    return shout(word=square(x=n))
