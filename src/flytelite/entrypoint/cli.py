"""The ``flytelite`` console script.

Start-up time is what a short task costs. ``execute`` runs on every attempt of every task, so it is
parsed without importing click when the line is well-formed; everything else (help, errors, the
other commands) goes to the click group in :mod:`.commands`.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["execute"]:
        from .options import parse_execute_fast

        options = parse_execute_fast(argv[1:])
        if options is not None:
            from .pipeline import run_execute

            sys.exit(run_execute(options))
    from .commands import cli

    cli(args=argv, prog_name="flytelite")
