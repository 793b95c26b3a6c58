"""The compact store (#17): a binary chunk index (migration 0004) and small commits sharing packs.

See docs/storage-format.md ("The chunk index" and "Small commits").
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import blake3
import pytest
import sqlalchemy as sa

from jupyter_pipes import Client
from jupyter_pipes.store import metadata
from jupyter_pipes.store.backend import Backend
from jupyter_pipes.store.journal import Journal

from .conftest import postgres_database
from .test_store_rebuild import build, lose, manifest, rebuild_cli
from .test_store_upgrade import load_dump, unpack


def _hex_rows(conn: sa.Connection) -> list[tuple[str, str, int, int]]:
    return [
        tuple(r) for r in conn.execute(sa.text('SELECT hash, pack, "offset", length FROM chunks'))
    ]  # type: ignore[misc]


@contextlib.contextmanager
def _fixture(tmp_path: Path, kind: str) -> Iterator[tuple[Path, str]]:
    """The v1 fixture store (old hex chunk index) and its database URL."""
    store, _ = unpack(tmp_path, kind)
    if kind == "sqlite":
        yield store, f"sqlite:///{store / 'metadata.sqlite'}"
        return
    with postgres_database() as url:
        load_dump(url, tmp_path / "postgres" / "metadata.sql")
        yield store, url


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_upgrade_converts_the_hex_chunk_index_to_bytes(tmp_path: Path, kind: str) -> None:
    with _fixture(tmp_path, kind) as (store, url):
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                old = _hex_rows(conn)
        finally:
            engine.dispose()
        assert len(old) > 10 and all(len(h) == 64 and len(p) == 32 for h, p, _, _ in old)
        with Client(str(store), db_url=url) as c:
            c.upgrade()
            engine = sa.create_engine(url)
            try:
                with engine.connect() as conn:
                    new = _hex_rows(conn)
            finally:
                engine.dispose()
            # Every row survived, as bytes: 32 of hash, 16 of pack id, same location.
            assert all(isinstance(h, bytes) and len(h) == 32 and len(p) == 16 for h, p, _, _ in new)
            assert sorted((bytes(h).hex(), bytes(p).hex(), o, n) for h, p, o, n in new) == sorted(
                old
            )
            # Dedup finds the old blobs through the converted index, and they read back.
            meta = c._store.meta
            refs = meta.lookup_chunks([h for h, _, _, _ in old])
            assert sorted((r.hash, r.pack, r.offset, r.length) for r in refs.values()) == sorted(
                old
            )
            repo = c.list_repo()[0].name
            f = next(f for f in c.walk_file(f"{repo}@master") if f.type == "file")
            data = c.get_file(f"{repo}@master", f.path)
            h = blake3.blake3(data).hexdigest()
            if len(data) <= 64 << 10:
                assert h in meta.lookup_chunks([h])


def test_the_chunk_index_is_compact_on_sqlite(tmp_path: Path) -> None:
    """One b-tree keyed by the 32-byte hash (no rowid, no index by pack): the old layout
    (hex text, rowid table, two indexes) took about 265 bytes per small file."""
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        with c.start_commit("r@master") as oc:
            for i in range(2000):
                oc.put_file(f"/d{i % 20}/f{i}", f"file {i}".encode().ljust(300, b"."))
    db = sqlite3.connect(tmp_path / "s" / "metadata.sqlite")
    try:
        (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'chunks'").fetchone()
        assert "WITHOUT ROWID" in ddl.upper()
        indexes = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'chunks'"
        ).fetchall()
        assert all(name.startswith("sqlite_autoindex") for (name,) in indexes)
        kinds = set(db.execute("SELECT typeof(hash), length(hash), length(pack) FROM chunks"))
        assert kinds == {("blob", 32, 16)}
        assert db.execute("SELECT count(*) FROM chunks").fetchone()[0] >= 2000
    finally:
        db.close()


def test_gc_forgets_the_binary_rows_of_the_packs_it_deletes(tmp_path: Path) -> None:
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        gone = b"bytes only this commit has" * 20  # (past INLINE_MAX: a blob of a pack)
        c.put_file("r@master", "/gone", gone)
        c.delete_repo("r", force=True)
        meta = c._store.meta
        h = blake3.blake3(gone).hexdigest()
        assert meta.lookup_chunks([h])
        c.gc(grace_seconds=0, force=True)
        assert meta.lookup_chunks([h]) == {}
        with meta.read() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(metadata.chunks)).scalar() == 0
            )


# -- small commits share one pack ---------------------------------------------------------------


def test_a_one_file_commit_writes_one_pack(tmp_path: Path) -> None:
    """The file's blob and the commit's directory blobs go into one pack (two before)."""
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        for i in range(10):
            c.put_file("r@master", f"/d{i % 3}/f{i}", f"content {i}".encode())
        assert [c.get_file("r@master", f"/d{i % 3}/f{i}") for i in range(10)] == [
            f"content {i}".encode() for i in range(10)
        ]
    assert len(list((tmp_path / "s" / "packs").iterdir())) == 10


def test_append_to_a_file_put_in_the_same_commit(tmp_path: Path) -> None:
    """Appending reads back the staged file's last chunk: its pack is flushed first."""
    first, more = bytes(range(256)) * 600, b"and then some" * 1000  # 150 KiB: several chunks
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        with c.start_commit("r@master") as oc:
            oc.put_file("/log", first)
            oc.put_file("/log", more, append=True)
            oc.put_file("/small", b"x")
        assert c.get_file("r@master", "/log") == first + more
        assert c.fsck().ok


