"""The object-store backend (``s3://``, ``gs://``, ``abfs[s]://``, ``az://``), built on obstore.

This module is imported only when a remote URI is first met. One client is kept per scheme, bucket and
configuration. S3 is configured the way Flyte deployments do it (``FLYTE_AWS_*`` first, then the
standard ``AWS_*`` variables); GCS and Azure as ``_cloud_config`` reads them.

Retries: obstore retries each request (connection errors, 5xx, time-outs) with our policy from
``_retry``; a download whose body breaks off mid-way resumes from the last byte written. What still
fails becomes a ``StorageError`` whose ``transient`` says whether a later attempt may succeed.
"""

from __future__ import annotations

import io
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, TypeVar

import obstore
from obstore.exceptions import NotFoundError, PermissionDeniedError, UnauthenticatedError
from obstore.store import AzureStore, GCSStore, S3Store

from . import _cloud_config, _retry, variables
from ._cloud_config import Location
from .credentials import AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, FLYTE_AWS_SECRET_ACCESS_KEY
from ._errors import StorageError
from ._local import _atomic_write
from ._progress import Progress

MIB = 1 << 20

T = TypeVar("T")


def _part_size() -> int:
    """Multipart threshold and part size."""
    return variables.current().part_size_mb * MIB


def _concurrency() -> int:
    """Files moved at once by get_dir/put_dir, and parts uploaded at once per file."""
    return variables.current().concurrency


@dataclass
class _Client:
    """An obstore store for one bucket, and what its errors should mention."""

    store: Any
    endpoint: str
    has_static_keys: bool
    secrets: tuple[str, ...] = field(repr=False)

    def redact(self, text: str) -> str:
        return _redact(text, self.secrets)


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


# ---- configuration ------------------------------------------------------------------------------


def _s3_settings() -> dict[str, str]:
    """The S3 settings of this process: ``FLYTE_AWS_*`` (Flyte's own) win over ``AWS_*``, like flytekit."""
    env = os.environ
    settings: dict[str, str] = {}
    endpoint = env.get("FLYTE_AWS_ENDPOINT") or env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        settings["endpoint"] = endpoint
    if env.get("FLYTE_AWS_ACCESS_KEY_ID") and env.get(FLYTE_AWS_SECRET_ACCESS_KEY):
        settings["access_key_id"] = env["FLYTE_AWS_ACCESS_KEY_ID"]
        settings["secret_access_key"] = env[FLYTE_AWS_SECRET_ACCESS_KEY]
    elif env.get("AWS_ACCESS_KEY_ID") and env.get(AWS_SECRET_ACCESS_KEY):
        settings["access_key_id"] = env["AWS_ACCESS_KEY_ID"]
        settings["secret_access_key"] = env[AWS_SECRET_ACCESS_KEY]
        if env.get(AWS_SESSION_TOKEN):
            settings["session_token"] = env[AWS_SESSION_TOKEN]
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        settings["region"] = region
    return settings


def _client_options(endpoint: str | None) -> dict[str, Any]:
    options: dict[str, Any] = _retry.client_timeouts()
    if endpoint and endpoint.startswith("http://"):
        options["allow_http"] = True
    return options


def _botocore_credentials() -> Callable[[], dict[str, Any]] | None:
    """A credential provider on botocore's chain (profiles, SSO, roles), when the ``aws`` extra is installed."""
    try:
        import botocore.session
    except ImportError:
        return None
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        return None

    def provide() -> dict[str, Any]:
        frozen = credentials.get_frozen_credentials()  # refreshes temporary credentials before they expire
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": datetime.now(timezone.utc) + timedelta(minutes=5),  # ask again in 5 min
        }

    return provide


