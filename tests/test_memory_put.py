"""Putting a big folder holds memory independent of the number of files (#19): the tree is built
as the folder is walked (a directory written when the walk leaves it), the writer remembers the
blobs it stored in a temporary file past a few thousand, and its deduplication window is
bounded.

A folder of N small files (each its own content; 300 a folder, so each is split into bounded
nodes; a walk holds the listing of the folder it is in) is put in one commit at two sizes,
with the stat cache on. The growth of the Python heap's peak (tracemalloc) from the small to
the large folder must stay within a fixed budget, where staging an entry per file (as put did)
costs about 1 kB per file. The bounds of the buffers (bytes gathered for the pack writer, refs
kept in memory, rows per insert, changes per directory kept for a splice) are made small here
so that both sizes are past them: what is left growing would be per file.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from jupyter_pipes.store import bloblog, metadata, objects, statcache, treebuild
from jupyter_pipes.store.store import Store

SMALL, LARGE = 3000, 15000
BUDGET = 1_500_000
"""Allowed growth of the peak from SMALL to LARGE files, in bytes (a record per file would
cost 12 MB or more here)."""


def make_folder(root: Path, n: int) -> Path:
    """``n`` files, 300 a folder (each split into nodes), ten folders a parent folder."""
    for i in range(n):
        d = root / f"p{i // 3000:03}" / f"d{i // 300:04}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:07}.csv").write_bytes(b"row %d\n" % i)
    return root


def put_peak(store_dir: Path, folder: Path) -> int:
    """The heap peak (bytes above the start) while a commit puts ``folder``."""
    store = Store(str(store_dir))
    store.create_repo("r")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        c = store.start_commit("r", "master")
        c.put_file("/data", str(folder))
        info = c.finish()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert info.size_bytes > 0
    store.close()
    return peak


@pytest.fixture(autouse=True)
def stat_cache_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0.0)  # record every file (the most work)
    monkeypatch.delenv(statcache.ENV, raising=False)


@pytest.fixture(autouse=True)
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    for module, name, value in (
        (objects, "_HAND_OVER", 64 << 10),
        (objects, "DEDUP_WINDOW", 512),
        (bloblog, "IN_MEMORY", 512),
        (metadata, "_INSERT_SLICE", 500),
        (treebuild, "CHANGES_IN_MEMORY", 128),
    ):
        monkeypatch.setattr(module, name, value, raising=False)


def test_putting_a_big_folder_holds_memory_independent_of_its_files(tmp_path: Path) -> None:
    folders = {n: make_folder(tmp_path / f"data{n}", n) for n in (SMALL, LARGE)}
    put_peak(tmp_path / "warm", folders[SMALL])  # imports, compiled regexes, thread pools
    peaks = {n: put_peak(tmp_path / f"store{n}", folders[n]) for n in (SMALL, LARGE)}
    growth = peaks[LARGE] - peaks[SMALL]
    print(
        f"put: peak {peaks[SMALL] / 1e6:.2f} MB at {SMALL:,} files, {peaks[LARGE] / 1e6:.2f} MB "
        f"at {LARGE:,}: {growth / (LARGE - SMALL):.0f} B per file"
    )
    assert growth < BUDGET
