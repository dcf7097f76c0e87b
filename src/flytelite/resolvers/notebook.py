"""The notebook resolver: tasks defined interactively travel as a pickle, ``pkl.gz``.

The file is a gzip'd cloudpickle of ``{"metadata": {"python_version": "3.11.7"}, "entities": {name:
task}}`` (flytekit's ``PickledEntity`` has the same shape as an object). A pickle of functions can
only be read by the Python minor version that wrote it, so the version is read off the pickle's
opcodes, without running any of it, and a mismatch fails before unpickling is attempted.
Loader args: ``entity-name <name>``.
"""

from __future__ import annotations

import gzip
import os
import pickletools
import platform
import zlib
from typing import Any

from .. import io
from ..io import FlyteliteError

PICKLE_FILE = "pkl.gz"
LOCATION = "flytelite.resolvers.notebook.default_notebook_task_resolver"


class NotebookPickleError(FlyteliteError):
    """The notebook pickle is missing, corrupt, of another Python version, or lacks the entity."""


def pickle_tasks(tasks: dict[str, Any], path: str = PICKLE_FILE) -> str:
    """Write ``tasks`` (name -> task) to ``path`` so the container can load them; returns the path.

    Call it from the notebook that defines the tasks; each task's resolver becomes this one.
    """
    import cloudpickle

    for task in tasks.values():
        task.set_resolver(default_notebook_task_resolver)
    document = {"metadata": {"python_version": platform.python_version()}, "entities": dict(tasks)}
    io.write_bytes(path, gzip.compress(cloudpickle.dumps(document), mtime=0))
    return path


def _recorded_python_version(data: bytes) -> str | None:
    """The string that follows the key ``python_version``, found by reading opcodes only."""
    last_string = None
    for _, argument, _ in pickletools.genops(data):
        if isinstance(argument, str):
            if last_string == "python_version":
                return argument
            last_string = argument
    return None


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def read_pickle(path: str) -> dict[str, Any]:
    """The entities of a notebook pickle, after checking that this Python can read it."""
    if not io.exists(path):
        raise NotebookPickleError(f"no notebook pickle at {os.path.abspath(path)}: it must be in the working directory")
    try:
        data = gzip.decompress(io.read_bytes(path))
        recorded = _recorded_python_version(data)
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise NotebookPickleError(f"{path} is not a gzip'd pickle: {exc}") from None
    running = platform.python_version()
    if recorded is None:
        raise NotebookPickleError(f"{path} records no python_version: it was not written by pickle_tasks")
    if _major_minor(recorded) != _major_minor(running):
        raise NotebookPickleError(
            f"{path} was written by Python {recorded} but this container runs Python {running}: "
            f"use an image with Python {_major_minor(recorded)}"
        )
    import cloudpickle

    try:
        document = cloudpickle.loads(data)
    except Exception as exc:
        raise NotebookPickleError(f"{path} is corrupt: {type(exc).__name__}: {exc}") from exc
    entities = document["entities"] if isinstance(document, dict) else getattr(document, "entities", None)
    if not isinstance(entities, dict):
        raise NotebookPickleError(f"{path} holds no 'entities' mapping")
    return entities


class NotebookTaskResolver:
    def name(self) -> str:
        return "notebook"

    def location(self) -> str:
        return LOCATION

    def loader_args(self, task: Any) -> list[str]:
        return ["entity-name", task.name]

    def load_task(self, loader_args: list[str]) -> Any:
        if len(loader_args) != 2 or loader_args[0] != "entity-name":
            raise ValueError(f"expected loader args 'entity-name <name>', got {' '.join(loader_args)!r}")
        entities = read_pickle(PICKLE_FILE)
        name = loader_args[1]
        if name not in entities:
            raise NotebookPickleError(f"{PICKLE_FILE} has no entity {name!r}; it has: {', '.join(sorted(entities)) or 'none'}")
        return entities[name]


default_notebook_task_resolver = NotebookTaskResolver()
