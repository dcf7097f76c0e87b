"""Launch plans: a workflow with default and fixed inputs, a schedule, notifications, labels and more.

``LaunchPlan.get_or_create(workflow, name, ...)`` keeps one plan per name (the same arguments give the
same plan; others under a taken name are refused). ``flytelite serialize --package`` writes every plan
a module defines after the workflow's default plan; called locally, a plan runs its workflow with its
fixed and default inputs under the given ones.
"""

from __future__ import annotations

import datetime
import enum
import re
import sys
from typing import Any, ClassVar

from ..support.records import Record
from .interface import Interface
from .nodes import active_builder
from .workflow import Workflow


class WorkflowExecutionPhase(enum.IntEnum):
    """The phases of a workflow execution a notification fires on (flyteidl's ``WorkflowExecution.Phase``)."""

    UNDEFINED = 0
    QUEUED = 1
    RUNNING = 2
    SUCCEEDING = 3
    SUCCEEDED = 4
    FAILING = 5
    FAILED = 6
    ABORTED = 7
    TIMED_OUT = 8
    ABORTING = 9


class CronSchedule(Record):
    """Run on a schedule: ``schedule`` is a 5-field cron line or an alias (``"@hourly"``, ``"daily"``, ...),
    optionally shifted by an ISO 8601 ``offset``; ``cron_expression`` is the 6-field AWS form (``"0 10 * * ? *"``)."""

    __slots__ = ("cron_expression", "schedule", "offset", "kickoff_time_input_arg")
    _ALIASES: ClassVar[frozenset[str]] = frozenset(
        f"{prefix}{word}" for word in ("hourly", "daily", "weekly", "monthly", "annually", "yearly") for prefix in ("", "@")
    ) | {"hours", "days", "weeks", "months", "years"}

    def __init__(
        self, cron_expression: str | None = None, schedule: str | None = None, offset: str | None = None, kickoff_time_input_arg: str | None = None
    ) -> None:
        if (cron_expression is None) == (schedule is None):
            raise ValueError("CronSchedule takes one of schedule= (5 fields or an alias such as @hourly) and cron_expression= (6 AWS fields)")
        if cron_expression is not None:
            fields = cron_expression.split()
            if len(fields) != 6 or "?" not in (fields[2], fields[4]):
                raise ValueError(f"cron_expression {cron_expression!r} must have 6 fields with '?' as day-of-month or day-of-week; use schedule= for 5 fields")
            if offset is not None:
                raise ValueError("an offset goes with schedule=, not cron_expression=")
        elif schedule.lower() not in self._ALIASES and len(schedule.split()) != 5:
            raise ValueError(f"cron schedule {schedule!r} must have 5 fields (minute hour day month weekday) or be an alias such as @hourly")
        if offset is not None and not re.fullmatch(r"[-+]?P([-+0-9YMWD]+)?(T[-+0-9HMS.,]+)?", offset):
            raise ValueError(f"offset {offset!r} must be an ISO 8601 duration, e.g. PT1H")
        self.cron_expression, self.schedule, self.offset = cron_expression, schedule, offset
        self.kickoff_time_input_arg = kickoff_time_input_arg

    def fill(self, target: Any) -> None:
        if self.cron_expression is not None:
            target.cron_expression = self.cron_expression
        else:
            target.cron_schedule.schedule = self.schedule
            if self.offset:
                target.cron_schedule.offset = self.offset
        if self.kickoff_time_input_arg:
            target.kickoff_time_input_arg = self.kickoff_time_input_arg


