"""The image's copy of a module the serve tests also ship as fast-registered archives (v1, v2).

The tests write each archive's copy from :data:`SOURCE`; this file is that source for the version
named "image", which the daemon preloads.
"""

from __future__ import annotations

import os
import sys

from flytelite import task

VERSION = "image"
ONLY_IN_IMAGE = True
CALLS = {"count": 0}


@task(reusable=True)
def whoami() -> str:
    """This module's version, how often it ran in this process, the process, and the version-only globals it sees."""
    CALLS["count"] += 1
    only = sorted(name for name in vars(sys.modules[__name__]) if name.startswith("ONLY_IN_"))
    return f"{VERSION} {CALLS['count']} {os.getpid()} {','.join(only)}"
