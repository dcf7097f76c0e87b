"""The environment variables whose values are storage credentials: the one list of them.

The storage layer reads them (``_obstore`` for S3, ``_cloud_config`` for Azure); redaction
(``flytelite.support.redact``) masks their values, and the secret fields of a connection string,
in every log line and error document. A credential added here is read and masked alike.
"""

from __future__ import annotations

FLYTE_AWS_SECRET_ACCESS_KEY = "FLYTE_AWS_SECRET_ACCESS_KEY"
AWS_SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
AWS_SESSION_TOKEN = "AWS_SESSION_TOKEN"
AZURE_ACCOUNT_KEYS = ("FLYTE_AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCOUNT_KEY")  # first found wins
AZURE_SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
AZURE_CLIENT_SECRETS = ("FLYTE_AZURE_CLIENT_SECRET", "AZURE_CLIENT_SECRET")  # first found wins
AZURE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
# The fields of a connection string that grant access (``AccountName``, ``BlobEndpoint`` do not).
CONNECTION_STRING_SECRET_FIELDS = ("AccountKey", "SharedAccessSignature")
# Read by Google's tools (not by flytelite, which takes a credentials file's path): masked all the same.
GOOGLE_SERVICE_ACCOUNT_KEY = "GOOGLE_SERVICE_ACCOUNT_KEY"

SECRET_VARIABLES = (
    FLYTE_AWS_SECRET_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    *AZURE_ACCOUNT_KEYS,
    AZURE_SAS_TOKEN,
    *AZURE_CLIENT_SECRETS,
    AZURE_CONNECTION_STRING,
    GOOGLE_SERVICE_ACCOUNT_KEY,
)


def parse_connection_string(text: str) -> dict[str, str]:
    """``Name=value;Name=value`` of an Azure storage connection string (values may contain ``=``)."""
    fields = {}
    for part in text.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name] = value
    return fields