class FixedRate(Record):
    """Run every ``duration``: whole minutes, written in the largest unit (day, hour, minute) that divides it."""

    __slots__ = ("duration", "kickoff_time_input_arg")

    _UNITS: ClassVar[tuple[tuple[str, int], ...]] = (("DAY", 86400), ("HOUR", 3600), ("MINUTE", 60))

    def __init__(self, duration: datetime.timedelta, kickoff_time_input_arg: str | None = None) -> None:
        seconds = duration.total_seconds() if isinstance(duration, datetime.timedelta) else -1
        if seconds <= 0 or seconds % 60:
            raise ValueError(f"FixedRate needs a positive timedelta of whole minutes, got {duration!r}")
        self.duration, self.kickoff_time_input_arg = duration, kickoff_time_input_arg

    def fill(self, target: Any) -> None:
        from flyteidl.admin import schedule_pb2

        seconds = int(self.duration.total_seconds())
        unit, size = next((unit, size) for unit, size in self._UNITS if seconds % size == 0)
        target.rate.value, target.rate.unit = seconds // size, schedule_pb2.FixedRateUnit.Value(unit)
        if self.kickoff_time_input_arg:
            target.kickoff_time_input_arg = self.kickoff_time_input_arg


class _Notification(Record):
    __slots__ = ("phases", "recipients_email")
    _channel: ClassVar[str]

    def __init__(self, phases: list[WorkflowExecutionPhase | int], recipients_email: list[str]) -> None:
        terminal = {WorkflowExecutionPhase.SUCCEEDED, WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT, WorkflowExecutionPhase.ABORTED}
        wrong = [phase for phase in phases if phase not in terminal]
        if wrong or not phases:
            raise ValueError(f"{type(self).__name__} notifies on terminal phases (SUCCEEDED, FAILED, TIMED_OUT, ABORTED), got {phases!r}")
        if not recipients_email:
            raise ValueError(f"{type(self).__name__} needs at least one recipient")
        self.phases, self.recipients_email = [int(phase) for phase in phases], list(recipients_email)

    def fill(self, target: Any) -> None:
        target.phases.extend(self.phases)
        getattr(target, self._channel).recipients_email.extend(self.recipients_email)


class Email(_Notification):
    _channel = "email"


class Slack(_Notification):
    _channel = "slack"


class PagerDuty(_Notification):
    _channel = "pager_duty"


class Labels(Record):
    """Kubernetes labels of the executions a plan launches."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)


class Annotations(Record):
    """Kubernetes annotations of the executions a plan launches."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str]) -> None:
        self.values = dict(values)


class Identity(Record):
    """Who executions run as: an IAM role, a Kubernetes service account, and/or an execution identity."""

    __slots__ = ("iam_role", "k8s_service_account", "execution_identity")

    def __init__(self, iam_role: str | None = None, k8s_service_account: str | None = None, execution_identity: str | None = None) -> None:
        self.iam_role, self.k8s_service_account, self.execution_identity = iam_role, k8s_service_account, execution_identity


class SecurityContext(Record):
    """The identity the plan's executions run as."""

    __slots__ = ("run_as",)

    def __init__(self, run_as: Identity | None = None) -> None:
        self.run_as = run_as

    def fill(self, target: Any) -> None:
        target.SetInParent()
        if self.run_as is not None:
            target.run_as.SetInParent()
            target.run_as.iam_role = self.run_as.iam_role or ""
            target.run_as.k8s_service_account = self.run_as.k8s_service_account or ""
            target.run_as.execution_identity = self.run_as.execution_identity or ""


