"""Listing a big folder streams on the Client and the CLI too (#19): ``list_file``,
``walk_file`` and ``glob_file`` yield entries as they read the tree, and ``jupyter pipes
list file`` / ``glob file`` print each row (or JSON record) as it comes.

Measured as in ``test_memory_trees.py``: the growth of the Python heap peak (tracemalloc) from
a store of SMALL files to one of LARGE files must stay within a fixed budget, where building
the list (as the Client and the CLI did) costs about 1 kB per file: 16+ MB here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.cli import cli
from jupyter_pipes.cli.base import Settings
from jupyter_pipes.store.store import Store
from jupyter_pipes.store.trees import file_entry

from .test_memory_trees import BUDGET, LARGE, SMALL, peak


def fill(store: Store, repo: str, n: int) -> None:
    """``repo`` gets one commit of ``/big`` with ``n`` small files (their blobs written in one
    batch, the tree built directly: thousands of files in about a second) and ``/other/readme``."""
    store.create_repo(repo)
    c = store.start_commit(repo, "master")
    refs = c.writer.add_many([b"content %d\n" % k for k in range(n)])
    for i in range(n):
        c.patch.put(f"/big/f{i:07d}.csv", file_entry("", [refs[i]]))
    c.put_file("/other/readme", b"hello")
    c.finish()


def _client(op: Callable[[Client], int]) -> Callable[[Path, int], None]:
    def run(store: Path, n: int) -> None:
        with Client(str(store)) as c:  # its own (empty) tree cache: what it fills counts
            assert op(c) == n

    return run


def _cli(*args: str) -> Callable[[Path, int], None]:
    """The command run in-process, its stdout thrown away (a terminal or a pipe keeps none)."""

    def run(store: Path, n: int) -> None:
        saved = sys.stdout
        with open(os.devnull, "w") as sink:
            sys.stdout = sink
            try:
                cli.main(args=list(args), standalone_mode=False, obj=Settings(str(store), None))
            finally:
                sys.stdout = saved

    return run


OPS: dict[str, Callable[[Path, int], None]] = {
    "client list_file": _client(lambda c: sum(1 for _ in c.list_file("data@master", "/big"))),
    "client walk_file": _client(lambda c: sum(1 for _ in c.walk_file("data@master")) - 3),
    "client glob_file": _client(lambda c: sum(1 for _ in c.glob_file("data@master", "/big/*"))),
    "cli list file": _cli("list", "file", "data@master:/big"),
    "cli list file --json": _cli("list", "file", "data@master:/big", "--json"),
    "cli glob file": _cli("glob", "file", "data@master:/big/*.csv"),
}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    base = tmp_path_factory.mktemp("mem")
    for n in (SMALL, LARGE):
        fill(Store(str(base / str(n))), "data", n)
    return {n: base / str(n) for n in (SMALL, LARGE)}


@pytest.mark.parametrize("name", sorted(OPS))
def test_listing_a_big_folder_streams(name: str, stores: dict[int, Path]) -> None:
    op = OPS[name]
    op(stores[SMALL], SMALL)  # imports, compiled regexes, first connections
    peaks = {n: peak(lambda: op(stores[n], n)) for n in (SMALL, LARGE)}  # noqa: B023
    growth = peaks[LARGE] - peaks[SMALL]
    print(
        f"{name}: peak {peaks[SMALL] / 1e6:.2f} MB at {SMALL:,} files, "
        f"{peaks[LARGE] / 1e6:.2f} MB at {LARGE:,}: {growth / (LARGE - SMALL):.0f} B per file"
    )
    assert growth < BUDGET


def test_a_listing_checks_its_ref_and_path_at_the_call(stores: dict[int, Path]) -> None:
    """Streaming does not defer errors: a missing path raises when the listing is asked for,
    not at the first entry (so the CLI and REST still answer with the error, not a
    half-printed table)."""
    from jupyter_pipes.errors import NotFound

    with Client(str(stores[SMALL])) as c:
        for listing in (c.list_file, c.walk_file):
            with pytest.raises(NotFound):
                listing("data@master", "/missing")
        with pytest.raises(NotFound):
            c.glob_file("nope@master", "/*")
