"""The click commands of ``flytelite``; each imports what it needs inside its body."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from .options import EXECUTE_FLAGS, EXECUTE_OPTIONS, MAP_ONLY_OPTIONS, REQUIRED


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """flytelite: run Flyte tasks in their container, or locally to debug them."""


def execute_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options of ``execute`` (shared by the commands that wrap it)."""
    fn = click.argument("loader_args", nargs=-1, type=click.UNPROCESSED)(fn)
    for name, help_text in reversed(EXECUTE_FLAGS):
        fn = click.option(f"--{name}", is_flag=True, help=help_text)(fn)
    for name, help_text in reversed(EXECUTE_OPTIONS):
        # No ``default=None``: click 8.3+ takes an explicit None default as a value and would let a
        # missing required option through.
        fn = click.option(f"--{name}", required=name in REQUIRED, help=help_text)(fn)
    return fn


@cli.command(context_settings={"ignore_unknown_options": True})
@execute_options
def execute(**options: Any) -> None:
    """Run one attempt of a task: `execute --inputs ... --output-prefix ... -- task-module M task-name N`."""
    from .pipeline import run_execute

    sys.exit(run_execute(options))


@cli.command("map-execute", context_settings={"ignore_unknown_options": True})
@execute_options
@click.option(f"--{MAP_ONLY_OPTIONS[0][0]}", default=None, help=MAP_ONLY_OPTIONS[0][1])
def map_execute(**options: Any) -> None:
    """Run one subtask of a map task: `map-execute ... -- vars <bound> resolver <path> <args...>`."""
    from .pipeline import run_execute

    options.pop("max_concurrency", None)
    sys.exit(run_execute(options, map_task=True))


@cli.command("fast-execute", context_settings={"ignore_unknown_options": True})
@click.option("--additional-distribution", required=True, help="URI of the .tar.gz of the task's code.")
@click.option("--dest-dir", default=None, help="Where to unpack it (default: the working directory).")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def fast_execute(additional_distribution: str, dest_dir: str | None, command: tuple[str, ...]) -> None:
    """Fetch and unpack fast-registered code, then run the execute command after `--` as a child."""
    from .fast_execute import run_fast_execute

    sys.exit(run_fast_execute(additional_distribution, dest_dir, list(command)))


@cli.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("-o", "--output", required=True, help="Where to write the .tar.gz.")
def package(folder: str, output: str) -> None:
    """Build the reproducible code archive that fast-execute unpacks."""
    from .package import build_archive

    digest = build_archive(folder, output)
    click.echo(f"{output} sha256:{digest}")


@cli.command()
@click.argument("target")
@click.option("-o", "--output", required=True, help="An empty or new folder for the TaskTemplate files.")
@click.option("--image", "images", multiple=True, required=True, help="The default image uri, or name=uri for {{.image.name.*}}.")
@click.option("--fast", is_flag=True, help="Run through fast-execute (code shipped as an archive).")
@click.option("--project", default="{{ registration.project }}")
@click.option("--domain", default="{{ registration.domain }}")
@click.option("--version", default="{{ registration.version }}")
def serialize(target: str, output: str, images: tuple[str, ...], fast: bool, project: str, domain: str, version: str) -> None:
    """Write one TaskTemplate per task of a file or module: `serialize tasks.py -o out --image repo/img:1`."""
    from ..model.template import SerializationSettings
    from .local_run import import_target
    from .serialize import parse_images, serialize_module

    try:
        settings = SerializationSettings(parse_images(images), project=project, domain=domain, version=version, fast=fast)
        module, _ = import_target(target)
        written = serialize_module(module, output, settings)
    except click.UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure here is the author's to fix: say what it is
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    click.echo(f"wrote {len(written)} task(s) to {output}: {', '.join(written)}")


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("target")
@click.argument("task_name")
@click.option("--keep", is_flag=True, help="Keep the temporary folder with inputs.pb and outputs.pb.")
@click.pass_context
def run(ctx: click.Context, target: str, task_name: str, keep: bool) -> None:
    """Run a task locally: `flytelite run file.py add --a 1 --b 2` prints the outputs as JSON."""
    from .local_run import run_locally

    sys.exit(run_locally(target, task_name, list(ctx.args), keep))
