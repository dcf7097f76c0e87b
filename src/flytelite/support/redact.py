"""Masking of credentials and secrets in anything flytelite prints or writes to an error document."""

from __future__ import annotations

import os
import re

# Values of these variables (and of every mounted secret) never appear in a log line or message.
_SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "FLYTE_AWS_SECRET_ACCESS_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
)
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words
_KEY_VALUE = re.compile(
    r"(?i)(\b(?:password|passwd|secret|secret_key|secret_access_key|aws_secret_access_key|api_key|"
    r"access_token|auth_token|session_token)\s*[=:]\s*)([^\s,;'\"]+)"
)
# The user:password of a URL (an endpoint such as http://user:pass@host), and the signature, credential
# and token parameters of presigned and SAS URLs.
# (abfs://container@account names no credential: only user:password is masked)
_URL_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/\s@:'\"]*:[^/\s@'\"]*@")
_URL_SIGNATURE = re.compile(
    r"(?i)([?&](?:x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|"
    r"signature|sig|token|access_token|code)=)([^&\s#'\"]+)"
)
MASK = "***"


def _secret_values() -> list[str]:
    prefix = os.environ.get("FLYTE_SECRETS_ENV_PREFIX", "_FSEC_")
    values = [os.environ.get(name, "") for name in _SECRET_VARIABLES]
    values += [value for name, value in os.environ.items() if name.startswith(prefix)]
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with known secret values, ``secret=...``-style assignments and URL credentials masked."""
    for value in _secret_values():
        text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _URL_SIGNATURE.sub(lambda m: m.group(1) + MASK, text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + MASK, text)
