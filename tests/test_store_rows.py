"""The store's typed rows (#18): each record has its table's columns, in order, and the
metadata layer's reads return records carrying the row's values.

Records are made by position (``Record._make(row)`` of ``select(table)``): a column added to a
table by a migration without its field, or fields out of order, would put values under the
wrong names. This test names the record and the table that differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client
from jupyter_pipes.store import tables
from jupyter_pipes.store.records import (
    BranchRow,
    CommitRow,
    LeaseRow,
    MoveRow,
    ProvenanceRow,
    RepoRow,
)

PAIRS: list[tuple[Any, sa.Table]] = [
    (RepoRow, tables.repos),
    (BranchRow, tables.branches),
    (CommitRow, tables.commits),
    (ProvenanceRow, tables.provenance),
    (LeaseRow, tables.leases),
    (MoveRow, tables.head_moves),
]


@pytest.mark.parametrize(("record", "table"), PAIRS, ids=[r.__name__ for r, _ in PAIRS])
def test_each_record_has_its_tables_columns_in_order(record: Any, table: sa.Table) -> None:
    assert record._fields == tuple(table.c.keys())


def test_metadata_reads_return_records_with_the_rows_values(tmp_path: Path) -> None:
    with Client(str(tmp_path / "store"), autostart=False) as c:
        c.create_repo("data", description="raw")
        first = c.put_file("data@master", "/a.txt", b"a", message="one")
        second = c.put_file("data@master", "/b.txt", b"bb", message="two")
        meta = c.store.meta
        with meta.read() as conn:
            repo = meta.get_repo(conn, "data")
            branch = meta.get_branch(conn, "data", "master")
            commit = meta.get_commit(conn, second.id)
            older, depth = meta.ancestor(conn, second.id, 1)
            history = meta.ancestry(conn, second.id, None)
    assert isinstance(repo, RepoRow) and (repo.name, repo.description) == ("data", "raw")
    assert isinstance(branch, BranchRow) and branch.head == second.id
    assert isinstance(commit, CommitRow)
    assert (commit.repo, commit.parent, commit.message, commit.state) == (
        "data", first.id, "two", "finished",
    )  # fmt: skip
    assert commit.file_count == 2 and commit.size == 3
    assert isinstance(older, CommitRow) and (older.id, depth) == (first.id, 1)
    assert [r.id for r in history] == [second.id, first.id]
    assert all(isinstance(r, CommitRow) for r in history)
