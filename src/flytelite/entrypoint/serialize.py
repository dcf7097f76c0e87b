"""``flytelite serialize``: one ``TaskTemplate`` file per task of a module, and a readable listing.

``specs/`` holds the same tasks as flyteidl's ``admin.TaskSpec`` (the template and the description,
``docs=``), which is where flytekit registers a task's documentation.

Everything is written to a fresh folder beside the output and renamed into place at the end, so a
failure leaves nothing half-written; an output folder that already holds other files is refused.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from ..model.tasks import Task
from ..model.template import SerializationSettings, to_task_spec
from ..model.workflow import Workflow

LISTING = "tasks.txt"
SPECS = "specs"


def parse_images(values: tuple[str, ...]) -> dict[str, str]:
    """``--image uri`` (the default) and ``--image name=uri`` options as a name -> uri map."""
    images: dict[str, str] = {}
    for value in values:
        name, sep, uri = value.partition("=")
        if sep and "/" not in name and ":" not in name:
            images[name] = uri
        else:
            images["default"] = value
    return images


def tasks_of(module: Any) -> list[Any]:
    """The tasks (and map tasks) defined in ``module``, not those it imported, in definition order."""
    from ..model.map_task import MapSubtask

    kinds = (Task, MapSubtask)
    return [v for v in defined_in(module) if isinstance(v, kinds) and not isinstance(v, Workflow)]


def workflows_of(module: Any) -> list[Workflow]:
    return [v for v in defined_in(module) if isinstance(v, Workflow)]


def defined_in(module: Any) -> list[Any]:
    """The module's tasks, workflows and launch plans that it defines, not those it imported, in definition order."""
    return [v for v in vars(module).values() if getattr(v, "defined_in_module", None) == module.__name__ or _defines_function(module, v)]


def _defines_function(module: Any, value: Any) -> bool:
    return callable(getattr(value, "function", None)) and value.function.__module__ == module.__name__


def serialize_module(module: Any, output: str, settings: SerializationSettings) -> list[str]:
    tasks = tasks_of(module)
    if not tasks:
        raise ValueError(f"module {module.__name__} ({module.__file__}) defines no @task")
    if os.path.isdir(output) and os.listdir(output):
        raise FileExistsError(f"output folder {output} already holds files: give an empty or new folder")
    specs = [to_task_spec(task, settings) for task in tasks]
    staging = f"{output.rstrip(os.sep)}.partial-{os.getpid()}"
    os.makedirs(staging)
    try:
        written = _write(staging, specs)
        if os.path.isdir(output):
            os.rmdir(output)
        os.replace(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


def _write(folder: str, specs: list[Any]) -> list[str]:
    names, listing = [], []
    os.makedirs(os.path.join(folder, SPECS))
    for index, spec in enumerate(specs):
        template = spec.template
        name = f"{index:02d}_{template.id.name}.pb"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(template.SerializeToString())
        with open(os.path.join(folder, SPECS, name), "wb") as f:
            f.write(spec.SerializeToString())
        names.append(name)
        container = template.container
        listing.append(f"{name}\n  type: {template.type}\n  image: {container.image}\n  args: {' '.join(container.args)}\n")
    with open(os.path.join(folder, LISTING), "w") as f:
        f.write("\n".join(listing))
    return names
