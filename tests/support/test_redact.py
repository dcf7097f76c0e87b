"""Redaction masks every credential the storage layer reads, whatever its cloud.

The variables are found by reading the storage layer's source: a variable it starts to read must be
named here as a credential or as harmless, so a new credential cannot slip past redaction unnoticed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flytelite.support.redact import MASK, redact

IO_DIR = Path(__file__).resolve().parents[2] / "src" / "flytelite" / "io"

# Every variable of the storage layer whose value grants access (README, "Storage").
CREDENTIALS = {
    "FLYTE_AWS_SECRET_ACCESS_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "FLYTE_AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "FLYTE_AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_CONNECTION_STRING",
    "GOOGLE_SERVICE_ACCOUNT_KEY",  # Google's tools read it; masked though flytelite takes a file path
}
# What the storage layer reads that grants nothing: names, ids, endpoints, paths, tuning.
NOT_CREDENTIALS = {
    "FLYTE_AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID",  # an id, useless without its secret
    "FLYTE_AWS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION",
    "FLYTE_AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT_NAME",
    "FLYTE_AZURE_TENANT_ID", "AZURE_TENANT_ID", "FLYTE_AZURE_CLIENT_ID", "AZURE_CLIENT_ID",
    "GOOGLE_APPLICATION_CREDENTIALS",  # a path; the file's content is never read into a message
    "STORAGE_EMULATOR_HOST",
    "FLYTELITE_IO_CONCURRENCY", "FLYTELITE_IO_CONNECT_TIMEOUT", "FLYTELITE_IO_PART_SIZE_MB",
    "FLYTELITE_IO_READ_TIMEOUT", "FLYTELITE_IO_RETRY_BACKOFF", "FLYTELITE_IO_RETRY_BUDGET", "FLYTELITE_IO_TIMEOUT",
}  # fmt: skip
_VARIABLE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def _variables_read_by_storage() -> set[str]:
    found = set()
    for path in IO_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _VARIABLE.fullmatch(node.value):
                found.add(node.value)
    return found


def test_every_variable_of_the_storage_layer_is_classified() -> None:
    read = _variables_read_by_storage()
    assert read >= {"AWS_SECRET_ACCESS_KEY", "FLYTE_AZURE_CLIENT_SECRET"}  # the reader finds them
    assert read - CREDENTIALS - NOT_CREDENTIALS == set(), "classify these as credentials or not"


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_every_credential_of_the_storage_layer_is_masked(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    secret = f"Zq8-{name.lower()}-value"
    monkeypatch.setenv(name, secret)
    text = redact(f"request failed with {secret} in it")
    assert secret not in text
    assert text == f"request failed with {MASK} in it"


def test_the_secret_parts_of_a_connection_string_are_masked_wherever_they_appear(monkeypatch: pytest.MonkeyPatch) -> None:
    key, sas = "Xk9aQ2+key/with==", "sv=2023-01-03&ss=b&sig=Abc%2Bdef"
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING", f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key};SharedAccessSignature={sas}"
    )
    text = redact(f"auth failed for key {key} and token {sas}")
    assert key not in text and "Abc%2Bdef" not in text
    # Parts of a connection string the environment does not hold (one in a library's message) are masked too.
    other = redact("invalid: AccountName=other;AccountKey=Other0Key==;EndpointSuffix=x;SharedAccessSignature=sv=1&sig=OtherSig")
    assert "Other0Key" not in other and "OtherSig" not in other
    assert "AccountName=other" in other and "EndpointSuffix=x" in other
