"""_F_RUNTIME_PACKAGES: pip installs before the task is loaded; a failed install is a SYSTEM error."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

from flytelite.types import encode_map

TASK = '''
from flytelite import task

@task
def probe(x: int) -> str:
    import flytelite_runtime_probe
    return flytelite_runtime_probe.greeting(x)
'''


def _wheel(folder: Path) -> Path:
    """A minimal pure-Python wheel, built by hand so the test needs no network or build backend."""
    name, version = "flytelite_runtime_probe", "1.0"
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": b"def greeting(x):\n    return f'installed at run time: {x}'\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}" for path, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join(record + [f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def _env(tmp_path: Path, packages: str) -> dict[str, str]:
    site = tmp_path / "site"  # pip installs there, not into the test venv
    return {"_F_RUNTIME_PACKAGES": packages, "PIP_TARGET": str(site), "PYTHONPATH": str(site), "PIP_NO_INDEX": "1"}


def test_listed_packages_are_installed_before_the_task_is_loaded(ep, tmp_path):
    (tmp_path / "runtime_task.py").write_text(TASK)
    ep.write_inputs(encode_map({"x": 4}, {"x": int}))
    result = ep.run(ep.command("runtime_task", "probe"), env=_env(tmp_path, str(_wheel(tmp_path))), cwd=tmp_path, timeout=120)
    assert result.outputs().literals["o0"].scalar.primitive.string_value == "installed at run time: 4"


def test_a_failed_install_is_a_system_error_with_pips_last_lines(ep, tmp_path):
    (tmp_path / "runtime_task.py").write_text(TASK)
    ep.write_inputs(encode_map({"x": 4}, {"x": int}))
    missing = str(tmp_path / "no_such_package-1.0-py3-none-any.whl")
    result = ep.run(ep.command("runtime_task", "probe"), env=_env(tmp_path, missing), cwd=tmp_path, timeout=120)
    error = result.error()
    assert error.origin == 2
    assert f"could not install _F_RUNTIME_PACKAGES ({missing})" in error.message
    assert "no_such_package" in error.message.split("\n", 1)[1]  # pip's own words follow the summary
