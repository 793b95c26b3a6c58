"""Leases and pins on the writer's side: what keeps gc away from work in progress.

A :class:`Lease` is held by one writer (an open commit, a gc run, a pipeline worker uploading
outputs) and renewed by heartbeat (:class:`LeaseKeeper`, one thread per open store) every quarter
of its time to live. Before relying on a pack or a tree, the writer *pins* it under its lease:

* a pack it is about to write (``pin_new_pack``, before any byte is uploaded);
* packs that deduplication found in the chunk index (:meth:`Lease.lookup` pins them, and keeps
  only the hits whose pack is still indexed: the others are written again);
* a tree or file it copies from a commit (``pin_entry``, checking the commit still exists).

gc keeps everything reachable from finished commits and from live pins; a lease that stops
renewing expires after ``LEASE_SECONDS`` and its open commit is then collected by the next gc.
The SQL is in ``metadata_leases.py``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection

from ..errors import NotFound
from .objects import BlobRef
from .trees import Entry, Root

if TYPE_CHECKING:
    from .metadata import Metadata

LEASE_SECONDS = 60.0
"""How long a lease lives without a heartbeat (a killed writer's open commit is collected by
the first gc after that)."""
log = logging.getLogger(__name__)


def holder() -> str:
    """``host:pid`` of this process (for people reading the leases table)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class LeaseKeeper:
    """Renews this process's leases of one metadata database on a daemon thread."""

    def __init__(self, meta: Metadata, ttl: float = LEASE_SECONDS) -> None:
        self.meta = meta
        self.ttl = ttl
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, lease: str) -> None:
        """Keep renewing ``lease`` until :meth:`drop`."""
        with self._lock:
            self._held.add(lease)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="pipes-lease-keeper", daemon=True
                )
                self._thread.start()

    def drop(self, lease: str) -> None:
        """Stop renewing ``lease``."""
        with self._lock:
            self._held.discard(lease)

    def held(self) -> set[str]:
        """The leases being renewed."""
        with self._lock:
            return set(self._held)

    def renew_now(self) -> None:
        """Renew every held lease at once (the thread does this every ttl/4)."""
        ids = sorted(self.held())
        if ids:
            with self.meta.write() as conn:
                self.meta.renew_leases(conn, ids, self.ttl)

    def _run(self) -> None:
        while not self._stop.wait(self.ttl / 4):
            try:
                self.renew_now()
            except Exception:  # a busy or unreachable database: try again next beat
                log.warning("could not renew leases", exc_info=True)

    def close(self) -> None:
        """Stop the heartbeat (held leases then expire unless released)."""
        self._stop.set()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)


class Lease:
    """One writer's lease: create with :meth:`open` (or inside a transaction with
    :meth:`insert`), pin what you use, :meth:`release` when done."""

    def __init__(self, meta: Metadata, lease_id: str) -> None:
        self.meta = meta
        self.id = lease_id
        self._packs: set[str] = set()
        self.reused: set[str] = set()
        """Indexed packs this lease pinned because dedup found blobs in them."""
        self.released = False
        self.kept = False

    @classmethod
    def open(cls, meta: Metadata, kind: str = "writer") -> Lease:
        """A new lease in its own transaction, renewed from now on."""
        lease = cls(meta, f"{kind[:6]}-{uuid.uuid4().hex}")
        with meta.write() as conn:
            lease.insert(conn, kind)
        lease.keep()
        return lease

    def insert(self, conn: Connection, kind: str, first_packs: tuple[str, ...] = ()) -> None:
        """Write the lease row (and pin ``first_packs``) in the caller's transaction; call
        :meth:`keep` once it has committed."""
        self.meta.insert_lease(conn, self.id, kind, holder(), self.meta.keeper.ttl)
        self.meta.pin_new_packs(conn, self.id, first_packs)
        self._packs.update(first_packs)

    def keep(self) -> None:
        """Start renewing the lease by heartbeat."""
        self.kept = True
        self.meta.keeper.hold(self.id)

    def pin_new_pack(self, pack: str) -> None:
        """Pin a pack this writer is about to write."""
        self.pin_new_packs([pack])

    def pin_new_packs(self, packs: list[str]) -> None:
        """Pin packs this writer is about to write (one transaction; none if all are)."""
        todo = [p for p in packs if p not in self._packs]
        if not todo:
            return
        with self.meta.write() as conn:
            self.meta.pin_new_packs(conn, self.id, todo)
        self._packs.update(todo)

    def lookup(self, hashes: list[str]) -> dict[str, BlobRef]:
        """Dedup hits among ``hashes``, each in a pack now pinned by this lease (hits whose pack
        is being deleted by gc are left out: the caller stores those bytes again)."""
        hits = self.meta.lookup_chunks(hashes)
        todo = {r.pack for r in hits.values()} - self._packs
        if todo:
            with self.meta.write() as conn:
                alive = self.meta.pin_indexed_packs(conn, self.id, todo)
            self._packs.update(alive)
            self.reused.update(alive)
        return {h: r for h, r in hits.items() if r.pack in self._packs}

    def pin_reused(self, packs: set[str]) -> set[str]:
        """Pin packs whose blobs a stat-cache hit reuses, if they are still indexed (as
        :meth:`lookup` does for dedup hits); the ones now pinned by this lease."""
        todo = packs - self._packs
        if todo:
            with self.meta.write() as conn:
                alive = self.meta.pin_indexed_packs(conn, self.id, todo)
            self._packs.update(alive)
            self.reused.update(alive)
        return packs & self._packs

    def pin_entry(self, entry: Entry, source: str | None) -> None:
        """Pin a file or directory copied from commit ``source`` (checked to still exist)."""
        with self.meta.write() as conn:
            if source is not None:
                row = self.meta.get_commit(conn, source)
                if row is None or row.state != "finished":
                    raise NotFound(f"commit {source} not found", commit=source)
            if entry.is_dir:
                ref = entry.refs[0] if entry.refs else None
                root = Root(entry.hash, entry.size, entry.count, ref)
                self.meta.pin_tree(conn, self.id, entry.hash, root.to_json())
            else:
                packs = {r.pack for r in entry.refs if r.in_pack} - self._packs
                self.meta.pin_new_packs(conn, self.id, packs)
                self._packs.update(packs)

    def release(self) -> None:
        """Stop renewing; the lease is marked done (its pins go at gc's next snapshot)."""
        if self.released:
            return
        self.released = True
        self.meta.keeper.drop(self.id)
        try:
            with self.meta.write() as conn:
                self.meta.end_lease(conn, self.id)
        except Exception:  # it expires by itself
            log.warning("could not release lease %s", self.id, exc_info=True)
