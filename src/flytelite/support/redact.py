"""Masking of credentials and secrets in anything flytelite prints or writes to an error document."""

from __future__ import annotations

import os
import re

from ..io.credentials import AZURE_CONNECTION_STRING, CONNECTION_STRING_SECRET_FIELDS, SECRET_VARIABLES, parse_connection_string
from ..io.variables import Variable

# Where the task's mounted secrets are (flytekit's variables): runtime/context.py's ``Secrets`` reads
# them, and redaction masks every variable under the prefix; defined here, the lower of the two.
SECRETS_ENV_PREFIX = Variable("FLYTE_SECRETS_ENV_PREFIX", "_FSEC_", "prefix of secrets mounted as variables")
SECRETS_DEFAULT_DIR = Variable("FLYTE_SECRETS_DEFAULT_DIR", "/etc/flyte/secrets", "folder of secrets mounted as files")
SECRETS_FILE_PREFIX = Variable("FLYTE_SECRETS_FILE_PREFIX", "empty", "prefix of a secret's file name")
VARIABLES: tuple[Variable, ...] = (SECRETS_ENV_PREFIX, SECRETS_DEFAULT_DIR, SECRETS_FILE_PREFIX)

# Values of the storage credentials (one list, the storage layer's) and of every mounted secret never
# appear in a log line or message; nor do the secret fields of a connection string.
_MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words
_KEY_VALUE = re.compile(
    r"(?i)(\b(?:password|passwd|secret|secret_key|secret_access_key|aws_secret_access_key|api_key|"
    r"access_token|auth_token|session_token|" + "|".join(f.lower() for f in CONNECTION_STRING_SECRET_FIELDS) + r")\s*[=:]\s*)([^\s,;'\"]+)"
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
    prefix = os.environ.get(SECRETS_ENV_PREFIX.name, SECRETS_ENV_PREFIX.default)
    values = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    connection = parse_connection_string(os.environ.get(AZURE_CONNECTION_STRING, ""))
    values += [connection.get(field, "") for field in CONNECTION_STRING_SECRET_FIELDS]
    values += [value for name, value in os.environ.items() if name.startswith(prefix)]
    return sorted((v for v in values if len(v) >= _MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    """``text`` with known secret values, ``secret=...``-style assignments and URL credentials masked."""
    for value in _secret_values():
        text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _URL_SIGNATURE.sub(lambda m: m.group(1) + MASK, text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + MASK, text)
