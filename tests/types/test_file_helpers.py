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


# --- the rest of flytekit's FlyteFile / FlyteDirectory surface that ported tasks touch ----------------


def test_a_value_read_from_a_literal_knows_its_source_and_travels_on_uncopied(tmp_path):
    from flytelite.types import to_python

    src = tmp_path / "in.txt"
    src.write_text("x")
    stored = to_literal(File(str(src)), File)  # uploaded under the raw prefix
    read = to_python(stored, File)
    assert read.remote_source == stored.scalar.blob.uri and read.downloaded
    assert to_literal(read, File).scalar.blob.uri == stored.scalar.blob.uri  # handed on, not copied again
    assert File(str(src)).remote_source is None


def test_from_source_of_a_remote_uri_is_not_downloaded():
    value = Directory.from_source("s3://bucket/prefix")
    assert value.remote_source == "s3://bucket/prefix" and not value.downloaded


def test_directory_of_a_format_and_its_helpers():
    csv_folder = Directory["csv"]
    assert csv_folder is Directory["csv"] and issubclass(csv_folder, Directory) and csv_folder.extension() == "csv"
    folder = Directory("s3://bucket/prefix")
    assert isinstance(folder.new_dir("sub"), Directory) and folder.new_dir("sub").path == "s3://bucket/prefix/sub"
    assert str(folder / "a.txt") == "s3:/bucket/prefix/a.txt"  # a pathlib.Path, as flytekit's '/' gives
    assert str(File["csv"]("s3://b/k.csv")) == "s3://b/k.csv" and File["csv"].extension() == "csv"
