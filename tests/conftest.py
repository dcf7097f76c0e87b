from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure_server import AzureServer, start_azure_server
from s3_server import S3Server, start_s3_server

# Variables that would point flytelite.io at some other S3 (or its credentials) during a test.
S3_ENV_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "FLYTE_AWS_ENDPOINT", "FLYTE_AWS_ACCESS_KEY_ID", "FLYTE_AWS_SECRET_ACCESS_KEY",
)  # fmt: skip
# The same for Azure and GCS (obstore also reads the AZURE_* and GOOGLE_* variables itself).
CLOUD_ENV_VARS = S3_ENV_VARS + (
    "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN", "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE", "AZURE_STORAGE_ENDPOINT", "FLYTE_AZURE_STORAGE_ACCOUNT_NAME",
    "FLYTE_AZURE_STORAGE_ACCOUNT_KEY", "FLYTE_AZURE_TENANT_ID", "FLYTE_AZURE_CLIENT_ID", "FLYTE_AZURE_CLIENT_SECRET",
    "STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SERVICE_ACCOUNT", "GOOGLE_SERVICE_ACCOUNT_KEY",
)  # fmt: skip


# What makes a test slow: a real process or server behind one of these fixtures, a folder of them, or a browser.
_SLOW_FIXTURES = {
    "ep", "s3_server", "s3_env", "s3_bucket", "azure_server", "azure_env", "azure_container", "bucket", "storage", "page_file",
}  # fmt: skip
_SLOW_FOLDERS = {"entrypoint", "serve", "storage", "torch_launcher"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the end-to-end tests ``slow``: ``make test-fast`` (``-m "not slow"``) leaves them out."""
    for item in items:
        folder = item.path.parent.name
        if folder in _SLOW_FOLDERS or _SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def _point_env_at(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Only ``env``'s storage settings in the process environment, and retries short enough for tests."""
    for name in CLOUD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BACKOFF", "0.05")
    monkeypatch.setenv("FLYTELITE_IO_RETRY_BUDGET", "3")
    return env


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A SeaweedFS S3 server on 127.0.0.1, shared by the session."""
    server = start_s3_server(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment pointed at ``s3_server`` (and nothing else), with short retry pauses and budget."""
    return _point_env_at(s3_server.env(), monkeypatch)


@pytest.fixture
def s3_bucket(s3_server: S3Server, s3_env: dict[str, str]) -> str:
    """A fresh, empty bucket on ``s3_server``; the environment points at the server."""
    return s3_server.create_bucket()


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    """An Azurite blob server on 127.0.0.1, shared by the session."""
    server = start_azure_server(tmp_path_factory.mktemp("azurite"))
    yield server
    server.stop()


@pytest.fixture
def azure_env(azure_server: AzureServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment pointed at ``azure_server`` (and nothing else), with short retry pauses and budget."""
    return _point_env_at(azure_server.env(), monkeypatch)


@pytest.fixture
def azure_container(azure_server: AzureServer, azure_env: dict[str, str]) -> str:
    """A fresh, empty container on ``azure_server``; the environment points at the server."""
    return azure_server.create_bucket()


@pytest.fixture
def no_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No storage configuration or credentials of any cloud in the process environment."""
    for name in CLOUD_ENV_VARS:
        monkeypatch.delenv(name, raising=False)
