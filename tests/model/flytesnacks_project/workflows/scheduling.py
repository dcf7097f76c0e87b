"""Launch plans as flytesnacks' examples write them: a cron schedule with a kickoff input, a fixed rate with
fixed inputs, default inputs with notifications, labels, annotations and a parallelism limit."""

import datetime

from flytelite import (
    Annotations,
    CronSchedule,
    Email,
    FixedRate,
    Labels,
    LaunchPlan,
    PagerDuty,
    Slack,
    WorkflowExecutionPhase,
    task,
    workflow,
)


@task
def format_date(run_date: datetime.datetime) -> str:
    return run_date.strftime("%Y-%m-%d %H:%M")


@workflow
def date_formatter_wf(kickoff_time: datetime.datetime) -> str:
    return format_date(run_date=kickoff_time)


cron_lp = LaunchPlan.get_or_create(
    name="my_cron_scheduled_lp",
    workflow=date_formatter_wf,
    schedule=CronSchedule(schedule="*/1 * * * *", kickoff_time_input_arg="kickoff_time"),
)


@task
def greet(name: str, punctuation: str) -> str:
    return f"Hello, {name}{punctuation}"


@workflow
def greeting_wf(name: str, punctuation: str = "!") -> str:
    return greet(name=name, punctuation=punctuation)


fixed_rate_lp = LaunchPlan.get_or_create(
    name="my_fixed_rate_lp",
    workflow=greeting_wf,
    schedule=FixedRate(duration=datetime.timedelta(hours=2)),
    fixed_inputs={"name": "you"},
)

notified_lp = LaunchPlan.get_or_create(
    name="greeting_notified_lp",
    workflow=greeting_wf,
    default_inputs={"name": "world", "punctuation": "?"},
    notifications=[
        Email(phases=[WorkflowExecutionPhase.FAILED, WorkflowExecutionPhase.TIMED_OUT], recipients_email=["ops@example.com"]),
        Slack(phases=[WorkflowExecutionPhase.SUCCEEDED], recipients_email=["channel@example.slack.com"]),
        PagerDuty(phases=[WorkflowExecutionPhase.ABORTED], recipients_email=["oncall@example.com"]),
    ],
    labels=Labels({"team": "ml"}),
    annotations=Annotations({"owner": "ops"}),
    max_parallelism=4,
)
