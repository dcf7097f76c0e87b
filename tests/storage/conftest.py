"""Fixtures of the end-to-end storage tests (helpers in ``storage_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from s3_server import S3Server
from .storage_helpers import Storage


@pytest.fixture(params=["local", "s3"])
def where(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def storage(tmp_path: Path, s3_server: S3Server, s3_bucket: str, where: str) -> Storage:
    """A :class:`Storage` on disk or on the S3 server, by the ``where`` parameter."""
    runner = Storage(tmp_path, s3_server, s3_bucket)
    return runner.on_s3() if where == "s3" else runner


@pytest.fixture
def s3(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> Storage:
    """A :class:`Storage` with everything on the S3 server."""
    return Storage(tmp_path, s3_server, s3_bucket).on_s3()
