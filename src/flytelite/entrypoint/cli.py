"""The ``flytelite`` console script.

Start-up time is what a short task costs. ``execute`` runs on every attempt of every task, so it is
parsed without importing click when the line is well-formed; everything else (help, errors, the
other commands) goes to the click group in :mod:`.commands`.
"""

from __future__ import annotations

import os
import sys


def _open_standard_streams() -> None:
    """Give closed standard descriptors /dev/null, so that the attempt can run and write its verdict.

    Started with fd 2 closed, Python sets ``sys.stderr`` to None (and stack dumps cannot register), and
    the next file opened would take descriptor 2 and receive whatever is written to stderr.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: ``fd`` itself
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)
    if sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    _open_standard_streams()
    if argv[:1] in (["execute"], ["map-execute"]):
        from .options import parse_execute_fast

        map_task = argv[0] == "map-execute"
        options = parse_execute_fast(argv[1:], map_task=map_task)
        if options is not None:
            from .pipeline import run_execute

            sys.exit(run_execute(options, map_task=map_task))
    from .commands import cli

    cli(args=argv, prog_name="flytelite")
