"""Reading a big folder streams (#19): get, glob, list and fsck hold memory independent of the
number of files (one node per level of each directory on the path, caches of bounded size).

Each operation runs over a store holding one folder of N files at two sizes; the growth of its
Python heap peak (tracemalloc) from the small to the large store must stay within a fixed
budget, where holding a record per file (as these operations did) costs 0.5-1.3 kB per file.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_pipes.store.maintenance import fsck
from jupyter_pipes.store.refs import parse_ref
from jupyter_pipes.store.store import Store
from jupyter_pipes.store.trees import file_entry

SMALL, LARGE = 4000, 20000
BUDGET = 1_500_000
"""Allowed growth of the peak from SMALL to LARGE files, in bytes (per-file records would
cost 8-26 MB here)."""
REF = parse_ref("data@master")


def make_store(path: Path, n: int) -> Store:
    """A store with one folder of ``n`` small files, each its own content (a real commit)."""
    store = Store(str(path))
    store.create_repo("data")
    c = store.start_commit("data", "master")
    refs = c.writer.add_many([b"content %d\n" % k for k in range(n)])
    for i in range(n):
        c.patch.put(f"/big/f{i:07d}.csv", file_entry("", [refs[i]]))
    c.put_file("/other/readme", b"hello")
    c.finish()
    return store


def peak(op: Callable[[], object]) -> int:
    """The heap peak (bytes above the start) while ``op`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        op()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _list(store: Store, n: int, tmp: Path) -> None:
    assert sum(1 for _ in store.walk_file(REF, "/")) == n + 3


def _glob(store: Store, n: int, tmp: Path) -> None:
    assert sum(1 for _ in store.iter_glob_file(REF, "/big/*.csv")) == n


def _get(store: Store, n: int, tmp: Path) -> None:
    store.get_to(REF, "/big", tmp / f"out{n}")


def _fsck(store: Store, n: int, tmp: Path) -> None:
    report = fsck(store)
    assert report.ok, report.problems


OPS: dict[str, Callable[[Store, int, Path], None]] = {
    "list": _list,
    "glob": _glob,
    "get": _get,
    "fsck": _fsck,
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("mem")
    for n in (SMALL, LARGE):
        make_store(base / str(n), n)
    return {n: base / str(n) for n in (SMALL, LARGE)}


@pytest.mark.parametrize("name", sorted(OPS))
def test_reading_a_big_folder_streams(name: str, stores: dict[int, Path], tmp_path: Path) -> None:
    op = OPS[name]
    op(Store(str(stores[SMALL])), SMALL, tmp_path / "warm")  # imports, compiled regexes
    peaks = {}
    for n in (SMALL, LARGE):
        store = Store(str(stores[n]))  # its own (empty) tree cache: what it fills counts
        peaks[n] = peak(lambda: op(store, n, tmp_path))  # noqa: B023
    growth = peaks[LARGE] - peaks[SMALL]
    print(
        f"{name}: peak {peaks[SMALL] / 1e6:.2f} MB at {SMALL:,} files, "
        f"{peaks[LARGE] / 1e6:.2f} MB at {LARGE:,}: {growth / (LARGE - SMALL):.0f} B per file"
    )
    assert growth < BUDGET
