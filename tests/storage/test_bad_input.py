"""Bad storage input end to end: each run ends in an error document (where one can be written) whose
message names the URI, says what to check, and never shows a secret; where the output prefix itself
cannot be written the process exits non-zero and logs an error line naming the URI."""

from __future__ import annotations

from pathlib import Path

import pytest
from azure_server import AzureServer
from s3_server import S3Server
from .storage_helpers import MULTIPART, Storage, blob

SYSTEM, USER, RECOVERABLE, NON_RECOVERABLE = 2, 1, 1, 0
WRONG_SECRET = "wrong-secret-do-not-print-me"


@pytest.fixture
def local_out(tmp_path: Path, s3_server: S3Server, s3_bucket: str) -> Storage:
    """Verdict on disk, test data on the S3 server (it is the data that is bad)."""
    storage = Storage(tmp_path, s3_server, s3_bucket)
    storage.data = f"s3://{s3_bucket}/data"
    return storage


def _no_secret(result, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stderr and secret not in result.stdout


def _system_error(result, *secrets: str):
    error = result.error()
    assert error.origin == SYSTEM and error.code == "SYSTEM", result.describe()
    _no_secret(result, *secrets)
    for secret in secrets:
        assert secret not in error.message
    return error


def test_inputs_with_an_unknown_scheme(local_out: Storage) -> None:
    result = local_out.execute("ok_tasks", "add", inputs="xyz://a/b")
    error = _system_error(result)
    assert error.kind == NON_RECOVERABLE
    assert "unknown scheme 'xyz' in xyz://a/b" in error.message and "supported are" in error.message


def test_file_input_with_an_unknown_scheme(local_out: Storage) -> None:
    local_out.data = str(local_out.tmp_path / "data")
    result = local_out.execute("storage_tasks", "read_file", inputs=local_out.inputs(f=blob("xyz://host/file.txt")))
    error = _system_error(result)
    assert "unknown scheme 'xyz' in xyz://host/file.txt" in error.message


def test_inputs_in_a_missing_bucket(local_out: Storage) -> None:
    result = local_out.execute("ok_tasks", "add", inputs="s3://no-such-bucket-at-all/inputs.pb")
    error = _system_error(result, local_out.server.secret_key)
    assert error.kind == NON_RECOVERABLE
    assert "bucket 'no-such-bucket-at-all' does not exist" in error.message
    assert "s3://no-such-bucket-at-all/inputs.pb" in error.message and local_out.server.endpoint in error.message


def test_missing_credentials(local_out: Storage) -> None:
    inputs = local_out.inputs(a=1, b=2)
    local_out.env = {k: v for k, v in local_out.env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    local_out.env["AWS_METADATA_ENDPOINT"] = "http://127.0.0.1:1"  # no instance role here: fail fast
    result = local_out.execute("ok_tasks", "add", inputs=inputs)
    error = _system_error(result, local_out.server.secret_key)
    assert error.kind == NON_RECOVERABLE
    assert f"no credentials found for {inputs}: set AWS_ACCESS_KEY_ID" in error.message


@pytest.mark.parametrize("variable", ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"])
def test_wrong_credentials(local_out: Storage, variable: str) -> None:
    inputs = local_out.inputs(a=1, b=2)
    local_out.env[variable] = WRONG_SECRET
    result = local_out.execute("ok_tasks", "add", inputs=inputs)
    secrets = [WRONG_SECRET, local_out.server.secret_key] if variable == "AWS_SECRET_ACCESS_KEY" else [local_out.server.secret_key]
    error = _system_error(result, *secrets)
    assert error.kind == NON_RECOVERABLE
    assert "credentials were rejected" in error.message and inputs in error.message
    assert "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in error.message


def test_wrong_credentials_for_the_raw_prefix_only(tmp_path: Path, local_out: Storage) -> None:
    """Inputs on disk; the task's file output cannot be stored: error document, no outputs.pb."""
    local_out.data = str(tmp_path / "data")
    local_out.raw = f"s3://{local_out.bucket}/raw"
    local_out.env["AWS_SECRET_ACCESS_KEY"] = WRONG_SECRET
    result = local_out.execute("storage_tasks", "write_file", inputs=local_out.inputs(name="r.txt", text="x"))
    error = _system_error(result, WRONG_SECRET, local_out.server.secret_key)
    assert f"s3://{local_out.bucket}/raw/" in error.message and "credentials were rejected" in error.message


def test_inputs_that_do_not_exist(local_out: Storage) -> None:
    uri = f"s3://{local_out.bucket}/nowhere/inputs.pb"
    result = local_out.execute("ok_tasks", "add", inputs=uri)
    error = _system_error(result)
    assert error.kind == NON_RECOVERABLE
    assert f"not found: {uri}" in error.message


def test_file_input_that_does_not_exist(local_out: Storage) -> None:
    uri = f"s3://{local_out.bucket}/nowhere/missing.txt"
    result = local_out.execute("storage_tasks", "read_file", inputs=local_out.inputs(f=blob(uri)))
    error = _system_error(result)
    assert error.kind == NON_RECOVERABLE
    assert f"not found: {uri}" in error.message


def test_local_file_input_that_does_not_exist(tmp_path: Path, local_out: Storage) -> None:
    local_out.data = str(tmp_path / "data")
    missing = str(tmp_path / "missing.txt")
    result = local_out.execute("storage_tasks", "read_file", inputs=local_out.inputs(f=blob(missing)))
    error = result.error()
    assert (error.origin, error.kind) == (USER, NON_RECOVERABLE), result.describe()
    assert missing in error.message


def test_file_output_that_does_not_exist_is_the_tasks_fault(storage: Storage) -> None:
    result = storage.execute("storage_tasks", "missing_file_output")
    error = result.error()
    assert (error.origin, error.kind) == (USER, NON_RECOVERABLE), result.describe()
    assert "output 'o0'" in error.message and "no file exists at" in error.message and "never-written.txt" in error.message
    assert storage.raw_keys() == []


def test_empty_directory_round_trip_on_object_stores(remote: Storage) -> None:
    # no object marks an empty folder on S3 or Azure Blob: an empty prefix reads back as an empty folder
    made = remote.execute("storage_tasks", "empty_dir_output")
    uri = made.outputs().literals["o0"].scalar.blob.uri
    remote.next_out("2")
    result = remote.execute("storage_tasks", "read_dir", inputs=remote.inputs(d=blob(uri, MULTIPART)))
    assert result.outputs().literals["o0"].map.literals.keys() == {"<downloaded before>"}


def _could_not_write(result, uri_part: str) -> dict:
    assert result.returncode != 0, result.describe()
    lines = [line for line in result.logs() if line.get("event") == "could not write the error document"]
    assert lines, result.stderr
    assert lines[0]["level"] == "error" and uri_part in lines[0]["error"], lines[0]
    return lines[0]


def test_output_prefix_that_cannot_be_written_locally(tmp_path: Path, local_out: Storage) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    local_out.out = tmp_path / "a-file" / "out"  # under a regular file: not even root can write there
    local_out.data = str(tmp_path / "data")
    result = local_out.execute("ok_tasks", "add", inputs=local_out.inputs(a=1, b=2))
    line = _could_not_write(result, str(local_out.out / "error.pb"))
    assert str(local_out.out / "outputs.pb") in line["reason"]  # why the attempt failed in the first place
    assert not (tmp_path / "a-file").is_dir()


def test_output_prefix_in_a_missing_bucket(tmp_path: Path, local_out: Storage) -> None:
    local_out.out = "s3://no-such-output-bucket/out"
    local_out.data = str(tmp_path / "data")
    result = local_out.execute("ok_tasks", "add", inputs=local_out.inputs(a=1, b=2))
    line = _could_not_write(result, "s3://no-such-output-bucket/out/error.pb")
    assert "bucket 'no-such-output-bucket' does not exist" in line["error"]
    assert "s3://no-such-output-bucket/out/outputs.pb" in line["reason"]
    _no_secret(result, local_out.server.secret_key)


def test_output_prefix_with_wrong_credentials(tmp_path: Path, s3: Storage) -> None:
    s3.env["AWS_SECRET_ACCESS_KEY"] = WRONG_SECRET
    s3.data = str(tmp_path / "data")  # inputs on disk; the output prefix on S3 with a wrong secret
    result = s3.execute("ok_tasks", "add", inputs=s3.inputs(a=1, b=2))
    line = _could_not_write(result, f"{s3.out}/error.pb")
    assert "credentials were rejected" in line["error"]
    _no_secret(result, WRONG_SECRET, s3.server.secret_key)
    assert result.files() == []


# ---- Azure (Azurite) and GCS ----------------------------------------------------------------------

WRONG_AZURE_KEY = "d3Jvbmcta2V5LWRvLW5vdC1wcmludC1tZQ=="  # base64, as account keys are


@pytest.fixture
def azure_local_out(tmp_path: Path, azure_server: AzureServer, azure_container: str) -> Storage:
    """Verdict on disk, test data on Azurite."""
    storage = Storage(tmp_path, azure_server, azure_container)
    storage.data = f"{storage.base_uri()}/data"
    return storage


def test_inputs_in_a_missing_container(azure_local_out: Storage) -> None:
    uri = f"{azure_local_out.server.base_uri('no-such-container')}/inputs.pb"
    result = azure_local_out.execute("ok_tasks", "add", inputs=uri)
    error = _system_error(result, azure_local_out.server.secret)
    assert error.kind == NON_RECOVERABLE
    assert f"container 'no-such-container' does not exist at {azure_local_out.server.blob_endpoint}" in error.message
    assert uri in error.message


def test_wrong_azure_account_key(azure_local_out: Storage) -> None:
    inputs = azure_local_out.inputs(a=1, b=2)
    azure_local_out.env = {
        "AZURE_STORAGE_CONNECTION_STRING": f"BlobEndpoint={azure_local_out.server.blob_endpoint};",
        "AZURE_STORAGE_ACCOUNT_KEY": WRONG_AZURE_KEY,
    }
    result = azure_local_out.execute("ok_tasks", "add", inputs=inputs)
    error = _system_error(result, WRONG_AZURE_KEY, azure_local_out.server.secret)
    assert error.kind == NON_RECOVERABLE
    assert "credentials were rejected" in error.message and inputs in error.message
    assert "check AZURE_STORAGE_ACCOUNT_KEY" in error.message


def test_output_prefix_with_a_wrong_azure_key(tmp_path: Path, azure_server: AzureServer, azure_container: str) -> None:
    storage = Storage(tmp_path, azure_server, azure_container).on_remote()
    storage.data = str(tmp_path / "data")  # inputs on disk; the output prefix on Azurite with a wrong key
    storage.env = {"AZURE_STORAGE_CONNECTION_STRING": azure_server.connection_string(account_key=WRONG_AZURE_KEY)}
    result = storage.execute("ok_tasks", "add", inputs=storage.inputs(a=1, b=2))
    line = _could_not_write(result, f"{storage.out}/error.pb")
    assert "credentials were rejected" in line["error"]
    _no_secret(result, WRONG_AZURE_KEY, azure_server.secret)
    assert result.files() == []


def test_raw_prefix_with_a_malformed_azure_account(tmp_path: Path, azure_local_out: Storage) -> None:
    azure_local_out.data = str(tmp_path / "data")
    azure_local_out.raw = f"abfs://{azure_local_out.bucket}@Not_An_Account.dfs.core.windows.net/raw"
    result = azure_local_out.execute("storage_tasks", "write_file", inputs=azure_local_out.inputs(name="r.txt", text="x"))
    error = _system_error(result, azure_local_out.server.secret)
    assert error.kind == NON_RECOVERABLE
    assert "malformed Azure storage account 'Not_An_Account.dfs.core.windows.net'" in error.message
    assert f"{azure_local_out.raw}/" in error.message


def test_gcs_credentials_file_that_is_not_json(tmp_path: Path, local_out: Storage) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text("private-key-material-do-not-print")
    env = {"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)}
    result = local_out.execute("ok_tasks", "add", inputs="gs://some-bucket/inputs.pb", env=env)
    error = _system_error(result, "private-key-material-do-not-print")
    assert error.kind == NON_RECOVERABLE
    assert f"GOOGLE_APPLICATION_CREDENTIALS={key_file} cannot be used for gs://some-bucket/inputs.pb: it is not JSON" in error.message
