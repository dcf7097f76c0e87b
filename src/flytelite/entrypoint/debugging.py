"""``execute --pdb`` (or ``FLYTELITE_PDB=1``): a post-mortem debugger on the user's exception.

Meant for a container run by hand (``docker run -it ... flytelite execute --pdb ...``). The debugger
opens only when stdin is a terminal: in a pod, or anywhere without one, the request is ignored with a
warning, so no attempt ever waits on a prompt nobody can answer. The attempt then goes on to its
error document as without the flag.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping

from .settings import PDB


def pdb_requested(flag: bool, environ: Mapping[str, str] | None = None) -> bool:
    value = PDB.read(os.environ if environ is None else environ) or ""
    return flag or value.strip().lower() in ("1", "true", "t", "yes")


def _stdin_is_a_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (OSError, ValueError):  # closed or replaced by the task
        return False


def post_mortem(exc: BaseException, flag: bool, environ: Mapping[str, str] | None = None) -> None:
    """Debug ``exc`` where it was raised if asked to and a person can answer; else warn that the request is ignored."""
    if not pdb_requested(flag, environ):
        return
    from ..support.logs import get_logger

    log = get_logger("flytelite.execute")
    if not _stdin_is_a_terminal():
        log.warning("--pdb (FLYTELITE_PDB) ignored: stdin is not a terminal (docker run -it gives one)")
        return
    import pdb
    import traceback

    traceback.print_exception(exc)
    print(f"flytelite: post-mortem debugger on {type(exc).__name__}; 'c' or 'q' ends it and the attempt records its error", flush=True)
    pdb.post_mortem(exc.__traceback__)