# -- gc folds the journal's event files into one segment ------------------------------------------


def _journal(store: Path) -> list[Path]:
    return sorted((store / "journal").iterdir())


def test_gc_folds_the_journal_and_the_metadata_still_rebuilds(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        build(c)
        for i in range(20):
            c.put_file("notes@master", "/log.txt", f"version {i}".encode())
        before = manifest(c)
        loose = _journal(store)
        assert len(loose) > 40
        loose_bytes = sum(p.stat().st_size for p in loose)
        report = c.gc(grace_seconds=0)
        assert report.journal_events_folded == len(loose)
        (segment,) = _journal(store)
        assert segment.name.startswith("segment-")
        assert segment.stat().st_size < loose_bytes / 3
        c.put_file("notes@master", "/after.txt", b"written after the fold")
        before = manifest(c)
    assert len(_journal(store)) == 2  # the segment and the new event
    lose(store / "metadata.sqlite")
    res = rebuild_cli(store)
    assert res.exit_code == 0, res.output
    with Client(str(store)) as c:
        assert manifest(c) == before
        assert c.fsck().ok


def test_a_fold_interrupted_before_its_deletes_loses_and_doubles_nothing(tmp_path: Path) -> None:
    """The segment is written before the event files go: a crash between leaves both, and
    every event counts once (here the files are put back after the fold, as the crash would
    have left them)."""
    store = tmp_path / "store"
    with Client(str(store)) as c:
        build(c)
        before = manifest(c)
        saved = {p.name: p.read_bytes() for p in _journal(store)}
        assert c.gc(grace_seconds=0).journal_events_folded == len(saved)
    for name, data in saved.items():
        (store / "journal" / name).write_bytes(data)
    events = list(Journal(Backend(str(store))).events())
    assert len(events) == len(saved)
    lose(store / "metadata.sqlite")
    assert rebuild_cli(store).exit_code == 0
    with Client(str(store)) as c:
        assert manifest(c) == before
        assert c.gc(grace_seconds=0).journal_events_folded == len(saved)  # folded again
    assert len(_journal(store)) == 2  # two segments holding the same events
    lose(store / "metadata.sqlite")
    assert rebuild_cli(store).exit_code == 0
    with Client(str(store)) as c:
        assert manifest(c) == before
