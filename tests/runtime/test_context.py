"""``current_context()``, ``use_context`` and secrets."""

import os
import pickle

import pytest

from flytelite.runtime.context import ExecutionContext, ExecutionIdentity, Secrets, TaskIdentity, current_context, use_context


@pytest.fixture
def secret_env(monkeypatch, tmp_path):
    for name in list(os.environ):
        if name.startswith("_FSEC_") or name.startswith("FLYTE_SECRETS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FLYTE_SECRETS_DEFAULT_DIR", str(tmp_path / "secrets"))
    return tmp_path / "secrets"


def test_secret_from_env_var(secret_env, monkeypatch):
    monkeypatch.setenv("_FSEC_AWS_TOKEN", "s3cr3t")
    assert Secrets().get("aws", "token") == "s3cr3t"
    assert Secrets().get("AWS", "TOKEN") == "s3cr3t"


def test_secret_group_only(secret_env, monkeypatch):
    monkeypatch.setenv("_FSEC_DB", "pw")
    assert Secrets().get("db") == "pw"


def test_secret_env_prefix(secret_env, monkeypatch):
    monkeypatch.setenv("FLYTE_SECRETS_ENV_PREFIX", "MYSEC_")
    monkeypatch.setenv("MYSEC_G_K", "v")
    assert Secrets().get("g", "k") == "v"


def test_secret_env_var_wins_over_file(secret_env, monkeypatch):
    (secret_env / "aws").mkdir(parents=True)
    (secret_env / "aws" / "token").write_text("from-file")
    assert Secrets().get("aws", "token") == "from-file"
    monkeypatch.setenv("_FSEC_AWS_TOKEN", "from-env")
    assert Secrets().get("aws", "token") == "from-env"


def test_secret_from_file_mount(secret_env):
    (secret_env / "aws").mkdir(parents=True)
    (secret_env / "aws" / "token").write_text("file-value\n")
    assert Secrets().get("AWS", "Token") == "file-value"  # stripped; folder and file names lower case


def test_secret_read_at_lookup_time(secret_env, monkeypatch):
    secrets = Secrets()
    monkeypatch.setenv("_FSEC_LATE_KEY", "later")
    assert secrets.get("late", "key") == "later"


def test_missing_secret_names_both_places(secret_env):
    with pytest.raises(KeyError) as info:
        Secrets().get("aws", "token")
    message = str(info.value)
    assert "_FSEC_AWS_TOKEN" in message
    assert os.path.join(str(secret_env), "aws", "token") in message


def test_fixed_environ(tmp_path):
    secrets = Secrets({"_FSEC_G_K": "v", "FLYTE_SECRETS_DEFAULT_DIR": str(tmp_path)})
    assert secrets.get("g", "k") == "v"
    with pytest.raises(KeyError, match="_FSEC_G_OTHER"):
        secrets.get("g", "other")


def test_repr_hides_values(secret_env, monkeypatch):
    monkeypatch.setenv("_FSEC_AWS_TOKEN", "s3cr3t-value")
    secrets = Secrets()
    secrets.get("aws", "token")
    assert "s3cr3t" not in repr(secrets) and repr(secrets) == "Secrets(<hidden>)"
    assert "s3cr3t" not in repr(ExecutionContext(secrets=Secrets({"_FSEC_AWS_TOKEN": "s3cr3t-value"})))


def test_secrets_picklable_without_values(secret_env, monkeypatch):
    monkeypatch.setenv("_FSEC_G_K", "zz-secret-zz")
    secrets = Secrets()
    assert secrets.get("g", "k") == "zz-secret-zz"
    data = pickle.dumps(secrets)
    assert b"zz-secret-zz" not in data
    assert pickle.loads(data).get("g", "k") == "zz-secret-zz"


def test_identities_from_env():
    env = {
        "FLYTE_INTERNAL_EXECUTION_PROJECT": "p",
        "FLYTE_INTERNAL_EXECUTION_DOMAIN": "d",
        "FLYTE_INTERNAL_EXECUTION_ID": "n",
        "_F_WF": "wf",
        "FLYTE_INTERNAL_TASK_NAME": "t",
        "_F_TK_V": "v1",
    }
    assert ExecutionIdentity.from_env(env) == ExecutionIdentity("p", "d", "n", "wf", "")
    assert TaskIdentity.from_env(env) == TaskIdentity("", "", "t", "v1")
    assert ExecutionIdentity.from_env({"FLYTE_INTERNAL_EXECUTION_ID": "long", "_F_NM": "short"}).name == "long"


def test_raw_output_prefix_defaults_under_working_directory(tmp_path):
    ctx = ExecutionContext(working_directory=str(tmp_path))
    assert ctx.raw_output_prefix == os.path.join(str(tmp_path), "raw")
    remote = ExecutionContext(working_directory=str(tmp_path), raw_output_prefix="s3://b/p")
    assert remote.raw_output_prefix == "s3://b/p"


def test_use_context_nests_and_restores(tmp_path):
    outer = ExecutionContext(working_directory=str(tmp_path / "a"))
    inner = ExecutionContext(working_directory=str(tmp_path / "b"))
    with use_context(outer):
        assert current_context() is outer
        with use_context(inner) as got:
            assert got is inner and current_context() is inner
        assert current_context() is outer


def test_use_context_restores_after_exception(tmp_path):
    outer = ExecutionContext(working_directory=str(tmp_path / "a"))
    with use_context(outer):
        with pytest.raises(RuntimeError):
            with use_context(ExecutionContext(working_directory=str(tmp_path / "b"))):
                raise RuntimeError
        assert current_context() is outer


def test_current_context_outside_a_task_is_stable():
    assert current_context() is current_context()
    assert os.path.isdir(current_context().working_directory)


def test_get_secrets_file_is_where_flytekit_looks(tmp_path):
    secrets = Secrets({"FLYTE_SECRETS_DEFAULT_DIR": str(tmp_path), "FLYTE_SECRETS_FILE_PREFIX": "pre-"})
    assert secrets.get_secrets_file("AWS", "Token") == os.path.join(str(tmp_path), "aws", "pre-token")
    assert secrets.get_secrets_file("aws", "token", group_version="v2") == os.path.join(str(tmp_path), "aws", "v2", "pre-token")
    os.makedirs(tmp_path / "aws" / "v2")
    (tmp_path / "aws" / "v2" / "pre-token").write_text("from-file\n")
    assert secrets.get("aws", "token", group_version="v2") == "from-file"
    assert Secrets({"_FSEC_AWS_V2_TOKEN": "from-env"}).get("aws", "token", group_version="v2") == "from-env"
