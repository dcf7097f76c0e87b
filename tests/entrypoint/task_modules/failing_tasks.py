"""Tasks that fail in the user's code."""

from __future__ import annotations

import logging
import os

from flytelite import RecoverableException, task

logger = logging.getLogger(__name__)


def _inner_helper(value: int) -> int:
    raise RuntimeError(f"boom with value {value}")  # the line the tests look for


@task
def boom(a: int) -> int:
    return _inner_helper(a)


class MyError(Exception):
    error_code = "USER:MyCode"


@task
def coded() -> int:
    raise MyError("with a code of its own")


@task
def recoverable() -> int:
    raise RecoverableException("please retry me")


@task
def leak_secrets() -> int:
    aws = os.environ["AWS_SECRET_ACCESS_KEY"]
    group = os.environ["_FSEC_GROUP_KEY"]
    logger.warning("the keys are %s and %s", aws, group)
    raise RuntimeError(f"failed with keys {aws} and {group}")


@task
def exits(code: int) -> int:
    import sys

    sys.exit(code)
