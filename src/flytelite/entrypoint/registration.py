"""``flytelite serialize --package``: the archive ``flytectl register files`` registers (PROTOCOL section 9).

One file per entity, named and ordered as ``pyflyte package`` names them (``{index}_{name}_{kind}.pb``,
kind 1 ``TaskSpec``, 2 ``WorkflowSpec``, 3 ``LaunchPlan``), dependencies first, a default launch plan
after each workflow. Project, domain and version stay empty for flytectl to fill. With fast
registration the code archive travels in the package as ``fast<md5>.tar.gz``, and the task commands
hold the placeholders flytectl replaces with its uploaded location.
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import io as std_io
import math
import tarfile
from typing import Any

from flyteidl.admin import description_entity_pb2, launch_plan_pb2, task_pb2, workflow_pb2
from flyteidl.core import identifier_pb2, interface_pb2

from .. import io
from ..model.map_task import MapSubtask
from ..model.spec import Entities
from ..model.template import SerializationSettings
from ..model.workflow import Workflow
from ..types import to_literal
from .package import archive_bytes
from .serialize import defined_in

_KIND = {task_pb2.TaskSpec: 1, workflow_pb2.WorkflowSpec: 2, launch_plan_pb2.LaunchPlan: 3}


class Registrables:
    """The admin messages of a module's tasks and workflows, dependencies first, each once."""

    def __init__(self, settings: SerializationSettings) -> None:
        self.entities = Entities(settings, None)
        self.messages: list[Any] = []
        self._done: set[str] = set()

    def add(self, entity: Any) -> None:
        if entity.name in self._done:
            return
        if isinstance(entity, Workflow):
            self._add_workflow(entity)
        else:
            self._done.add(entity.name)
            spec = task_pb2.TaskSpec(template=self.entities.task_template(entity))
            if not isinstance(entity, MapSubtask):  # flytekit describes function tasks, not map tasks
                _describe(spec.description, entity)
            self.messages.append(spec)

    def _add_workflow(self, workflow: Workflow) -> None:
        nodes, _ = workflow.graph
        for node in nodes:
            self.add(node.task)
        self._done.add(workflow.name)
        template = self.entities.workflow_template(workflow)
        subworkflows = [self.entities.workflows[name] for name in _called_workflows(workflow)]
        spec = workflow_pb2.WorkflowSpec(template=template, sub_workflows=subworkflows)
        _describe(spec.description, workflow)
        self.messages.append(spec)

    def add_launch_plan(self, workflow: Workflow) -> None:
        """The default launch plan: the workflow's defaults as default inputs, the rest required."""
        workflow_id = self.entities.workflow_template(workflow).id
        plan = launch_plan_pb2.LaunchPlan(id=identifier_pb2.Identifier(resource_type=identifier_pb2.LAUNCH_PLAN, name=workflow.name))
        plan.id.project, plan.id.domain, plan.id.version = workflow_id.project, workflow_id.domain, workflow_id.version
        spec = plan.spec
        spec.workflow_id.CopyFrom(workflow_id)
        for present in (spec.entity_metadata, spec.fixed_inputs, spec.labels, spec.annotations, spec.raw_output_data_config):
            present.SetInParent()  # empty, as flytekit writes them
        plan.closure.expected_inputs.SetInParent()
        plan.closure.expected_outputs.SetInParent()
        iface = workflow.python_interface
        for name, variable in workflow.interface.inputs.variables.items():
            parameter = interface_pb2.Parameter(var=variable)
            if name in iface.defaults:
                parameter.default.CopyFrom(to_literal(iface.defaults[name], iface.inputs[name]))
            else:
                parameter.required = True
            spec.default_inputs.parameters[name].CopyFrom(parameter)
        self.messages.append(plan)


def _describe(description: Any, entity: Any) -> None:
    """The docstring's first line as the short description, the rest as the long one (reStructuredText)."""
    lines = inspect.cleandoc(entity.function.__doc__ or "").splitlines()
    description.short_description = lines[0] if lines else ""
    long_description = "\n".join(lines[1:]).strip()
    if long_description:  # ``value`` is one of a oneof: set, even empty, it says "inline text"
        description.long_description.value = long_description
    description.long_description.format = description_entity_pb2.DESCRIPTION_FORMAT_RST


def _called_workflows(workflow: Workflow) -> list[str]:
    """Names of the workflows ``workflow`` calls, at any depth, in order of first call."""
    found: dict[str, None] = {}
    for node in workflow.graph[0]:
        if isinstance(node.task, Workflow):
            found.update(dict.fromkeys([*_called_workflows(node.task), node.task.name]))
    return list(found)


def registrables(modules: list[Any], settings: SerializationSettings) -> list[Any]:
    """The modules' entities as admin messages, in ``pyflyte package``'s order (modules in the order given)."""
    collected = Registrables(settings)
    for module in modules:
        for entity in defined_in(module):
            collected.add(entity)
            if isinstance(entity, Workflow):
                collected.add_launch_plan(entity)
    return collected.messages


def file_names(messages: list[Any]) -> list[str]:
    """``{index}_{name}_{kind}.pb``, the index zero-padded to as many digits as ``pyflyte package`` uses."""
    width = math.ceil(math.log(len(messages), 10)) if messages else 0
    names = []
    for index, message in enumerate(messages):
        name = message.id.name if isinstance(message, launch_plan_pb2.LaunchPlan) else message.template.id.name
        names.append(f"{str(index).zfill(width)}_{name}_{_KIND[type(message)]}.pb")
    return names


def write_package(modules: list[Any], output: str, settings: SerializationSettings, source: str | None) -> list[str]:
    """Write the ``.tgz``; with ``source`` (fast registration) its code archive goes in too. The member names."""
    messages = registrables(modules, settings)
    if not messages:
        raise ValueError(f"{', '.join(m.__name__ for m in modules)}: no @task or @workflow defined")
    members = {name: message.SerializeToString() for name, message in zip(file_names(messages), messages)}
    if source is not None:
        code = archive_bytes(source)
        members[f"fast{hashlib.md5(code, usedforsecurity=False).hexdigest()}.tar.gz"] = code
    buffer = std_io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, std_io.BytesIO(data))
    io.write_bytes(output, gzip.compress(buffer.getvalue(), mtime=0))
    return list(members)
