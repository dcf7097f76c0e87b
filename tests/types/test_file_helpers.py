"""flytekit's File and Directory helpers, in-process on local storage (end to end: tests/storage/test_file_helpers.py)."""

from __future__ import annotations

import os

import pytest

from flytelite import Directory, File
from flytelite.types import BlobPaths, storing_blobs, to_literal


@pytest.fixture(autouse=True)
def local_context(tmp_path):
    with storing_blobs(BlobPaths(str(tmp_path / "raw"), str(tmp_path))):
        yield


def test_new_file_is_inside_the_folder_and_writable(tmp_path):
    folder = Directory(str(tmp_path / "out"))
    made = folder.new_file("a.txt")
    assert made == File(str(tmp_path / "out" / "a.txt"))
    with made.open("w") as f:  # the folder is created on the way
        f.write("x")
    assert [relative for _, relative in folder.crawl()] == ["a.txt"]
    assert os.path.dirname(folder.new_file().path) == str(tmp_path / "out")  # a random name


def test_crawl_walks_down_to_maxdepth(tmp_path):
    for name in ("a", "s/b", "s/t/c"):
        os.makedirs(os.path.dirname(tmp_path / "d" / name), exist_ok=True)
        (tmp_path / "d" / name).write_text(name)
    folder = Directory(str(tmp_path / "d"))
    assert sorted(rel for _, rel in folder.crawl()) == ["a", "s/b", "s/t/c"]
    assert sorted(rel for _, rel in folder.crawl(maxdepth=2)) == ["a", "s/b"]
    assert {base for base, _ in folder.crawl()} == {str(tmp_path / "d")}


def test_remote_path_false_keeps_the_local_path(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    lit = to_literal(File(str(tmp_path / "f.txt"), remote_path=False), File)
    assert lit.scalar.blob.uri == str(tmp_path / "f.txt")
    assert not (tmp_path / "raw").exists()