def _new_s3_client(bucket: str, settings: dict[str, str]) -> _Client:
    endpoint = settings.get("endpoint")
    config: dict[str, Any] = dict(settings)
    if endpoint:
        config["virtual_hosted_style_request"] = False  # custom endpoints (MinIO, SeaweedFS) want path style
    has_keys = "access_key_id" in settings
    provider = None if has_keys else _botocore_credentials()
    store = S3Store(
        bucket,
        config=config,
        client_options=_client_options(endpoint),
        retry_config=_retry.obstore_retry_config(),
        credential_provider=provider,
    )
    return _Client(store, endpoint or "AWS S3", has_keys or provider is not None, _cloud_config.secrets(settings))


def _settings(location: Location, uri: str) -> dict[str, Any]:
    """The configuration of this process for ``location``'s cloud; raises ``StorageError`` when unusable."""
    if location.scheme == "s3":
        return _s3_settings()
    if location.scheme == "gs":
        return _cloud_config.gcs_settings(uri)
    return _cloud_config.azure_settings(location, uri)


def _new_client(location: Location, settings: dict[str, Any]) -> _Client:
    if location.scheme == "s3":
        return _new_s3_client(location.bucket, settings)
    if location.scheme == "gs":
        endpoint = _cloud_config.gcs_endpoint(settings)
        store: Any = GCSStore(
            location.bucket, config=settings, client_options=_client_options(endpoint), retry_config=_retry.obstore_retry_config()
        )
        return _Client(store, endpoint, True, ())
    endpoint = _cloud_config.azure_endpoint(settings)
    store = AzureStore(
        location.bucket, config=settings, client_options=_client_options(endpoint), retry_config=_retry.obstore_retry_config()
    )
    return _Client(store, endpoint, True, _cloud_config.secrets(settings))


# ---- errors -------------------------------------------------------------------------------------

_STATUS = re.compile(r"status code: (\d{3})")
_TRANSIENT_TEXT = re.compile(
    r"error sending request|connection|timed? ?out|reset|broken pipe|incomplete|decoding response body|"
    r"body error|unexpected eof|dns error",
    re.IGNORECASE,
)
_CREDENTIAL_FETCH = re.compile(r"169\.254\.169\.254|/latest/api/token|sts\.|credential|token request", re.IGNORECASE)
_KEYS_HINT = {
    "s3": "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or FLYTE_AWS_ACCESS_KEY_ID/FLYTE_AWS_SECRET_ACCESS_KEY",
    "gs": "GOOGLE_APPLICATION_CREDENTIALS (or STORAGE_EMULATOR_HOST for an emulator)",
    "azure": "AZURE_STORAGE_ACCOUNT_KEY (or FLYTE_AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_CONNECTION_STRING, "
    "AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET)",
}
_POD_IDENTITY = {"s3": "an IAM role", "gs": "a workload identity", "azure": "a managed or workload identity"}


def _cause(exc: BaseException, client: _Client) -> str:
    """obstore's message cut to its first line (no XML body, no debug dump, no credentials) + the S3 code."""
    text = str(exc)
    first = text.split("\n\nDebug source", 1)[0].strip().split("\n", 1)[0]
    first = re.sub(r":?\s*<\?xml.*", "", first)
    code = re.search(r"<Code>(\w+)</Code>", text)
    cause = client.redact(first or type(exc).__name__) + (f" ({code.group(1)})" if code else "")
    return cause if len(cause) <= 400 else cause[:400] + "..."


# A fresh connection that the server reset before the request went out: hyper cancels the request and
# obstore classifies that as not retryable, so it gives up at once. Nothing was sent: safe to send again.
_NEVER_SENT = re.compile(r"connection was not ready")


def _is_transient(exc: BaseException) -> bool:
    text = str(exc)
    status = _STATUS.search(text)
    if status:
        code = int(status.group(1))
        return code >= 500 or code in (408, 429)
    return bool(_TRANSIENT_TEXT.search(text))


_MISSING_BUCKET = re.compile(r"NoSuchBucket|ContainerNotFound")
_REJECTED_KEYS = re.compile(r"InvalidAccessKeyId|SignatureDoesNotMatch|AuthenticationFailed|AuthorizationFailure")


