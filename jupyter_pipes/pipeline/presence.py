"""Which controllers are alive: the ``controllers`` table (pipeline chain, revision 0006).

Every controller process — the server's thread, ``jupyter pipes controller``, the background
controller started on demand — keeps a row here with an expiry it pushes forward every third of
:data:`TTL_S` (:class:`Presence`). A commit that queued jobs looks here to decide whether a
background controller must be started (:mod:`.autostart`).

The background controller's row has the fixed id :data:`BACKGROUND`, taken by insert (or, when
the row's holder is gone, by compare-and-swap on its owner), so of two started at once exactly
one runs, on SQLite and PostgreSQL alike. A holder is gone when its expiry passed, or — on this
host — when its process no longer exists (a SIGKILLed controller is replaced at once, not after
its expiry).

Job leases (``jobs.lease_owner``) still decide who runs a job: a row here only says that
someone is running jobs, never which ones.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..store import txn as txnmod
from ..store.records import _Record, utc
from ..store.store import Store
from . import state

TTL_S = 15.0
"""A controller row without a heartbeat for this long is dead."""
BACKGROUND = "background"
"""The id of the background controller's row (one per store)."""

controllers = sa.Table(
    "controllers",
    state.md,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(32), nullable=False),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("jobs_run", sa.Integer, nullable=False, server_default="0"),
)
"""One row per live (or recently dead) controller: ``kind`` is ``server``, ``service`` or
``background``; ``owner`` the lease owner of the jobs it claims."""


class ControllerRow(NamedTuple):
    """A row of ``controllers`` (made from ``select(controllers)`` rows, columns in order)."""

    id: str
    kind: str
    owner: str
    hostname: str
    pid: int
    started_at: float
    expires_at: float
    jobs_run: int


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True  # no /proc (macOS): exists is enough


def is_live(row: ControllerRow, now: float | None = None) -> bool:
    """Whether the controller of ``row`` is alive: not expired, and (on this host) running."""
    if row.expires_at < (time.time() if now is None else now):
        return False
    if row.hostname == socket.gethostname():
        return pid_alive(row.pid)
    return True


def live(conn: Connection) -> list[ControllerRow]:
    """The live controllers, oldest first."""
    now = time.time()
    rows = conn.execute(
        sa.select(controllers).where(controllers.c.expires_at >= now).order_by("started_at")
    )
    return [r for r in map(ControllerRow._make, rows) if is_live(r, now)]


def _values(kind: str, owner: str, ttl: float) -> dict[str, Any]:
    now = time.time()
    return {
        "kind": kind,
        "owner": owner,
        "hostname": socket.gethostname()[:255],
        "pid": os.getpid(),
        "started_at": now,
        "expires_at": now + ttl,
        "jobs_run": 0,
    }


def register(conn: Connection, row_id: str, kind: str, owner: str, ttl: float) -> bool:
    """Insert this process's row (``row_id`` :data:`BACKGROUND`: only if no live controller
    holds that row; else the dead holder's row is taken over). True if this process holds it."""
    found = conn.execute(sa.select(controllers).where(controllers.c.id == row_id)).first()
    if found is None:  # insert unless inserted concurrently (PostgreSQL)
        from sqlalchemy.dialects import postgresql, sqlite

        dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(controllers).values(id=row_id, **_values(kind, owner, ttl))
        conn.execute(stmt.on_conflict_do_nothing())
        mine = conn.execute(
            sa.select(controllers.c.owner).where(controllers.c.id == row_id)
        ).scalar()
        return mine == owner
    existing = ControllerRow._make(found)
    if is_live(existing):
        return existing.owner == owner
    res = conn.execute(
        sa.update(controllers)
        .where(controllers.c.id == row_id, controllers.c.owner == existing.owner)
        .values(**_values(kind, owner, ttl))
    )
    return res.rowcount == 1


