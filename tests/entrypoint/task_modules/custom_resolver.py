"""Resolvers given by dotted path with --resolver."""

from __future__ import annotations

from flytelite import task


@task
def double(x: int) -> int:
    return 2 * x


@task
def triple(x: int) -> int:
    return 3 * x


class MyResolver:
    """Loader args: ``name <task name>``; a class, so load_resolver instantiates it."""

    _tasks = {"double": double, "triple": triple}

    def loader_args(self, t):
        return ["name", next(k for k, v in self._tasks.items() if v is t)]

    def load_task(self, loader_args):
        assert loader_args[0] == "name", loader_args
        return self._tasks[loader_args[1]]


class RaisingResolver:
    def loader_args(self, t):
        return []

    def load_task(self, loader_args):
        raise LookupError(f"RaisingResolver cannot find {loader_args}")


instance_resolver = MyResolver()
