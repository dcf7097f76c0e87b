"""Fixtures of the end-to-end storage tests (helpers in ``storage_helpers``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from .storage_helpers import REMOTE_SERVERS, Storage


def _on_server(request: pytest.FixtureRequest, tmp_path: Path, kind: str) -> Storage:
    """A :class:`Storage` with a fresh bucket on the ``kind`` server; the environment points at it."""
    server = request.getfixturevalue(f"{kind}_server")
    bucket = request.getfixturevalue("s3_bucket" if kind == "s3" else "azure_container")
    return Storage(tmp_path, server, bucket)


@pytest.fixture(params=["local", *REMOTE_SERVERS])
def where(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def storage(request: pytest.FixtureRequest, tmp_path: Path, where: str) -> Storage:
    """A :class:`Storage` on disk or on a server (SeaweedFS, Azurite), by the ``where`` parameter."""
    if where == "local":
        return _on_server(request, tmp_path, "s3")
    return _on_server(request, tmp_path, where).on_remote()


@pytest.fixture(params=REMOTE_SERVERS)
def remote(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A :class:`Storage` with everything on a server: SeaweedFS (S3), then Azurite (Azure Blob)."""
    return _on_server(request, tmp_path, request.param).on_remote()


@pytest.fixture
def s3(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """A :class:`Storage` with everything on SeaweedFS, for what only S3 has (its credential variables)."""
    return _on_server(request, tmp_path, "s3").on_remote()
