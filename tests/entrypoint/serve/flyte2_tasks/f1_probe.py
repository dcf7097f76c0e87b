"""A flytelite task that reports which of flyte's modules its worker has loaded (none, for a Flyte 1 attempt)."""

import sys

from flytelite import task


@task(reusable=True)
def flyte_modules() -> str:
    return ",".join(sorted(name for name in sys.modules if name == "flyte" or name.startswith("flyte.")))
