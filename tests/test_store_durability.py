"""Batched durability (#17): a commit's packs are written without an fsync each, then made
durable together before the metadata transaction that makes the commit visible.

The real local backend and real fsyncs: ``os.fsync`` is wrapped to record which file each call
made durable (it still fsyncs), and SQLAlchemy's events record the transaction that moves the
branch head, so the order of the two is read off one event list.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client
from jupyter_pipes.store.backend import Backend
from jupyter_pipes.store.objects import PackWriter


@pytest.fixture()
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """("fsync", path) for every fsync, in order (the fsync itself still happens)."""
    seen: list[tuple[str, str]] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        seen.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return seen


def _watch_head_moves(client: Client, seen: list[tuple[str, str]]) -> None:
    """Add ("head moved", "") to ``seen`` when a transaction that moved a branch head commits."""
    engine = client.store.meta.engine
    moving: set[int] = set()

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _statement(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE BRANCHES"):
            moving.add(id(conn.connection.dbapi_connection))

    @sa.event.listens_for(engine, "commit")
    def _commit(conn):  # type: ignore[no-untyped-def]
        key = id(conn.connection.dbapi_connection)
        if key in moving:
            moving.discard(key)
            seen.append(("head moved", ""))


def test_a_commit_s_packs_are_durable_before_its_metadata_commits(
    tmp_path: Path, events: list[tuple[str, str]]
) -> None:
    store = tmp_path / "store"
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):  # 72 MiB: three packs of 32 MiB at most
        (src / f"big{i}.bin").write_bytes(os.urandom(24 << 20))
    with Client(str(store)) as c:
        c.create_repo("d")
        _watch_head_moves(c, events)
        events.clear()
        info = c.put_file("d@master", "/", str(src))
        assert c.get_file("d@master", "/big1.bin") == (src / "big1.bin").read_bytes()
    packs_dir = os.path.realpath(store / "packs")
    packs = {p.name for p in Path(packs_dir).iterdir() if not p.name.startswith(".")}
    assert len(packs) >= 3
    moved = events.index(("head moved", ""))
    before = {path for kind, path in events[:moved] if kind == "fsync"}
    # every pack of the commit (data and trees) and their folder were fsynced first
    assert {os.path.join(packs_dir, p) for p in packs} <= before
    assert packs_dir in before
    assert info.id


def test_the_pack_folder_is_fsynced_once_per_flush_not_once_per_pack(
    tmp_path: Path, events: list[tuple[str, str]]
) -> None:
    """Per-object durability fsynced the folder after every pack; batched, once per flush."""
    backend = Backend(str(tmp_path / "store"))
    writer = PackWriter(backend, lambda hashes: {}, pack_target=1 << 20)
    for _ in range(12):
        writer.add(os.urandom(1 << 20))
    writer.flush()
    writer.close()
    packs_dir = os.path.realpath(tmp_path / "store" / "packs")
    assert len(writer.new_packs) == 12
    synced = [path for kind, path in events if kind == "fsync"]
    assert sorted(p for p in synced if p != packs_dir) == sorted(
        os.path.join(packs_dir, p) for p in writer.new_packs
    )  # each pack exactly once
    assert synced.count(packs_dir) == 1
    assert not [p for p in Path(packs_dir).iterdir() if p.name.startswith(".tmp-")]


def test_a_remote_store_keeps_atomic_puts(tmp_path: Path) -> None:
    """A non-local fsspec store (memory://) gets each pack in one put: no temporary objects,
    and ``sync`` has nothing to do."""
    backend = Backend("memory://durability-test")
    writer = PackWriter(backend, lambda hashes: {}, pack_target=1 << 20)
    refs = [writer.add(os.urandom(700_000)) for _ in range(5)]
    writer.close()
    keys = [s.key for s in backend.list("packs")]
    assert sorted(keys) == sorted(f"packs/{p}" for p in writer.new_packs)
    for ref in refs:
        assert len(backend.get(f"packs/{ref.pack}", ref.offset, ref.length)) == ref.length
