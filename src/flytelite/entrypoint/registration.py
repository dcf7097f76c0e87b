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
from ..model.launch_plan import LaunchPlan
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
        if isinstance(entity, LaunchPlan):  # called by a workflow: the plan's workflow, then the plan
            self.add(entity.workflow)
            self.add_launch_plan(entity)
            return
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
            for call in node.calls():
                self.add(call.task)
        self._done.add(workflow.name)
        template = self.entities.workflow_template(workflow)
        # flytekit sorts them by their text form, which starts with the id: by name, here where all else is equal
        subworkflows = [self.entities.workflows[name] for name in sorted(_called_workflows(workflow))]
        spec = workflow_pb2.WorkflowSpec(template=template, sub_workflows=subworkflows)
        _describe(spec.description, workflow)
        self.messages.append(spec)

    def add_launch_plan(self, plan: LaunchPlan | Workflow) -> None:
        """A launch plan, or a workflow's default one: its defaults as default inputs, the rest required."""
        workflow, name = (plan, plan.name) if isinstance(plan, Workflow) else (plan.workflow, plan.name)
        if f"launch plan {name}" in self._done:
            return
        self._done.add(f"launch plan {name}")
        workflow_id = self.entities.workflow_template(workflow).id
        message = launch_plan_pb2.LaunchPlan(id=identifier_pb2.Identifier(resource_type=identifier_pb2.LAUNCH_PLAN, name=name))
        message.id.project, message.id.domain, message.id.version = workflow_id.project, workflow_id.domain, workflow_id.version
        spec = message.spec
        spec.workflow_id.CopyFrom(workflow_id)
        for present in (spec.entity_metadata, spec.default_inputs, spec.fixed_inputs, spec.labels, spec.annotations, spec.raw_output_data_config):
            present.SetInParent()  # empty, as flytekit writes them
        message.closure.expected_inputs.SetInParent()
        message.closure.expected_outputs.SetInParent()
        iface = workflow.python_interface
        defaults, fixed = dict(iface.defaults), {}
        if isinstance(plan, LaunchPlan):
            defaults.update(plan.default_inputs)
            fixed = plan.fixed_inputs
            _fill_plan_options(spec, plan)
        for input_name, variable in workflow.interface.inputs.variables.items():
            if input_name in fixed:
                spec.fixed_inputs.literals[input_name].CopyFrom(to_literal(fixed[input_name], iface.inputs[input_name]))
                continue
            parameter = interface_pb2.Parameter(var=variable)
            if input_name in defaults:
                parameter.default.CopyFrom(to_literal(defaults[input_name], iface.inputs[input_name]))
            else:
                parameter.required = True
            spec.default_inputs.parameters[input_name].CopyFrom(parameter)
        self.messages.append(message)


def _fill_plan_options(spec: launch_plan_pb2.LaunchPlanSpec, plan: LaunchPlan) -> None:
    """Schedule, notifications, labels, annotations, parallelism and identity of a named plan."""
    if plan.schedule is not None:
        plan.schedule.fill(spec.entity_metadata.schedule)
    for notification in plan.notifications:
        notification.fill(spec.entity_metadata.notifications.add())
    if plan.labels is not None:
        spec.labels.values.update(plan.labels.values)
    if plan.annotations is not None:
        spec.annotations.values.update(plan.annotations.values)
    if plan.max_parallelism is not None:
        spec.max_parallelism = plan.max_parallelism
    if plan.security_context is not None:
        plan.security_context.fill(spec.security_context)


def _describe(description: Any, entity: Any) -> None:
    """The docstring's first line as the short description, the rest as the long one (reStructuredText)."""
    lines = inspect.cleandoc(entity.function.__doc__ or "").splitlines()
    description.short_description = lines[0] if lines else ""
    long_description = "\n".join(lines[1:]).strip()
    if long_description:  # ``value`` is one of a oneof: set, even empty, it says "inline text"
        description.long_description.value = long_description
    description.long_description.format = description_entity_pb2.DESCRIPTION_FORMAT_RST


def _called_workflows(workflow: Workflow) -> set[str]:
    """Names of the workflows ``workflow`` calls, at any depth."""
    found: set[str] = set()
    for call in (call for node in workflow.graph[0] for call in node.calls()):
        if isinstance(call.task, Workflow):
            found.update([*_called_workflows(call.task), call.task.name])
    return found


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


def write_registration_bundle(modules: list[Any], output: str, settings: SerializationSettings, source: str | None) -> list[str]:
    """Write the registration bundle (the ``.tgz`` of ``serialize --package``); with ``source`` (fast registration) the
    code archive of ``flytelite package`` goes in too. The member names."""
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
