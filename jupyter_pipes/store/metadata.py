"""Metadata in SQL through SQLAlchemy Core: with :mod:`.readsql` (the read queries, as portable
SQL text that these methods run, and that the CLI's fast path runs through ``sqlite3``), the
one place that talks SQL.

Tables: repos, branches, commits, provenance, chunks (the dedup index: blob hash -> pack,
offset, length) and packs. They are made and changed only by the migrations in
``store/migrations`` (see :mod:`.schema`); the definitions here must equal what they build (a
test compares them). The default database is a SQLite file in the store folder, in WAL
mode, with every write transaction started ``BEGIN IMMEDIATE`` so concurrent writers queue
instead of failing. The same statements run on PostgreSQL: only the URL changes.

Branch heads move only by compare-and-swap (:meth:`Metadata.move_branch`), inside the
transaction that makes a commit visible.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import StaticPool

from ..errors import Conflict, PipesError, StorageError
from . import schema
from .bloblog import BlobLog
from .leases import LeaseKeeper
from .metadata_leases import LeaseQueries
from .objects import BlobRef
from .readsql import Reads
from .records import (
    BranchRow,
    CommitInfo,
    CommitRef,
    CommitRow,
    LinkRow,
    ProvenanceRow,
    RepoRow,
    RootRow,
    SchemaStatus,
)
from .sqlexec import insert_ignore as _insert_ignore
from .sqlexec import runner as _run
from .tables import (
    CHAIN,
    branches,
    chunks,
    commits,
    head_moves,
    info,
    leases,
    md,
    packs,
    pins,
    provenance,
    repos,
)

_BATCH = 500
_INSERT_SLICE = 5000


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and immediate write transactions."""
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 60},
        poolclass=StaticPool if memory else None,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("pipes_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Metadata(LeaseQueries):
    """Queries and updates of the metadata tables.

    Opening brings the store's schema to this package's revision (see :mod:`.schema`).
    """

    leases = leases
    pins = pins
    packs = packs
    chunks = chunks
    commits = commits
    head_moves = head_moves

    def __init__(self, url: str, *, on_fresh: Callable[[], None] | None = None) -> None:
        self.url = url
        self._on_fresh = on_fresh
        self.engine = make_engine(url)
        # An in-memory SQLite database is one connection (StaticPool) shared by every thread:
        # transactions of two threads (a writer and the lease heartbeat) must not interleave.
        self._serial: contextlib.AbstractContextManager[Any] = (
            threading.RLock()
            if url in ("sqlite://", "sqlite:///:memory:")
            else contextlib.nullcontext()
        )
        self.keeper = LeaseKeeper(self)
        """Renews this process's leases (open commits, gc)."""
        self.schema: list[SchemaStatus] = []
        """What opening found and did, per migration chain."""
        self._backup: str | None = None
        self.before_write: Callable[[], None] | None = None
        """Called before every write transaction begins (the store loads its layers' hooks)."""
        try:
            self.ensure_schema(CHAIN)
        except BaseException:
            self.engine.dispose()
            raise

    def ensure_schema(self, chain: schema.Chain) -> SchemaStatus:
        """Bring one migration chain to its head (the pipeline layer calls this for its own);
        once per chain: a second call returns what the first found and did."""
        for done in self.schema:
            if done.chain == chain.name:
                return done
        on_fresh = self._on_fresh if chain is CHAIN else None
        status = schema.ensure(self.engine, chain, backup=self._backup_sqlite, on_fresh=on_fresh)
        self.schema.append(status)
        return status

    def _backup_sqlite(self, conn: Connection) -> str | None:
        """Copy a SQLite database file next to it before its first migration in this process
        (``conn`` holds the write lock, so the copy is exactly what gets migrated)."""
        path = self.engine.url.database
        if conn.dialect.name != "sqlite" or not path or path == ":memory:":
            return None
        if self._backup is None:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            dest = f"{path}.backup-{stamp}"
            n = 1
            while os.path.exists(dest):
                n += 1
                dest = f"{path}.backup-{stamp}-{n}"
            src = sqlite3.connect(path)
            try:
                out = sqlite3.connect(dest)
                try:
                    src.backup(out)
                finally:
                    out.close()
            finally:
                src.close()
            self._backup = os.path.basename(dest)
        return self._backup

    def close(self) -> None:
        """Stop renewing leases and release the database connections."""
        self.keeper.close()
        self.engine.dispose()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite). Database failures surface as
        :class:`StorageError` (or :class:`Conflict` for a constraint clash)."""
        if self.before_write is not None:
            self.before_write()
        try:
            with self._serial, self.engine.connect() as conn:
                conn.execution_options(pipes_write=True)
                with conn.begin():
                    yield conn
        except sa.exc.DBAPIError as exc:
            raise database_error(exc) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot)."""
        try:
            with self._serial, self.engine.connect() as conn, conn.begin():
                yield conn
        except sa.exc.DBAPIError as exc:
            raise database_error(exc) from exc

    def integrity_problems(self) -> list[str]:
        """The database's own check: SQLite ``PRAGMA integrity_check``; PostgreSQL has no
        equivalent built in, so every store table is read in full (page checks on read, and
        data checksums if the cluster has them). Empty when healthy."""
        try:
            with self._serial, self.engine.connect() as conn, conn.begin():
                if conn.dialect.name == "sqlite":
                    rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check")]
                    return [] if rows == ["ok"] else rows
                if conn.dialect.name == "postgresql":
                    for opt in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
                        conn.exec_driver_sql(f"SET LOCAL {opt} = off")
                for table in md.sorted_tables:
                    conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
                return []
        except sa.exc.DBAPIError as exc:
            return [_message(exc)]

    @staticmethod
    def reads(conn: Connection) -> Reads:
        """The shared read queries and rules (:mod:`.readsql`) in ``conn``'s transaction."""
        return Reads(_run(conn))

    # -- repos and branches --------------------------------------------------------------------

    @staticmethod
    def get_repo(conn: Connection, name: str) -> RepoRow | None:
        return Reads(_run(conn)).get_repo(name)

    @staticmethod
    def repo_names(conn: Connection) -> list[str]:
        """Every repo's name, sorted."""
        return list(conn.scalars(sa.select(repos.c.name).order_by(repos.c.name)).all())

    @staticmethod
    def all_repos(conn: Connection) -> list[RepoRow]:
        """Every repo's row, by name."""
        return Reads(_run(conn)).all_repos()

    @staticmethod
    def insert_repo(conn: Connection, name: str, description: str, now: float) -> None:
        """A new repo with an empty ``master`` branch."""
        conn.execute(sa.insert(repos).values(name=name, description=description, created_at=now))
        conn.execute(
            sa.insert(branches).values(repo=name, name="master", head=None, created_at=now)
        )

    @staticmethod
    def repo_downstream(conn: Connection, name: str) -> list[str]:
        """Other repos with commits whose provenance names a commit of ``name``."""
        return sorted(
            conn.execute(
                sa.select(commits.c.repo)
                .distinct()
                .join(provenance, provenance.c.commit == commits.c.id)
                .where(provenance.c.upstream_repo == name, commits.c.repo != name)
            )
            .scalars()
            .all()
        )

    @staticmethod
    def delete_repo(conn: Connection, name: str) -> None:
        """A repo's rows: its commits' provenance, its branches, commits and the repo."""
        ids = sa.select(commits.c.id).where(commits.c.repo == name)
        conn.execute(sa.delete(provenance).where(provenance.c.commit.in_(ids)))
        conn.execute(sa.delete(branches).where(branches.c.repo == name))
        conn.execute(sa.delete(commits).where(commits.c.repo == name))
        conn.execute(sa.delete(repos).where(repos.c.name == name))

    @staticmethod
    def insert_branch(conn: Connection, repo: str, name: str, head: str | None, now: float) -> None:
        conn.execute(sa.insert(branches).values(repo=repo, name=name, head=head, created_at=now))

    @staticmethod
    def delete_branch(conn: Connection, repo: str, name: str) -> bool:
        """Remove a branch pointer; False if there was none."""
        res = conn.execute(
            sa.delete(branches).where(branches.c.repo == repo, branches.c.name == name)
        )
        return bool(res.rowcount)

    @staticmethod
    def branches_at(conn: Connection, cid: str) -> list[BranchRow]:
        """The branches whose head is ``cid``."""
        return _all(BranchRow, conn.execute(sa.select(branches).where(branches.c.head == cid)))

    @staticmethod
    def get_branch(conn: Connection, repo: str, name: str) -> BranchRow | None:
        return Reads(_run(conn)).get_branch(repo, name)

    @staticmethod
    def list_branches(conn: Connection, repo: str | None = None) -> list[BranchRow]:
        return Reads(_run(conn)).list_branches(repo)

    @staticmethod
    def move_branch(
        conn: Connection, repo: str, name: str, old: str | None, new: str | None
    ) -> bool:
        """Compare-and-swap a branch head; True when it moved (False: someone else moved it)."""
        cond = branches.c.head.is_(None) if old is None else branches.c.head == old
        res = conn.execute(
            sa.update(branches)
            .where(branches.c.repo == repo, branches.c.name == name, cond)
            .values(head=new)
        )
        return res.rowcount == 1

    # -- commits -------------------------------------------------------------------------------

    @staticmethod
    def get_commit(conn: Connection, cid: str) -> CommitRow | None:
        return Reads(_run(conn)).get_commit(cid)

    @staticmethod
    def ancestor(conn: Connection, cid: str, n: int) -> tuple[CommitRow | None, int]:
        """The ``n``-th first-parent ancestor of commit ``cid``, in one query (a recursive CTE):
        ``(row, n)``, or ``(None, k)`` when only ``k < n`` ancestors exist."""
        return Reads(_run(conn)).ancestor(cid, n)

    @staticmethod
    def find_commits(conn: Connection, repo: str, prefix: str, limit: int = 2) -> list[CommitRow]:
        return Reads(_run(conn)).find_commits(repo, prefix, limit)

    @staticmethod
    def global_commits(
        conn: Connection, gid: str, repo: str | None = None, *, prefix: bool = False
    ) -> list[CommitRow]:
        """The commits of a global commit, of one repo or all, oldest first; ``prefix``:
        ``gid`` may be the start of the id."""
        return Reads(_run(conn)).global_commits(gid, repo, prefix=prefix)

    @staticmethod
    def commit_sizes(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
        """The size of each of these commits (one query per 500)."""
        return Reads(_run(conn)).commit_sizes(ids)

    @staticmethod
    def change_marker(conn: Connection) -> tuple[Any, ...]:
        """A cheap value that changes when repos or branches are created or deleted (head
        moves are reported to the head hooks)."""
        r = conn.execute(sa.select(sa.func.count(), sa.func.max(repos.c.created_at))).first()
        b = conn.execute(sa.select(sa.func.count(), sa.func.max(branches.c.created_at))).first()
        return (*(r or ()), *(b or ()))

    @staticmethod
    def ancestry(
        conn: Connection, head: str, limit: int | None, offset: int = 0
    ) -> list[CommitRow]:
        """Commits from ``head`` following parents (newest first), by a recursive CTE."""
        return Reads(_run(conn)).ancestry(head, limit, offset)

    @staticmethod
    def repo_commits(
        conn: Connection,
        repo: str,
        limit: int | None,
        offset: int = 0,
        state: str | None = "finished",
    ) -> list[CommitRow]:
        return Reads(_run(conn)).repo_commits(repo, limit, offset, state)

    @staticmethod
    def children(conn: Connection, cid: str) -> list[CommitRow]:
        return _all(CommitRow, conn.execute(sa.select(commits).where(commits.c.parent == cid)))

    @staticmethod
    def insert_open_commit(
        conn: Connection,
        cid: str,
        repo: str,
        branch: str,
        parent: str | None,
        origin: str,
        message: str,
        restores: str | None,
        now: float,
        global_id: str | None = None,
    ) -> None:
        """The row of a commit being written (state ``open``); its global id is its own
        unless given."""
        conn.execute(
            sa.insert(commits).values(
                id=cid,
                repo=repo,
                branch=branch,
                parent=parent,
                origin=origin,
                message=message,
                state="open",
                started_at=now,
                size=0,
                file_count=0,
                restores=restores,
                global_id=global_id or cid,
            )
        )

    @staticmethod
    def finish_commit(
        conn: Connection, cid: str, parent: str | None, root: str, size: int, count: int
    ) -> bool:
        """Mark an open commit finished with its root tree; False if it is not open any more."""
        res = conn.execute(
            sa.update(commits)
            .where(commits.c.id == cid, commits.c.state == "open")
            .values(
                state="finished",
                parent=parent,
                finished_at=time.time(),
                root=root,
                size=size,
                file_count=count,
            )
        )
        return res.rowcount == 1

    @staticmethod
    def insert_provenance(conn: Connection, cid: str, refs: Iterable[CommitRef]) -> None:
        rows = [
            {"commit": cid, "upstream": p.id, "upstream_repo": p.repo, "upstream_branch": p.branch}
            for p in dict.fromkeys(refs)
        ]
        if rows:
            conn.execute(sa.insert(provenance), rows)

    @staticmethod
    def delete_open_commit(conn: Connection, cid: str) -> None:
        conn.execute(sa.delete(commits).where(commits.c.id == cid, commits.c.state == "open"))

    @staticmethod
    def delete_commit(conn: Connection, cid: str) -> None:
        """A commit's row and its provenance (children are the caller's business)."""
        conn.execute(sa.delete(provenance).where(provenance.c.commit == cid))
        conn.execute(sa.delete(commits).where(commits.c.id == cid))

    @staticmethod
    def reparent_children(conn: Connection, cid: str, parent: str | None) -> None:
        """Point the children of ``cid`` at ``parent`` (squashing ``cid`` out of history)."""
        conn.execute(sa.update(commits).where(commits.c.parent == cid).values(parent=parent))

    def commit_infos(self, conn: Connection, rows: Sequence[CommitRow]) -> list[CommitInfo]:
        """Records of commit rows, with their provenance (one query for all)."""
        return Reads(_run(conn)).commit_infos(rows)

    @staticmethod
    def provenance_of(conn: Connection, ids: Iterable[str]) -> dict[str, list[ProvenanceRow]]:
        return Reads(_run(conn)).provenance_of(ids)

    @staticmethod
    def subvenance_of(conn: Connection, cid: str) -> list[CommitRow]:
        return Reads(_run(conn)).subvenance_of(cid)

    # -- chunk index ---------------------------------------------------------------------------

    def lookup_chunks(self, hashes: list[str]) -> dict[str, BlobRef]:
        """Refs of the blobs already stored, among ``hashes``."""
        out: dict[str, BlobRef] = {}
        with self.read() as conn:
            for batch in _batches(hashes):
                for h, p, o, n in conn.execute(
                    sa.select(chunks.c.hash, chunks.c.pack, chunks.c.offset, chunks.c.length).where(
                        chunks.c.hash.in_([bytes.fromhex(x) for x in batch])
                    )
                ):
                    key = bytes(h).hex()
                    out[key] = BlobRef(key, bytes(p).hex(), o, n)
        return out

    @staticmethod
    def record_blobs(
        conn: Connection, blobs: dict[str, BlobRef] | BlobLog, new_packs: dict[str, int]
    ) -> None:
        """Add blobs and packs to the index (hashes already there keep their first location;
        ``blobs`` is read once, in slices)."""
        now = time.time()
        if new_packs:
            conn.execute(
                _insert_ignore(conn, packs),
                [{"id": p, "size": s, "created_at": now} for p, s in new_packs.items()],
            )
        # In slices: SQLAlchemy processes every row's binary parameters before executing, so
        # one statement for 300,000 blobs held about 230 MiB more than the blobs themselves.
        refs = iter(blobs.values())
        stmt = _insert_ignore(conn, chunks)
        while part := list(itertools.islice(refs, _INSERT_SLICE)):
            conn.execute(
                stmt,
                [
                    {
                        "hash": bytes.fromhex(r.hash),
                        "pack": bytes.fromhex(r.pack),
                        "offset": r.offset,
                        "length": r.length,
                    }
                    for r in part
                ],
            )

    @staticmethod
    def forget_chunks_of(conn: Connection, pack_ids: Sequence[str]) -> int:
        """Delete the chunk-index rows of some packs (one scan of the index: it has no index by
        pack, see migration 0004); how many went."""
        if not pack_ids:
            return 0
        keys = [bytes.fromhex(p) for p in pack_ids]
        return conn.execute(sa.delete(chunks).where(chunks.c.pack.in_(keys))).rowcount or 0

    # -- whole tables (the journal's snapshot, rebuilding) ---------------------------------------

    @staticmethod
    def all_rows(conn: Connection, table: str) -> Sequence[Row[Any]]:
        """Every row of one store table."""
        return conn.execute(sa.select(md.tables[table])).all()

    @staticmethod
    def load_rows(conn: Connection, table: str, rows: Iterable[dict[str, Any]]) -> int:
        """Insert rows (keys that are not columns of the table are dropped); how many."""
        t = md.tables[table]
        names = set(t.c.keys())
        if "id" in names and isinstance(t.c.id.type, sa.Integer):
            names.discard("id")  # autoincrement keys are given anew
        batch = [{k: v for k, v in r.items() if k in names} for r in rows]
        for i in range(0, len(batch), _BATCH):
            conn.execute(sa.insert(t), batch[i : i + _BATCH])
        return len(batch)

    def get_info(self, key: str) -> str | None:
        """A value of the ``pipes_info`` table (store-wide facts)."""
        with self.read() as conn:
            return conn.execute(sa.select(info.c.value).where(info.c.key == key)).scalar()

    def set_info(self, key: str, value: str) -> None:
        with self.write() as conn:
            conn.execute(sa.delete(info).where(info.c.key == key))
            conn.execute(sa.insert(info).values(key=key, value=value))

    def is_empty(self) -> bool:
        """True when the store has no repo at all."""
        with self.read() as conn:
            return conn.execute(sa.select(repos.c.name).limit(1)).first() is None

    # -- fsck and gc ---------------------------------------------------------------------------

    @staticmethod
    def commit_links(conn: Connection) -> dict[str, LinkRow]:
        """id -> (id, parent, state, repo) of every commit."""
        q = sa.select(commits.c.id, commits.c.parent, commits.c.state, commits.c.repo)
        return {r[0]: LinkRow(*r) for r in conn.execute(q)}

    @staticmethod
    def finished_roots(conn: Connection) -> list[RootRow]:
        """(id, root) of every finished commit."""
        q = sa.select(commits.c.id, commits.c.root).where(commits.c.state == "finished")
        return [RootRow(i, r) for i, r in conn.execute(q)]

    @staticmethod
    def all_provenance(conn: Connection) -> list[ProvenanceRow]:
        return _all(ProvenanceRow, conn.execute(sa.select(provenance)))

    @staticmethod
    def delete_stale_open_commits(conn: Connection, cutoff: float) -> int:
        """Remove open commits started before ``cutoff``; how many."""
        stale = (
            conn.execute(
                sa.select(commits.c.id).where(
                    commits.c.state == "open", commits.c.started_at < cutoff
                )
            )
            .scalars()
            .all()
        )
        if stale:
            conn.execute(sa.delete(commits).where(commits.c.id.in_(stale)))
        return len(stale)

    @staticmethod
    def indexed_packs(conn: Connection) -> list[str]:
        """Every pack the chunk index knows."""
        return list(conn.execute(sa.select(packs.c.id)).scalars())

    @staticmethod
    def forget_pack(conn: Connection, pack: str) -> int:
        """Drop a pack and its chunk-index rows from the index; how many chunk rows went."""
        n = Metadata.forget_chunks_of(conn, [pack])
        conn.execute(sa.delete(packs).where(packs.c.id == pack))
        return n


def _message(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)


def database_error(exc: sa.exc.DBAPIError) -> PipesError:
    """The project's error for a failure of the metadata database."""
    if isinstance(exc, sa.exc.IntegrityError):
        return Conflict(
            f"the metadata changed concurrently ({_message(exc)}); try again", retry=True
        )
    if schema.damaged(exc):
        return StorageError(
            f"the metadata database is damaged ({_message(exc)}); {schema.REBUILD_HINT}",
            damaged=True,
        )
    return StorageError(f"the metadata database failed: {_message(exc)}")


_R = TypeVar("_R", RepoRow, BranchRow, CommitRow, ProvenanceRow)


def _one(kind: type[_R], row: Row[Any] | None) -> _R | None:
    """A row of ``select(table)`` as its typed record (``None`` stays ``None``)."""
    return None if row is None else kind._make(row)


def _all(kind: type[_R], rows: Iterable[Row[Any]]) -> list[_R]:
    """Every row of ``select(table)`` as its typed record."""
    make = kind._make
    return [make(r) for r in rows]


def _batches(items: list[str], n: int = _BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