class LaunchPlan:
    """A named way to launch a workflow."""

    _BY_NAME: ClassVar[dict[str, LaunchPlan]] = {}

    def __init__(self, workflow: Workflow, name: str, **options: Any) -> None:
        self.workflow, self.name = workflow, name
        self.default_inputs: dict[str, Any] = dict(options.get("default_inputs") or {})
        self.fixed_inputs: dict[str, Any] = dict(options.get("fixed_inputs") or {})
        self.schedule: CronSchedule | FixedRate | None = options.get("schedule")
        self.notifications: list[_Notification] = list(options.get("notifications") or [])
        self.labels: Labels | None = options.get("labels")
        self.annotations: Annotations | None = options.get("annotations")
        self.max_parallelism: int | None = options.get("max_parallelism")
        self.security_context: SecurityContext | None = options.get("security_context")
        self._options = options
        self.defined_in_module: str | None = None
        self._check()

    def _check(self) -> None:
        inputs = self.workflow.python_interface.inputs
        for what, given in (("default", self.default_inputs), ("fixed", self.fixed_inputs)):
            unknown = sorted(set(given) - set(inputs))
            if unknown:
                raise ValueError(f"launch plan {self.name}: {what} input(s) {', '.join(unknown)} are not inputs of workflow {self.workflow.name}")
        if self.schedule is not None and not isinstance(self.schedule, (CronSchedule, FixedRate)):
            raise TypeError(f"launch plan {self.name}: schedule must be a CronSchedule or a FixedRate, got {self.schedule!r}")
        for notification in self.notifications:
            if not isinstance(notification, _Notification):
                raise TypeError(f"launch plan {self.name}: notifications must be Email, Slack or PagerDuty, got {notification!r}")
        kickoff = getattr(self.schedule, "kickoff_time_input_arg", None)
        if kickoff and inputs.get(kickoff) is not datetime.datetime:
            raise ValueError(f"launch plan {self.name}: kickoff_time_input_arg {kickoff!r} must name a datetime input of {self.workflow.name}")

    @classmethod
    def get_or_create(cls, workflow: Workflow, name: str | None = None, **options: Any) -> LaunchPlan:
        """The plan named ``name`` (the workflow's default plan without one), made on first call."""
        if not isinstance(workflow, Workflow):
            raise TypeError(f"a launch plan launches a @workflow, got {workflow!r}")
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise TypeError(f"LaunchPlan.get_or_create got unknown argument(s) {', '.join(unknown)}; known: {', '.join(sorted(_OPTIONS))}")
        if name is None:
            if any(value is not None for value in options.values()):
                raise ValueError(f"the default launch plan of {workflow.name} takes no options: give the plan a name")
            name = workflow.name
        existing = cls._BY_NAME.get(name)
        if existing is not None:
            if existing.workflow.name != workflow.name or existing._options != options:
                raise ValueError(f"launch plan {name} already exists with other arguments: choose another name")
            return existing
        plan = cls._BY_NAME[name] = cls(workflow, name, **options)
        # the module whose import made the plan registers it (flytekit's registry records plans as they are made)
        plan.defined_in_module = sys._getframe(1).f_globals.get("__name__")
        return plan

    @property
    def is_default(self) -> bool:
        return self.name == self.workflow.name and not any(value is not None for value in self._options.values())

    # What a node calling the plan carries: the workflow's metadata (no retries), run as the plan's own execution.
    execute_verb = "launch-plan"

    @property
    def metadata(self) -> Any:
        return self.workflow.metadata

    @property
    def call_interface(self) -> Interface:
        """The inputs a call may give (fixed ones are not), with the plan's defaults; the workflow's outputs."""
        workflow = self.workflow.python_interface
        inputs = {name: py_type for name, py_type in workflow.inputs.items() if name not in self.fixed_inputs}
        defaults = {name: value for name, value in {**workflow.defaults, **self.default_inputs}.items() if name in inputs}
        return Interface(inputs, defaults, workflow.outputs, workflow.output_tuple)

    def __call__(self, **kwargs: Any) -> Any:
        """Inside a workflow or dynamic, a node launching the plan; otherwise its workflow run locally with the
        plan's fixed inputs and, where not given, its default inputs."""
        fixed_given = sorted(set(kwargs) & set(self.fixed_inputs))
        if fixed_given:
            raise TypeError(f"launch plan {self.name}: input(s) {', '.join(fixed_given)} are fixed and cannot be given")
        builder = active_builder()
        if builder is not None:
            call = builder.add(self, kwargs)
            call._node.name = self.workflow.name.rsplit(".", 1)[-1]  # flytekit names the node after the workflow
            return call
        return self.workflow(**{**self.default_inputs, **kwargs, **self.fixed_inputs})

    def __repr__(self) -> str:
        return f"LaunchPlan({self.name} of {self.workflow.name})"


_OPTIONS = frozenset(
    ("default_inputs", "fixed_inputs", "schedule", "notifications", "labels", "annotations", "max_parallelism", "security_context")
)
