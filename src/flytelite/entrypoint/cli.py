"""The ``flytelite`` console script.

Start-up time is what a short task costs. ``execute`` runs on every attempt of every task, so it is
parsed without importing click when the line is well-formed; everything else (help, errors, the
other commands) goes to the click group in :mod:`.commands`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["execute"], ["map-execute"]):
        from .options import parse_execute_fast

        map_task = argv[0] == "map-execute"
        options = parse_execute_fast(argv[1:], map_task=map_task)
        if options is not None:
            from .pipeline import run_execute

            sys.exit(run_execute(options, map_task=map_task))
    from .commands import cli

    cli(args=argv, prog_name="flytelite")