def _storage_error(exc: BaseException, uri: str, client: _Client) -> StorageError:
    """Turn an obstore failure into a ``StorageError`` that says what to check.

    By the exception's class first (not found; denied or unauthenticated). The message text is read
    only where obstore's classes say too little: which of the two the missing thing is (a bucket or
    an object), whether denied keys were rejected or lack a permission, a credential lookup that
    failed (obstore reports it as a generic error), a missing bucket reported as a generic error, and
    whether a generic error is transient (its HTTP status or connection failure, in the text).
    """
    cause = _cause(exc, client)
    location = Location.parse(uri)
    text = str(exc)
    cloud = _cloud_config.cloud(location.scheme)
    keys_hint = _KEYS_HINT[cloud]
    what = "container" if cloud == "azure" else "bucket"
    missing_bucket = f"{what} '{location.bucket}' does not exist at {client.endpoint} (while accessing {uri})"
    if isinstance(exc, (FileNotFoundError, NotFoundError)):
        message = missing_bucket if _MISSING_BUCKET.search(text) else f"not found: {uri}"
    elif isinstance(exc, (PermissionDeniedError, UnauthenticatedError)):
        if _REJECTED_KEYS.search(text):
            message = f"the credentials were rejected by {client.endpoint} for {uri}: check {keys_hint}"
        else:
            message = f"access denied to {uri}: the credentials in use lack permission for it"
    elif _MISSING_BUCKET.search(text):
        message = missing_bucket
    elif _CREDENTIAL_FETCH.search(text) and not (location.scheme == "s3" and client.has_static_keys):
        message = f"no credentials found for {uri}: set {keys_hint}, or give the pod {_POD_IDENTITY[cloud]}"
    else:
        transient = _is_transient(exc)
        what = "a transient failure (retries exhausted)" if transient else "a failure"
        return StorageError(f"{what} accessing {uri} at {client.endpoint}: {cause}", uri, transient=transient)
    return StorageError(f"{message}\n  cause: {cause}", uri, transient=False)


def _local_error(exc: OSError, path: str) -> StorageError:
    return StorageError(f"{exc.strerror or type(exc).__name__}: {path}", path, transient=False)


# ---- the backend --------------------------------------------------------------------------------


