"""The daemon's cache of fast-registered code, on real archives and real threads."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from pathlib import Path

import pytest

from flytelite.entrypoint.archive import ArchiveRejected
from flytelite.entrypoint.serve.code_cache import CodeCache

from .test_serve_fast import code_archive


@pytest.fixture
def cache(tmp_path):
    made = CodeCache(str(tmp_path / "cache"), max_bytes=0)
    yield made
    made.close()


def test_concurrent_requests_for_one_archive_fetch_and_unpack_it_once(cache, tmp_path):
    archive = code_archive(tmp_path, "v1")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        versions = list(pool.map(lambda _: cache.acquire(str(archive)), range(16)))
    assert len({id(version) for version in versions}) == 1
    version = versions[0]
    assert version.digest == hashlib.sha256(archive.read_bytes()).hexdigest() and version.holders == 16
    assert "VERSION = \"v1\"" in (Path(version.path) / "serve_fast_code.py").read_text()
    assert sorted(os.listdir(cache.root)) == [version.digest]  # no download or partial folder left
    for held in versions:
        cache.release(held)
    assert os.listdir(cache.root) == []  # a bound of 0: nothing stays once no one holds it


def test_the_same_content_under_two_uris_is_one_entry_and_a_held_entry_is_never_evicted(cache, tmp_path):
    first = code_archive(tmp_path, "v1")
    copy = tmp_path / "copy.tar.gz"
    copy.write_bytes(first.read_bytes())
    held = cache.acquire(str(first))
    assert cache.acquire(str(copy)) is held
    other = cache.acquire(str(code_archive(tmp_path, "v2")))
    cache.release(other)  # unheld, over the bound: gone
    assert sorted(os.listdir(cache.root)) == [held.digest]


def test_least_recently_used_goes_first(tmp_path):
    archives = [code_archive(tmp_path, f"v{n}") for n in range(3)]
    cache = CodeCache(str(tmp_path / "cache"), max_bytes=10**9)
    versions = [cache.acquire(str(archive)) for archive in archives]
    for version in (versions[1], versions[0], versions[2]):  # v1 released first: least recently used
        cache.release(version)
    cache.max_bytes = versions[0].size * 2
    cache.release(cache.acquire(str(archives[0])))  # a use of v0, then eviction down to two entries
    assert sorted(os.listdir(cache.root)) == sorted(v.digest for v in (versions[0], versions[2]))
    cache.close()


def test_a_rejected_archive_leaves_nothing_and_is_not_remembered(cache, tmp_path):
    hostile = code_archive(tmp_path, "hostile", {"../escape.py": b"x = 1\n"})
    for _ in range(2):
        with pytest.raises(ArchiveRejected):
            cache.acquire(str(hostile))
    assert os.listdir(cache.root) == [] and not (tmp_path / "escape.py").exists()