def renew(conn: Connection, row_id: str, owner: str, ttl: float, jobs_run: int) -> bool:
    """Push this process's expiry forward; False if its row was taken over (or deleted)."""
    res = conn.execute(
        sa.update(controllers)
        .where(controllers.c.id == row_id, controllers.c.owner == owner)
        .values(expires_at=time.time() + ttl, jobs_run=jobs_run)
    )
    return res.rowcount == 1


def unregister(conn: Connection, row_id: str, owner: str) -> None:
    """Remove this process's row (a clean exit); also drop rows dead for a day."""
    conn.execute(
        sa.delete(controllers).where(controllers.c.id == row_id, controllers.c.owner == owner)
    )
    conn.execute(sa.delete(controllers).where(controllers.c.expires_at < time.time() - 86400))


def hand_back(conn: Connection, owner: str) -> list[str]:
    """Return the jobs ``owner`` is running to the queue (state ``created``, no lease), so the
    next controller starts them at once; their ids. A result the old controller still tries to
    commit is then refused (it no longer holds the lease)."""
    jobs = state.jobs
    ids = list(
        conn.execute(
            sa.select(jobs.c.id).where(jobs.c.lease_owner == owner, jobs.c.state == "running")
        ).scalars()
    )
    if ids:
        conn.execute(
            sa.update(jobs)
            .where(jobs.c.id.in_(ids), jobs.c.lease_owner == owner, jobs.c.state == "running")
            .values(state="created", lease_owner=None, lease_expires=None)
        )
        state.bump(conn)
    return ids


class Presence:
    """This process's row in ``controllers``, renewed by a daemon thread until :meth:`stop`.

    Parameters
    ----------
    store:
        The store.
    kind:
        ``server``, ``service`` or ``background``.
    owner:
        The controller's job-lease owner id.
    row_id:
        :data:`BACKGROUND` for the one background controller; default: ``owner``.
    ttl:
        Seconds a row lives without a heartbeat.
    """

    def __init__(
        self,
        store: Store,
        kind: str,
        owner: str,
        *,
        row_id: str | None = None,
        ttl: float = TTL_S,
    ) -> None:
        self.store, self.kind, self.owner = store, kind, owner
        self.row_id = row_id or owner
        self.ttl = ttl
        self.jobs_run = 0
        self.lost = threading.Event()
        """Set when the row was taken over (this process must stop claiming jobs)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Take the row and start the heartbeat; False if another live controller holds it."""
        with txnmod.write(self.store) as t:
            if not register(t.connection, self.row_id, self.kind, self.owner, self.ttl):
                return False
        self._thread = threading.Thread(target=self._beat, name="pipes-presence", daemon=True)
        self._thread.start()
        return True

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                with txnmod.write(self.store) as t:
                    ok = renew(t.connection, self.row_id, self.owner, self.ttl, self.jobs_run)
            except Exception:  # a database hiccup: try again at the next beat
                continue
            if not ok:
                self.lost.set()
                return

    def stop(self) -> None:
        """Stop the heartbeat and remove the row."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with txnmod.write(self.store) as t:
                unregister(t.connection, self.row_id, self.owner)
        except Exception:  # the row then expires by itself
            pass


@dataclass(frozen=True, slots=True)
class ControllerInfo(_Record):
    """A live controller of the store (``Client.list_controller``)."""

    id: str
    kind: str
    """``server`` (a Jupyter server's), ``service`` (``jupyter pipes controller``) or
    ``background`` (started on demand by a commit)."""
    hostname: str
    pid: int
    started: datetime
    expires: datetime
    """When it counts as dead unless its heartbeat comes first."""
    jobs_run: int


def live_controllers(store: Store) -> list[ControllerInfo]:
    """The live controllers of ``store``, oldest first."""
    with txnmod.read(store) as t:
        rows = live(t.connection)
    return [
        ControllerInfo(
            id=r.id,
            kind=r.kind,
            hostname=r.hostname,
            pid=r.pid,
            started=utc(r.started_at),  # type: ignore[arg-type]
            expires=utc(r.expires_at),  # type: ignore[arg-type]
            jobs_run=r.jobs_run,
        )
        for r in rows
    ]
