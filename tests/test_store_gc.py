"""gc against live writers (#19): whatever a live commit references survives gc.

Each race is made deterministic by running gc at the worst moment on purpose (between a commit's
staging and its finish) and by ageing files and rows the way hours of waiting would. The first
four tests fail on the code before leases and pins (gc deleted the reused or written packs, or
the open commit, and the commit then broke its branch).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client, Conflict, CorruptObject
from jupyter_pipes.errors import CommitAbandoned
from jupyter_pipes.store import metadata
from jupyter_pipes.store.leases import Lease
from jupyter_pipes.store.refs import parse_ref

from .conftest import postgres_database

HOURS = 3600.0


@pytest.fixture(params=["sqlite", "postgres"])
def c(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """A local store, with metadata in SQLite or in PostgreSQL."""
    with ExitStack() as stack:
        db = stack.enter_context(postgres_database()) if request.param == "postgres" else None
        client = Client(str(tmp_path / "store"), db_url=db)
        stack.callback(client.close)
        yield client


def packs_dir(c: Client) -> Path:
    return Path(c.store.backend.root) / "packs"


def age_packs(c: Client, seconds: float) -> None:
    """Make every pack look ``seconds`` old (as if written that long ago)."""
    t = time.time() - seconds
    for p in packs_dir(c).iterdir():
        if not p.name.startswith(".tmp-"):
            os.utime(p, (t, t))


def expire_lease(c: Client, lease: str) -> None:
    """What a killed writer leaves: a lease nobody renews, past its expiry."""
    c.store.meta.keeper.drop(lease)
    with c.store.meta.write() as conn:
        t = metadata.leases
        conn.execute(sa.update(t).where(t.c.id == lease).values(expires_at=0.0))


def age_open_commit(c: Client, cid: str, seconds: float) -> None:
    with c.store.meta.write() as conn:
        t = metadata.commits
        conn.execute(sa.update(t).where(t.c.id == cid).values(started_at=time.time() - seconds))


# -- the races of #19 ----------------------------------------------------------------------------


def test_dedup_reuse_of_a_deleted_repos_pack_survives_gc(c: Client) -> None:
    data = os.urandom(300_000)
    c.create_repo("old")
    c.put_file("old@master", "/f.bin", data)
    c.delete_repo("old")
    age_packs(c, 2 * HOURS)  # deleted over an hour ago: gc's default grace no longer covers it
    c.create_repo("new")
    oc = c.store.start_commit("new", "master")
    oc.put_file("/f.bin", data)  # dedup: the bytes are found in the deleted repo's pack
    c.gc()
    oc.finish()
    assert c.get_file("new@master", "/f.bin") == data
    assert c.fsck().ok
    c.gc(grace_seconds=0)  # and the pack is reachable now
    assert c.get_file("new@master", "/f.bin") == data


def test_a_commit_open_longer_than_the_grace_period_survives_gc(c: Client) -> None:
    c.create_repo("d")
    c.put_file("d@master", "/before.txt", b"before")
    big = os.urandom(34 << 20)  # more than a pack: one pack is uploaded while staging
    oc = c.store.start_commit("d", "master")
    oc.put_file("/big.bin", big)
    assert any(not p.name.startswith(".tmp-") for p in packs_dir(c).iterdir())
    age_packs(c, 2 * HOURS)
    age_open_commit(c, oc.id, 2 * HOURS)  # an upload that has been running for two hours
    c.gc()
    oc.finish()
    assert c.get_file("d@master", "/big.bin") == big
    assert c.get_file("d@master", "/before.txt") == b"before"
    assert c.fsck().ok


def test_gc_with_grace_zero_beside_a_writer_keeps_its_packs(c: Client) -> None:
    c.create_repo("d")
    big = os.urandom(34 << 20)
    oc = c.store.start_commit("d", "master")
    oc.put_file("/big.bin", big)
    oc.put_file("/small.txt", b"small")
    c.gc(grace_seconds=0)
    oc.finish()
    assert c.get_file("d@master", "/big.bin") == big
    assert c.fsck().ok


def test_gc_is_not_broken_by_temporary_files_that_vanish(c: Client) -> None:
    c.create_repo("d")
    c.put_file("d@master", "/a", b"a")
    # A dangling name is what a temporary file renamed into place between gc's listing and its
    # stat looks like: the name is listed, the stat finds nothing.
    os.symlink(packs_dir(c) / "no-such-file", packs_dir(c) / ".tmp-renamed-meanwhile")
    in_progress = packs_dir(c) / ".tmp-upload-in-progress"
    in_progress.write_bytes(b"half a pack")
    c.gc(grace_seconds=0)
    assert in_progress.exists()  # young temporary files may be uploads in progress
    assert c.fsck().ok


# -- leases --------------------------------------------------------------------------------------


def test_an_abandoned_commit_is_collected_and_its_finish_changes_nothing(c: Client) -> None:
    c.create_repo("d")
    head = c.put_file("d@master", "/a.txt", b"a").id
    oc = c.store.start_commit("d", "master")
    oc.put_file("/b.txt", b"b")
    assert c.gc(grace_seconds=0).open_commits_removed == 0  # alive: its lease is renewed
    expire_lease(c, oc.id)  # the writer stopped (killed, or suspended past its lease)
    assert c.gc(grace_seconds=0).open_commits_removed == 1
    with pytest.raises(CommitAbandoned, match="abandoned"):
        oc.finish()
    assert c.inspect_branch("d@master").head == head
    assert c.get_file("d@master", "/a.txt") == b"a"
    assert c.fsck().ok


def test_an_expired_lease_not_yet_collected_still_finishes(c: Client) -> None:
    c.create_repo("d")
    oc = c.store.start_commit("d", "master")
    oc.put_file("/b.txt", b"b")
    expire_lease(c, oc.id)  # late, but gc has not run: nothing it relies on is gone
    oc.finish()
    assert c.get_file("d@master", "/b.txt") == b"b"


def test_the_heartbeat_renews_open_commits(c: Client) -> None:
    c.create_repo("d")
    oc = c.store.start_commit("d", "master")
    with c.store.meta.read() as conn:
        t = metadata.leases
        before = conn.execute(sa.select(t.c.expires_at).where(t.c.id == oc.id)).scalar_one()
    time.sleep(0.05)
    c.store.meta.keeper.renew_now()
    with c.store.meta.read() as conn:
        after = conn.execute(sa.select(t.c.expires_at).where(t.c.id == oc.id)).scalar_one()
    assert after > before
    oc.abort()
    assert oc.id not in c.store.meta.keeper.held()


def test_a_copied_tree_is_pinned_until_the_copy_finishes(c: Client) -> None:
    c.create_repo("src")
    c.put_file("src@master", "/dir/a.txt", b"a" * 100_000)
    source, entry = c.store.entry_at(parse_ref("src@master"), "/dir")
    c.create_repo("dst")
    oc = c.store.start_commit("dst", "master")
    oc.put_entry("/copy", entry, source=source)
    c.delete_repo("src")
    age_packs(c, 2 * HOURS)
    c.gc(grace_seconds=0, force=True)
    oc.finish()
    assert c.get_file("dst@master", "/copy/a.txt") == b"a" * 100_000
    assert c.fsck().ok


# -- refusals ------------------------------------------------------------------------------------


def test_one_gc_at_a_time(c: Client) -> None:
    other = Lease.open(c.store.meta, "gc")  # another process's gc, still running
    try:
        with pytest.raises(Conflict, match="another gc is running"):
            c.gc()
    finally:
        other.release()
    c.gc()


def test_gc_refuses_on_a_store_that_fails_fsck(c: Client) -> None:
    c.create_repo("d")
    c.put_file("d@master", "/a", os.urandom(1000))
    c.create_repo("e")
    c.put_file("e@master", "/b", os.urandom(1000))
    victim = c.store.entry_at(parse_ref("d@master"), "/a")[1].refs[0].pack
    (packs_dir(c) / victim).unlink()
    with pytest.raises(CorruptObject, match="gc refused: the store fails fsck"):
        c.gc(grace_seconds=0, force=True)
    assert c.get_file("e@master", "/b")  # nothing was deleted
    assert not c.fsck().ok


def test_packs_written_under_a_write_lease_survive_gc_until_it_ends(c: Client) -> None:
    """What a pipeline worker does: upload outputs with no commit open yet (its job's controller
    holds the lease); the commit that uses them comes later."""
    from jupyter_pipes.store.objects import PackWriter

    c.create_repo("d")
    c.put_file("d@master", "/keep", os.urandom(300_000))
    lease = c.store.write_lease("job")
    writer = PackWriter(c.store.backend, lambda hashes: {})
    writer.add(os.urandom(100_000))
    writer.close()
    (pack,) = writer.new_packs
    c.gc(grace_seconds=0)
    assert (packs_dir(c) / pack).exists()
    lease.release()
    c.gc(grace_seconds=0)
    assert not (packs_dir(c) / pack).exists()  # nothing used it: garbage now


def test_heartbeats_do_not_interleave_with_commits_on_an_in_memory_database() -> None:
    """A memory:// store's SQLite is one connection shared by every thread: the lease heartbeat
    running during commits once made them fail or lose writes (seen under fuzzing)."""
    import threading
    import uuid

    c = Client(f"memory://beat-{uuid.uuid4().hex}")
    stop = threading.Event()
    errors: list[BaseException] = []

    def beat() -> None:
        while not stop.is_set():
            try:
                c.store.meta.keeper.renew_now()
            except BaseException as exc:  # collected: the assertion below reports it
                errors.append(exc)

    try:
        c.create_repo("d")
        oc = c.store.start_commit("d", "master")  # a lease for the heartbeat to renew
        t = threading.Thread(target=beat)
        t.start()
        try:
            for i in range(40):
                c.put_file("d@master", f"/{i}", str(i).encode())
        finally:
            stop.set()
            t.join()
        oc.abort()
        assert errors == []
        assert [c.get_file("d@master", f"/{i}") for i in range(40)] == [
            str(i).encode() for i in range(40)
        ]
    finally:
        c.close()
