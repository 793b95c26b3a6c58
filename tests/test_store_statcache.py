"""The stat cache (#17): re-putting an unchanged folder reads no file, yet a changed file, bytes
gc removed meanwhile, and a damaged cache file are all handled by reading again.

Reads are counted with Linux's ``/proc/self/io`` (``rchar``: bytes the process read through
system calls), not by patching the code. The time of a re-put is in ``benchmarks/store17.py``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.store import statcache

pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/io"), reason="counts reads with Linux's /proc/self/io"
)
SMALL = 100 * (40 << 10)
"""Bytes of the small files (read with ``read(2)``; large ones are memory-mapped)."""


def rchar() -> int:
    with open("/proc/self/io") as f:
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


@pytest.fixture(autouse=True)
def no_racy_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files made by the test are seconds old at most: trust them at once (see RACY_SECONDS)."""
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0.0)
    monkeypatch.delenv(statcache.ENV, raising=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """2 large files of several chunks and 100 small ones of 40 KiB."""
    d = tmp_path / "data"
    (d / "small").mkdir(parents=True)
    for i in range(2):
        (d / f"big{i}").write_bytes(os.urandom(3 << 20))
    for i in range(100):
        (d / "small" / f"{i:03}.txt").write_bytes(os.urandom(40 << 10))
    return d


def test_an_unchanged_folder_is_put_again_without_reading_it(tmp_path: Path, folder: Path) -> None:
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("r")
        before = rchar()
        first = c.put_file("r@master", "/d/", str(folder))
        read_first = rchar() - before
        before = rchar()
        c.put_file("r@master", "/d/", str(folder))
        read_again = rchar() - before
        assert read_first > SMALL  # it did read the files the first time
        assert read_again < SMALL // 8  # metadata and cache pages only
        assert c.diff_file("r@master", first.id) == []
        assert c.get_file("r@master", "/d/big1") == (folder / "big1").read_bytes()
        assert c.fsck().ok


def test_a_changed_file_of_the_same_size_is_read_again(tmp_path: Path, folder: Path) -> None:
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/d/", str(folder))
        st = (folder / "small" / "007.txt").stat()
        new = os.urandom(st.st_size)
        (folder / "small" / "007.txt").write_bytes(new)
        os.utime(folder / "small" / "007.txt", ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime
        c.put_file("r@master", "/d/", str(folder))
        assert c.get_file("r@master", "/d/small/007.txt") == new  # the ctime told
        assert [d.path for d in c.diff_file("r@master")] == ["/d/small/007.txt"]


def test_bytes_gc_removed_are_stored_again_not_referenced(tmp_path: Path, folder: Path) -> None:
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("old")
        c.put_file("old@master", "/", str(folder))
        c.delete_repo("old", force=True)
        report = c.gc(grace_seconds=0, force=True)
        assert report.packs_removed  # the cached hashes now point at nothing
        c.create_repo("new")
        c.put_file("new@master", "/", str(folder))
        assert c.get_file("new@master", "/big0") == (folder / "big0").read_bytes()
        assert c.get_file("new@master", "/small/099.txt") == (folder / "small/099.txt").read_bytes()
        assert c.fsck().ok


def test_a_damaged_cache_file_only_costs_a_read(tmp_path: Path, folder: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        c.create_repo("r")
        c.put_file("r@master", "/d/", str(folder))
    (store / "cache" / "stat.sqlite").write_bytes(b"not a database" * 100)
    for extra in store.glob("cache/stat.sqlite-*"):
        extra.unlink()
    with Client(str(store)) as c:
        (folder / "big0").write_bytes(b"new")
        c.put_file("r@master", "/d/", str(folder))
        assert c.get_file("r@master", "/d/big0") == b"new"
        assert c.fsck().ok


def test_fresh_files_are_not_trusted_and_off_means_off(
    tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 3600.0)
    store = tmp_path / "store"
    with Client(str(store)) as c:
        c.create_repo("r")
        c.put_file("r@master", "/d/", str(folder))
    db = sqlite3.connect(store / "cache" / "stat.sqlite")
    assert db.execute("SELECT count(*) FROM files").fetchone() == (0,)  # all modified < 1 h ago
    db.close()
    monkeypatch.setenv(statcache.ENV, "off")
    with Client(str(tmp_path / "other")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/d/", str(folder))
    assert not (tmp_path / "other" / "cache").exists()
