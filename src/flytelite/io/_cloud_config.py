"""Where an object-store URI points, and how GCS and Azure are configured from the environment.

Configuration follows each cloud's own tools and flytekit (``FLYTE_*`` variables win over the cloud's):

- GCS: ``STORAGE_EMULATOR_HOST`` (the emulator convention of Google's client libraries: no credentials),
  else ``GOOGLE_APPLICATION_CREDENTIALS``, else application default credentials (the metadata server,
  which is how workload identity reaches a pod).
- Azure: ``AZURE_STORAGE_CONNECTION_STRING`` as a base, over it the account name and key
  (``FLYTE_AZURE_STORAGE_ACCOUNT_*``, ``AZURE_STORAGE_ACCOUNT_*``), a SAS token, a service principal
  (``FLYTE_AZURE_*``/``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET``); without
  those obstore falls back to workload identity (``AZURE_FEDERATED_TOKEN_FILE``) and managed identity.
  The account of ``abfs://container@account.dfs.core.windows.net/path`` is taken from the URI.

Nothing here imports obstore: a bad URI or configuration fails before a client is made.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from .credentials import AZURE_ACCOUNT_KEYS, AZURE_CLIENT_SECRETS, AZURE_CONNECTION_STRING, AZURE_SAS_TOKEN, parse_connection_string
from ._errors import StorageError

AZURE_SCHEMES = frozenset({"abfs", "abfss", "az"})
_AZURE_ACCOUNT = re.compile(r"[a-z0-9]{3,24}")
_AZURE_HOST = re.compile(r"(?P<account>[^.]*)(?:\.(?:dfs|blob)\.(?P<suffix>.+))?")
_AZURE_PUBLIC_SUFFIX = "core.windows.net"
_SECRET_SETTINGS = ("secret_access_key", "session_token", "account_key", "sas_key", "client_secret")


def cloud(scheme: str) -> str:
    """``s3``, ``gs`` or ``azure`` (any of Azure's schemes)."""
    return "azure" if scheme in AZURE_SCHEMES else scheme


@dataclass(frozen=True)
class Location:
    """``scheme://bucket/key``; for Azure the bucket is the container and ``account`` may come from the URI."""

    scheme: str
    bucket: str
    key: str
    account: str = ""
    endpoint_suffix: str = ""

    @classmethod
    def parse(cls, uri: str) -> Location:
        scheme, _, rest = uri.partition("://")
        authority, _, key = rest.partition("/")
        if scheme in AZURE_SCHEMES and "@" in authority:
            container, _, host = authority.partition("@")
            account, suffix = _azure_account(host, uri)
            return cls(scheme, _bucket(container, uri, "container"), key, account, suffix)
        return cls(scheme, _bucket(authority, uri, "container" if scheme in AZURE_SCHEMES else "bucket"), key)


def _bucket(name: str, uri: str, what: str) -> str:
    if not name:
        raise StorageError(f"no {what} in {uri}: expected a URI like {uri.partition('://')[0]}://<{what}>/<path>", uri, transient=False)
    return name


def _azure_account(host: str, uri: str) -> tuple[str, str]:
    """(account, endpoint suffix) of ``<account>.dfs.core.windows.net`` (or just ``<account>``)."""
    match = _AZURE_HOST.fullmatch(host)
    if match is None or not _AZURE_ACCOUNT.fullmatch(match.group("account")):
        raise StorageError(
            f"malformed Azure storage account '{host}' in {uri}: expected <container>@<account>.dfs.core.windows.net "
            "with an account name of 3 to 24 lowercase letters and digits",
            uri,
            transient=False,
        )
    return match.group("account"), match.group("suffix") or ""


# ---- GCS ----------------------------------------------------------------------------------------


def gcs_settings(uri: str) -> dict[str, Any]:
    """obstore's ``GCSStore`` configuration of this process, checked before any request is made."""
    env = os.environ
    emulator = env.get("STORAGE_EMULATOR_HOST")
    if emulator:
        base_url = emulator if "://" in emulator else f"http://{emulator}"
        # obstore's emulator mode: a service-account document that turns OAuth off and names the host.
        key = {"gcs_base_url": base_url.rstrip("/"), "disable_oauth": True, "client_email": "", "private_key": "", "private_key_id": ""}
        return {"service_account_key": json.dumps(key)}
    path = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if path:
        _check_credentials_file(path, uri)
        return {"application_credentials": path}
    return {}


def _check_credentials_file(path: str, uri: str) -> None:
    """A clear error for a credentials file that is missing or not JSON (its content is never shown)."""
    try:
        with open(path, "rb") as source:
            document = json.load(source)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except ValueError:
        reason = "it is not JSON"
    else:
        if isinstance(document, dict) and "type" in document:
            return
        reason = "it has no 'type' field of a Google credentials file"
    raise StorageError(f"GOOGLE_APPLICATION_CREDENTIALS={path} cannot be used for {uri}: {reason}", uri, transient=False)


def gcs_endpoint(settings: dict[str, Any]) -> str:
    if "service_account_key" in settings:
        return json.loads(settings["service_account_key"])["gcs_base_url"]
    return "Google Cloud Storage"


# ---- Azure --------------------------------------------------------------------------------------


def _first(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def azure_settings(location: Location, uri: str) -> dict[str, Any]:
    """obstore's ``AzureStore`` configuration for ``location``: connection string, then variables, then the URI."""
    connection = parse_connection_string(os.environ.get(AZURE_CONNECTION_STRING, ""))
    chosen = {
        "account_name": location.account
        or _first("FLYTE_AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_NAME")
        or connection.get("AccountName"),
        "account_key": _first(*AZURE_ACCOUNT_KEYS) or connection.get("AccountKey"),
        "sas_key": _first(AZURE_SAS_TOKEN) or connection.get("SharedAccessSignature"),
        "tenant_id": _first("FLYTE_AZURE_TENANT_ID", "AZURE_TENANT_ID"),
        "client_id": _first("FLYTE_AZURE_CLIENT_ID", "AZURE_CLIENT_ID"),
        "client_secret": _first(*AZURE_CLIENT_SECRETS),
        "endpoint": connection.get("BlobEndpoint") or _sovereign_endpoint(location),
    }
    settings = {name: value for name, value in chosen.items() if value}
    if "account_name" not in settings:
        raise StorageError(
            f"no Azure storage account for {uri}: use abfs://<container>@<account>.dfs.core.windows.net/<path> "
            "or set AZURE_STORAGE_ACCOUNT_NAME (or FLYTE_AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_CONNECTION_STRING)",
            uri,
            transient=False,
        )
    return settings


def _sovereign_endpoint(location: Location) -> str | None:
    """The blob endpoint of an account outside Azure's public cloud (``...dfs.core.chinacloudapi.cn``)."""
    if location.endpoint_suffix and location.endpoint_suffix != _AZURE_PUBLIC_SUFFIX:
        return f"https://{location.account}.blob.{location.endpoint_suffix}"
    return None


def azure_endpoint(settings: dict[str, Any]) -> str:
    return settings.get("endpoint") or f"https://{settings['account_name']}.blob.{_AZURE_PUBLIC_SUFFIX}"


def secrets(settings: dict[str, Any]) -> tuple[str, ...]:
    """What must never appear in a message: the keys, tokens and secrets of ``settings``, the connection string."""
    found = [settings[k] for k in _SECRET_SETTINGS if settings.get(k)]
    connection = os.environ.get(AZURE_CONNECTION_STRING)
    return tuple(found + ([connection] if connection else []))
