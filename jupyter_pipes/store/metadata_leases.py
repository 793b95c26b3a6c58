"""The metadata layer's SQL for leases, pins, gc and the branch timeline (part of
:class:`~jupyter_pipes.store.metadata.Metadata`; with ``metadata.py``, the store's only SQL).

How gc and writers stay out of each other's way (docs/guarantees.md states the promise):

* A writer holds a **lease** (``leases``) renewed by heartbeat, and **pins** (``pins``) what it
  relies on before relying on it: each pack it writes (before any byte of it is uploaded), each
  pack it reuses by deduplication (in a transaction that also checks the pack is still indexed,
  with the pack's index row locked on PostgreSQL), each tree it copies (checking its source
  commit still exists).
* gc runs alone (a ``gc`` lease), takes one snapshot of finished commits and live pins, and
  deletes a pack only in a transaction that re-checks, with the pack's row locked, that nothing
  pins it — after removing its index rows, so no later dedup can find it.
* Pins outlive their lease's commit until the next gc snapshot (which then sees the finished
  commit), so a commit finishing while gc runs keeps everything it references.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .readsql import Reads
from .records import LeaseRow, MoveRow, RootRow
from .sqlexec import insert_ignore as _insert_ignore
from .sqlexec import runner as _run


class LeaseQueries:
    """Mixed into :class:`Metadata`: leases, pins, gc snapshots, head moves."""

    # The tables are bound by metadata.py (which imports this module) to avoid a cycle.
    leases: sa.Table
    pins: sa.Table
    packs: sa.Table
    chunks: sa.Table
    commits: sa.Table
    head_moves: sa.Table

    # -- leases --------------------------------------------------------------------------------

    def insert_lease(
        self, conn: Connection, lease: str, kind: str, holder: str, ttl: float
    ) -> None:
        now = time.time()
        conn.execute(
            sa.insert(self.leases).values(
                id=lease,
                kind=kind,
                holder=holder[:255],
                started_at=now,
                expires_at=now + ttl,
                state="live",
            )
        )

    def renew_leases(self, conn: Connection, ids: Sequence[str], ttl: float) -> set[str]:
        """Push the expiry of live leases forward; the ids that were still there."""
        t = self.leases
        now = time.time()
        found = set(
            conn.execute(sa.select(t.c.id).where(t.c.id.in_(ids), t.c.state == "live")).scalars()
        )
        if found:
            conn.execute(sa.update(t).where(t.c.id.in_(found)).values(expires_at=now + ttl))
        return found

    def lock_lease(self, conn: Connection, lease: str) -> LeaseRow | None:
        """The lease's row, locked until the transaction ends (PostgreSQL; SQLite's write
        transactions are exclusive anyway)."""
        t = self.leases
        row = conn.execute(sa.select(t).where(t.c.id == lease).with_for_update()).first()
        return None if row is None else LeaseRow(*row)

    def end_lease(self, conn: Connection, lease: str) -> None:
        """Mark a lease done (its pins stay until gc's next snapshot)."""
        t = self.leases
        conn.execute(sa.update(t).where(t.c.id == lease).values(state="done"))

    def live_gc(self, conn: Connection) -> LeaseRow | None:
        """A gc lease still live, if any."""
        t = self.leases
        row = conn.execute(
            sa.select(t).where(t.c.kind == "gc", t.c.state == "live", t.c.expires_at >= time.time())
        ).first()
        return None if row is None else LeaseRow(*row)

    def delete_lease(self, conn: Connection, lease: str) -> None:
        conn.execute(sa.delete(self.pins).where(self.pins.c.lease == lease))
        conn.execute(sa.delete(self.leases).where(self.leases.c.id == lease))

    # -- pins ----------------------------------------------------------------------------------

    def pin_new_packs(self, conn: Connection, lease: str, packs: Iterable[str]) -> None:
        """Pin packs the lease is about to write (nobody else knows their ids)."""
        rows = [{"lease": lease, "kind": "pack", "item": p, "tree": None} for p in packs]
        if rows:
            conn.execute(_insert_ignore(conn, self.pins), rows)

    def pin_indexed_packs(self, conn: Connection, lease: str, packs: Iterable[str]) -> set[str]:
        """Pin packs found by dedup, if they are still indexed; the ones pinned.

        Their index rows are locked (``FOR SHARE``) so a concurrent gc, which locks a pack's
        row before checking its pins and deleting it, either sees this pin or has already
        removed the row (then the caller writes the bytes again).
        """
        wanted = sorted(set(packs))
        if not wanted:
            return set()
        t = self.packs
        alive = set(
            conn.execute(
                sa.select(t.c.id).where(t.c.id.in_(wanted)).with_for_update(read=True)
            ).scalars()
        )
        self.pin_new_packs(conn, lease, alive)
        return alive

    def pin_tree(self, conn: Connection, lease: str, tree_hash: str, tree: str) -> None:
        """Pin a copied tree (``tree``: a root's JSON); gc keeps everything under it."""
        conn.execute(
            _insert_ignore(conn, self.pins),
            [{"lease": lease, "kind": "tree", "item": tree_hash, "tree": tree}],
        )

    def unindexed_pins(self, conn: Connection, lease: str, reused: Iterable[str]) -> list[str]:
        """Among ``reused`` packs pinned by ``lease``, those no longer indexed (must be none)."""
        wanted = sorted(set(reused))
        if not wanted:
            return []
        found = set(
            conn.execute(sa.select(self.packs.c.id).where(self.packs.c.id.in_(wanted))).scalars()
        )
        return [p for p in wanted if p not in found]

    # -- gc ------------------------------------------------------------------------------------

    def oldest_live_lease(self, conn: Connection) -> float | None:
        """When the oldest live writer's lease (not gc's) started, if any."""
        L = self.leases
        return conn.execute(
            sa.select(sa.func.min(L.c.started_at)).where(
                L.c.state == "live", L.c.expires_at >= time.time(), L.c.kind != "gc"
            )
        ).scalar()

    def gc_snapshot(
        self, conn: Connection, legacy_cutoff: float
    ) -> tuple[list[RootRow], set[str], list[str], int]:
        """One consistent view for gc, taken while holding the gc lease.

        Drops what no writer can use any more: the open commits (and pins) of expired leases,
        the pins of finished leases (their commits are in this snapshot), and open commits
        without a lease started before ``legacy_cutoff`` (made before leases existed).

        Returns
        -------
        (finished commits' (id, root) rows, pinned packs, pinned trees' JSON, open commits
        removed)
        """
        L, P, C = self.leases, self.pins, self.commits
        now = time.time()
        expired = list(
            conn.execute(
                sa.select(L.c.id).where(L.c.state == "live", L.c.expires_at < now, L.c.kind != "gc")
            ).scalars()
        )
        removed = 0
        if expired:
            removed += (
                conn.execute(sa.delete(C).where(C.c.id.in_(expired), C.c.state == "open")).rowcount
                or 0
            )
        done = list(conn.execute(sa.select(L.c.id).where(L.c.state == "done")).scalars())
        for batch in _batches(expired + done):
            conn.execute(sa.delete(P).where(P.c.lease.in_(batch)))
            conn.execute(sa.delete(L).where(L.c.id.in_(batch)))
        leased = sa.select(L.c.id)
        legacy = list(
            conn.execute(
                sa.select(C.c.id).where(
                    C.c.state == "open", C.c.started_at < legacy_cutoff, C.c.id.not_in(leased)
                )
            ).scalars()
        )
        for batch in _batches(legacy):
            removed += conn.execute(sa.delete(C).where(C.c.id.in_(batch))).rowcount or 0
        roots = [
            RootRow(i, r)
            for i, r in conn.execute(sa.select(C.c.id, C.c.root).where(C.c.state == "finished"))
        ]
        pinned = set(conn.execute(sa.select(P.c.item).where(P.c.kind == "pack")).scalars())
        trees = [
            t for t in conn.execute(sa.select(P.c.tree).where(P.c.kind == "tree")).scalars() if t
        ]
        return roots, pinned, trees, removed

    def tombstone_packs(self, conn: Connection, candidates: Sequence[str]) -> tuple[list[str], int]:
        """Forget candidate packs nobody pins (their rows locked first); (forgotten packs,
        chunk-index rows removed). Only forgotten packs may then be deleted."""
        t, P = self.packs, self.pins
        conn.execute(sa.select(t.c.id).where(t.c.id.in_(candidates)).with_for_update()).all()
        pinned = set(
            conn.execute(
                sa.select(P.c.item).where(P.c.kind == "pack", P.c.item.in_(candidates))
            ).scalars()
        )
        gone = [p for p in candidates if p not in pinned]
        n = 0
        if gone:
            # One scan of the chunk index (it has no index by pack since migration 0004).
            keys = [bytes.fromhex(p) for p in gone]
            n = conn.execute(sa.delete(self.chunks).where(self.chunks.c.pack.in_(keys))).rowcount
            conn.execute(sa.delete(t).where(t.c.id.in_(gone)))
        return gone, n or 0

    # -- the branch timeline -------------------------------------------------------------------

    def record_move(
        self,
        conn: Connection,
        repo: str,
        branch: str,
        old: str | None,
        new: str | None,
        cause: str,
        actor: str,
        global_id: str | None = None,
    ) -> MoveRow:
        """Append one head move (in the transaction that moves the head); the row written."""
        t = self.head_moves
        now = time.time()
        res = conn.execute(
            sa.insert(t).values(
                time=now,
                repo=repo,
                branch=branch,
                old=old,
                new=new,
                cause=cause,
                actor=actor[:255],
                global_id=global_id,
            )
        )
        pk = res.inserted_primary_key
        assert pk is not None
        row = conn.execute(sa.select(t).where(t.c.id == pk[0])).first()
        assert row is not None
        return MoveRow(*row)

    def moves(
        self,
        conn: Connection,
        repo: str,
        branch: str | None = None,
        *,
        until: float | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[MoveRow]:
        """Head moves of a repo (or one branch), newest first."""
        return Reads(_run(conn)).moves(repo, branch, until=until, since=since, limit=limit)


def _batches(items: list[str], n: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
