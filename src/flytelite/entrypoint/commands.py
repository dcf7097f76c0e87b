"""The click commands of ``flytelite``; each imports what it needs inside its body."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from .options import EXECUTE_FLAGS, EXECUTE_OPTIONS, REQUIRED


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """flytelite: run Flyte tasks in their container, or locally to debug them."""


def execute_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``execute`` (shared by the commands that wrap it)."""
    fn = click.argument("loader_args", nargs=-1, type=click.UNPROCESSED)(fn)
    for name, help_text in reversed(EXECUTE_FLAGS):
        fn = click.option(f"--{name}", is_flag=True, help=help_text)(fn)
    for name, help_text in reversed(EXECUTE_OPTIONS):
        fn = click.option(f"--{name}", required=name in REQUIRED, default=None, help=help_text)(fn)
    return fn


@cli.command(context_settings={"ignore_unknown_options": True})
@execute_options
def execute(**options: Any) -> None:
    """Run one attempt of a task: `execute --inputs ... --output-prefix ... -- task-module M task-name N`."""
    from .pipeline import run_execute

    sys.exit(run_execute(options))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("target")
@click.argument("task_name")
@click.option("--keep", is_flag=True, help="Keep the temporary folder with inputs.pb and outputs.pb.")
@click.pass_context
def run(ctx: click.Context, target: str, task_name: str, keep: bool) -> None:
    """Run a task locally: `flytelite run file.py add --a 1 --b 2` prints the outputs as JSON."""
    from .local_run import run_locally

    sys.exit(run_locally(target, task_name, list(ctx.args), keep))