class ObjectStore:
    """The ``Store`` for object-store URIs; thread-safe."""

    def __init__(self) -> None:
        self._clients: dict[tuple[Any, ...], _Client] = {}
        self._lock = threading.Lock()

    def _client(self, location: Location, uri: str) -> _Client:
        # The settings, time-outs and retry policy are part of the key, so a changed environment gets a fresh client.
        settings = _settings(location, uri)
        cache_key = (location.scheme, location.bucket, tuple(sorted(settings.items())), variables.current().client_key())
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                try:
                    client = _new_client(location, settings)
                except Exception as exc:  # obstore raises ValueError/BaseError for a bad configuration
                    reason = _redact(str(exc), _cloud_config.secrets(settings))
                    raise StorageError(f"cannot configure a client for {uri}: {reason}", uri, transient=False) from exc
                self._clients[cache_key] = client
        return client

    def _call(self, uri: str, operation: Callable[[_Client, str], T]) -> T:
        """Run ``operation(client, key)``, translating obstore's exceptions; retries a request never sent."""
        location = Location.parse(uri)
        client = self._client(location, uri)
        budget = _retry.Budget()
        while True:
            try:
                return operation(client, location.key)
            except StorageError:
                raise
            except Exception as exc:  # obstore's errors are builtins (FileNotFoundError, ...) or its BaseError
                if not (_NEVER_SENT.search(str(exc)) and budget.retry_allowed()):
                    raise _storage_error(exc, uri, client) from exc

    def _error(self, uri: str, exc: BaseException) -> StorageError:
        return _storage_error(exc, uri, self._client(Location.parse(uri), uri))

    # -- single objects --

    def read_bytes(self, uri: str) -> bytes:
        buffer = io.BytesIO()
        self._download(uri, buffer)
        return buffer.getvalue()

    def write_bytes(self, uri: str, data: bytes, content_type: str | None) -> None:
        self._call(uri, lambda c, key: obstore.put(c.store, key, data, attributes=_attributes(content_type)))

    def get_file(self, uri: str, local_path: str) -> None:
        try:
            _atomic_write(local_path, lambda out: self._download(uri, out))
        except OSError as exc:
            raise _local_error(exc, local_path) from exc

    def put_file(self, local_path: str, uri: str, content_type: str | None) -> None:
        try:
            source = open(local_path, "rb")
        except OSError as exc:
            raise _local_error(exc, local_path) from exc
        with source:
            self._upload(source, os.fstat(source.fileno()).st_size, uri, content_type)

    def exists(self, uri: str) -> bool:
        """True for an object, or for a prefix with objects under it (a folder)."""
        return self._call(uri, _exists)

    def names_under(self, uri: str) -> list[str]:
        listing = self._call(uri, lambda c, key: obstore.list_with_delimiter(c.store, _folder_key(key) or None))
        return sorted(meta["path"].rpartition("/")[2] for meta in listing["objects"] if not meta["path"].endswith("/"))

    def open_read(self, uri: str) -> BinaryIO:
        reader = self._call(uri, lambda c, key: obstore.open_reader(c.store, key, buffer_size=_part_size()))
        return io.BufferedReader(_RawReader(reader, lambda exc: self._error(uri, exc)), _part_size())

    # -- folders --

    def get_dir(self, uri: str, local_dir: str) -> None:
        prefix = _folder_key(Location.parse(uri).key)
        objects = self._call(uri, lambda c, key: _list_objects(c, prefix))
        if not objects:
            raise StorageError(f"not found: {uri} (no objects under it)", uri, transient=False)
        progress = Progress("downloading", uri, sum(o["size"] for o in objects), len(objects))

        def fetch(meta: dict[str, Any]) -> None:
            relative = meta["path"][len(prefix) :]
            self.get_file(_child_uri(uri, relative), _safe_local_path(local_dir, relative, uri))
            progress.add(meta["size"], files=1)

        _run_parallel(fetch, objects)
        progress.finish()

    def put_dir(self, local_dir: str, uri: str) -> None:
        if not os.path.isdir(local_dir):
            raise StorageError(f"not a folder: {local_dir}", local_dir, transient=False)
        files = list(_walk_files(local_dir))
        progress = Progress("uploading", uri, sum(size for _, size in files), len(files))

        def send(item: tuple[str, int]) -> None:
            relative, size = item
            self.put_file(os.path.join(local_dir, relative), _child_uri(uri, relative.replace(os.sep, "/")), None)
            progress.add(size, files=1)

        _run_parallel(send, files)
        progress.finish()

    # -- transfers --

    def _download(self, uri: str, out: BinaryIO) -> None:
        """Stream ``uri`` into ``out``; a body that breaks off resumes at the last byte received."""
        written = 0
        budget = _retry.Budget()
        progress: Progress | None = None
        while True:
            options = {"range": {"offset": written}} if written else None
            result = self._call(uri, lambda c, key: obstore.get(c.store, key, options=options))
            progress = progress or Progress("downloading", uri, result.meta["size"])
            count, cut = _copy_body(result.stream(min_chunk_size=_part_size()), out, progress)
            written += count
            if cut is None:
                progress.finish()
                return
            if count:
                budget.progressed()
            if not _is_transient(cut) or not budget.retry_allowed():
                raise self._error(uri, cut) from cut

    def _upload(self, source: BinaryIO, size: int, uri: str, content_type: str | None) -> None:
        """Upload in parts of ``_part_size()`` (several at once) when larger than one part; atomic either way."""
        part = _part_size()

        def put(client: _Client, key: str) -> None:
            source.seek(0)  # a retried upload starts again from the first byte
            progress = Progress("uploading", uri, size)
            body: bytes | Iterator[bytes] = source.read() if size <= part else _chunks(source, part, progress)
            obstore.put(client.store, key, body, attributes=_attributes(content_type), chunk_size=part, max_concurrency=_concurrency())
            progress.finish()

        self._call(uri, put)


