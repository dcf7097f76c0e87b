"""The click commands of ``flytelite``; each imports what it needs inside its body."""

from __future__ import annotations

import sys
from typing import Any, Callable

import click

from .options import EXECUTE_FLAGS, EXECUTE_OPTIONS, MAP_ONLY_OPTIONS, REQUIRED


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="flytelite", prog_name="flytelite", message="%(prog)s %(version)s")
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


def _unset_identity(key: str, packaged: bool) -> str:
    """flytectl fills empty ids in a package; TaskTemplate files keep the placeholder other tools fill."""
    return "" if packaged else f"{{{{ registration.{key} }}}}"


@cli.command()
@click.argument("targets", nargs=-1, required=True)
@click.option("-o", "--output", default=None, help="An empty or new folder for the TaskTemplate files.")
@click.option("--package", "bundle_path", default=None, help="Write the .tgz that `flytectl register files` takes instead.")
@click.option("--image", "images", multiple=True, required=True, help="The default image uri, or name=uri for {{.image.name.*}}.")
@click.option("--fast", is_flag=True, help="Run through fast-execute (code shipped as an archive).")
@click.option("--source", default=".", show_default=True, help="With --package --fast: the folder whose code the package carries.")
@click.option("--project", default=None, help="Default: a placeholder the registering tool fills (empty with --package).")
@click.option("--domain", default=None)
@click.option("--version", default=None)
def serialize(
    targets: tuple[str, ...], output: str | None, bundle_path: str | None, images: tuple[str, ...], fast: bool, source: str, project: str | None, domain: str | None, version: str | None
) -> None:
    """Write one TaskTemplate per task of a file or module (`serialize tasks.py -o out --image repo/img:1`), or with
    `--package flyte-package.tgz` the task, workflow and launch plan files of one or more modules for `flytectl register files`."""
    from ..model.template import SerializationSettings
    from .local_run import import_target
    from .serialize import parse_images, serialize_module

    if (output is None) == (bundle_path is None):
        raise click.UsageError("give either -o <folder> (TaskTemplate files) or --package <file.tgz> (for flytectl register files)")
    if output is not None and len(targets) > 1:
        raise click.UsageError("-o writes the tasks of one module: give one file or module (--package takes several)")
    identity = {
        key: value if value is not None else _unset_identity(key, packaged=bundle_path is not None)
        for key, value in (("project", project), ("domain", domain), ("version", version))
    }
    try:
        settings = SerializationSettings(parse_images(images), fast=fast, **identity)
        modules = [import_target(target)[0] for target in targets]
        if bundle_path is not None:
            from .registration import write_registration_bundle

            written = write_registration_bundle(modules, bundle_path, settings, source if fast else None)
        else:
            written = serialize_module(modules[0], output, settings)  # type: ignore[arg-type]
    except click.UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - every failure here is the author's to fix: say what it is
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    click.echo(f"wrote {len(written)} file(s) to {bundle_path or output}: {', '.join(written)}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 in a pod).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1), help="Warm worker processes (one attempt each at a time).")
@click.option("--preload", multiple=True, help="A module the workers import once, before any attempt (repeatable).")
@click.option("--task-type", "task_types", multiple=True, help="Task types served as an asynchronous agent (default: flytelite-reusable).")
@click.option("--sync-task-type", "sync_task_types", multiple=True, help="Task types served as a synchronous agent (default: flytelite-reusable-sync).")
@click.option("--state-dir", default="", help="Storage prefix every replica reaches, for the daemons' liveness records (default: a local temporary folder).")
@click.option("--lost-after", default=30.0, show_default=True, type=click.FloatRange(0.1), help="Seconds without a sign of life after which another daemon's unfinished attempts are lost.")
@click.option("--drain-grace", default=20.0, show_default=True, type=click.FloatRange(0), help="On SIGTERM, seconds the attempts get to end before they are stopped.")
@click.option("--keep-finished", default=60.0, show_default=True, type=click.FloatRange(0), help="Seconds an ended attempt is answered from memory (then from its output prefix).")
@click.option("--metrics-port", default=None, type=click.IntRange(1, 65535), help="Serve Prometheus metrics over HTTP on this port (on --host).")
@click.option("--recycle-after", default=0, show_default=True, type=click.IntRange(0), help="Replace a worker after this many attempts (0: never).")
@click.option("--cancel-grace", default=10.0, show_default=True, type=click.FloatRange(0), help="Seconds between SIGTERM and SIGKILL when an attempt is cancelled.")
@click.option("--log-link", "log_links", multiple=True, help="NAME=URI reported by GetTask; {attempt_id} {execution} {task} {hostname} are filled in.")
@click.option("--code-cache-dir", default=None, help="Where fast-registered code archives are unpacked (default: TMPDIR).")
@click.option("--code-cache-mb", default=2048.0, show_default=True, type=click.FloatRange(0), help="Unpacked code kept when no worker uses it; least recently used goes first.")
@click.option("--code-idle-retire", default=300.0, show_default=True, type=click.FloatRange(0, min_open=True), help="Seconds a worker of a fast-registered version may sit idle before it goes back to the daemon's code.")
@click.option("--flyte2-endpoint", default=None, help="host:port of the Flyte 2 backend that Flyte 2 tasks' nested calls reach (flyte's _U_EP_OVERRIDE); a run whose environment names one keeps its own.")
def serve(log_links: tuple[str, ...], **options: Any) -> None:
    """Run tasks in warm workers for a Flyte backend, over its agent protocol (needs flytelite[serve])."""
    try:
        from .serve.server import ServeConfig, run_server
    except ImportError as exc:
        raise click.ClickException(f"flytelite serve needs grpc: pip install 'flytelite[serve]' ({exc})") from None
    links = []
    for link in log_links:
        name, eq, uri = link.partition("=")
        if not (name and eq and uri):
            raise click.BadParameter(f"{link!r} is not NAME=URI", param_hint="--log-link")
        links.append((name, uri))
    sys.exit(run_server(ServeConfig(log_links=tuple(links), **options)))


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("target")
@click.argument("task_name")
@click.option("--keep", is_flag=True, help="Keep the temporary folder with inputs.pb and outputs.pb.")
@click.pass_context
def run(ctx: click.Context, target: str, task_name: str, keep: bool) -> None:
    """Run a task locally: `flytelite run file.py add --a 1 --b 2` prints the outputs as JSON."""
    from .local_run import run_locally

    sys.exit(run_locally(target, task_name, list(ctx.args), keep))
