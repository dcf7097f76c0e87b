"""flytelite package: the same code always gives the same archive."""

from __future__ import annotations

import hashlib
import os
import tarfile
import time


def _tree(root):
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "tasks.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "tasks.cpython-311.pyc").write_bytes(b"\0")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref")
    (root / "env").mkdir()
    (root / "env" / "pyvenv.cfg").write_text("home = /usr")
    (root / "data.csv").write_text("1,2\n")
    (root / "notes").mkdir()
    (root / "notes" / "secret.txt").write_text("s")
    (root / ".gitignore").write_text("*.csv\nnotes/\n")


def test_package_is_reproducible_and_leaves_out_ignored_files(ep, tmp_path):
    root = tmp_path / "project"
    _tree(root)
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    assert ep.flytelite("package", str(root), "-o", str(first)).returncode == 0
    later = time.time() + 3600
    os.utime(root / "pkg" / "tasks.py", (later, later))
    result = ep.flytelite("package", str(root), "-o", str(second))
    assert result.returncode == 0, result.describe()
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert digest == hashlib.sha256(second.read_bytes()).hexdigest()
    assert f"sha256:{digest}" in result.stdout
    with tarfile.open(first) as archive:
        assert archive.getnames() == [".gitignore", "pkg/__init__.py", "pkg/tasks.py"]
        assert {m.mtime for m in archive.getmembers()} == {0}


def test_changed_code_changes_the_digest(ep, tmp_path):
    root = tmp_path / "project"
    _tree(root)
    first, second = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    ep.flytelite("package", str(root), "-o", str(first))
    (root / "pkg" / "tasks.py").write_text("X = 2\n")
    ep.flytelite("package", str(root), "-o", str(second))
    assert first.read_bytes() != second.read_bytes()