# ---- helpers ------------------------------------------------------------------------------------


def _attributes(content_type: str | None) -> dict[str, str] | None:
    return {"Content-Type": content_type} if content_type else None


def _copy_body(stream: Iterator[bytes], out: BinaryIO, progress: Progress) -> tuple[int, Exception | None]:
    """Write ``stream`` to ``out``: the bytes written and the error that cut the body off, if one did.

    Errors of ``out`` (a full disk) propagate: they are not the store's.
    """
    written = 0
    chunks = iter(stream)
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return written, None
        except Exception as exc:
            return written, exc
        out.write(chunk)
        written += len(chunk)
        progress.add(len(chunk))


def _chunks(source: BinaryIO, size: int, progress: Progress) -> Iterator[bytes]:
    while chunk := source.read(size):
        progress.add(len(chunk))
        yield chunk


def _exists(client: _Client, key: str) -> bool:
    try:
        obstore.head(client.store, key)
        return True
    except FileNotFoundError:
        pass
    first_page = next(iter(obstore.list(client.store, _folder_key(key), chunk_size=1)), [])
    return len(first_page) > 0


def _folder_key(key: str) -> str:
    return key.rstrip("/") + "/" if key.strip("/") else ""


def _list_objects(client: _Client, prefix: str) -> list[dict[str, Any]]:
    # Keys ending in "/" are folder markers written by some tools, not files.
    return [meta for meta in obstore.list(client.store, prefix or None).collect() if not meta["path"].endswith("/")]


def _child_uri(uri: str, relative: str) -> str:
    return uri.rstrip("/") + "/" + relative


def _safe_local_path(local_dir: str, relative: str, uri: str) -> str:
    """The local path of an object, refusing keys that would land outside ``local_dir`` (``../``)."""
    root = os.path.abspath(local_dir)
    path = os.path.abspath(os.path.join(root, *relative.split("/")))
    if not path.startswith(root + os.sep):
        raise StorageError(f"refusing object key that escapes the target folder: {relative} under {uri}", uri, transient=False)
    return path


def _walk_files(local_dir: str) -> Iterator[tuple[str, int]]:
    """(path relative to ``local_dir``, size) of every file below it."""
    for folder, _, names in os.walk(local_dir):
        for name in names:
            path = os.path.join(folder, name)
            yield os.path.relpath(path, local_dir), os.path.getsize(path)


def _run_parallel(work: Callable[[T], None], items: list[T]) -> None:
    """Run ``work`` on every item, ``_concurrency()`` at a time; the first failure cancels what has not started."""
    if not items:
        return
    with ThreadPoolExecutor(min(_concurrency(), len(items)), thread_name_prefix="flytelite-io") as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            for future in futures:
                future.result()
        finally:
            for future in futures:
                future.cancel()


class _RawReader(io.RawIOBase):
    """obstore's ReadableFile as a standard raw stream (its ``read`` returns obstore ``Bytes``)."""

    def __init__(self, reader: Any, translate: Callable[[BaseException], StorageError]) -> None:
        self._reader = reader
        self._translate = translate

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._reader.seek(offset, whence)

    def tell(self) -> int:
        return self._reader.tell()

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._reader.read(len(buffer))
        except Exception as exc:
            raise self._translate(exc) from exc
        count = len(data)
        memoryview(buffer)[:count] = memoryview(data)
        return count

    def close(self) -> None:
        if not self.closed:
            self._reader.close()
        super().close()
