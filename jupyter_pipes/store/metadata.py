"""Metadata in SQL through SQLAlchemy Core: the one place that talks SQL.

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
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.pool import StaticPool

from . import schema
from .objects import BlobRef
from .records import SchemaStatus

md = sa.MetaData()
CHAIN = schema.Chain("store", "jupyter_pipes.store.migrations", "pipes_store_version", "repos")
"""The store's migration chain."""

repos = sa.Table(
    "repos",
    md,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
)
branches = sa.Table(
    "branches",
    md,
    sa.Column("repo", sa.String(63), sa.ForeignKey("repos.name"), primary_key=True),
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("head", sa.String(32), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
commits = sa.Table(
    "commits",
    md,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("repo", sa.String(63), sa.ForeignKey("repos.name"), nullable=False),
    sa.Column("branch", sa.String(63), nullable=True),
    sa.Column("parent", sa.String(32), nullable=True),
    sa.Column("origin", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("root", sa.Text, nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False, default=0),
    sa.Column("file_count", sa.BigInteger, nullable=False, default=0),
    sa.Column("restores", sa.String(32), nullable=True),
    sa.Column("global_id", sa.String(32), nullable=True),
    sa.Index("ix_commits_repo_finished", "repo", "finished_at"),
    sa.Index("ix_commits_global", "global_id"),
    sa.Index("ix_commits_parent", "parent"),
)
provenance = sa.Table(
    "provenance",
    md,
    sa.Column("commit", sa.String(32), primary_key=True),
    sa.Column("upstream", sa.String(32), primary_key=True),
    sa.Column("upstream_repo", sa.String(63), nullable=False),
    sa.Column("upstream_branch", sa.String(63), nullable=True),
    sa.Index("ix_provenance_upstream", "upstream"),
)
chunks = sa.Table(
    "chunks",
    md,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("pack", sa.String(32), nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sa.Index("ix_chunks_pack", "pack"),
)
packs = sa.Table(
    "packs",
    md,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
info = sa.Table(
    "pipes_info",
    md,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

_BATCH = 500


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


class Metadata:
    """Queries and updates of the metadata tables.

    Opening brings the store's schema to this package's revision (see :mod:`.schema`).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.schema: list[SchemaStatus] = []
        """What opening found and did, per migration chain."""
        self._backup: str | None = None
        try:
            self.ensure_schema(CHAIN)
        except BaseException:
            self.engine.dispose()
            raise

    def ensure_schema(self, chain: schema.Chain) -> SchemaStatus:
        """Bring one migration chain to its head (the pipeline layer calls this for its own)."""
        status = schema.ensure(self.engine, chain, backup=self._backup_sqlite)
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
        """Release the database connections."""
        self.engine.dispose()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite)."""
        with self.engine.connect() as conn:
            conn.execution_options(pipes_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction (a consistent snapshot)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # -- repos and branches --------------------------------------------------------------------

    @staticmethod
    def get_repo(conn: Connection, name: str) -> Row[Any] | None:
        return conn.execute(sa.select(repos).where(repos.c.name == name)).first()

    @staticmethod
    def get_branch(conn: Connection, repo: str, name: str) -> Row[Any] | None:
        return conn.execute(
            sa.select(branches).where(branches.c.repo == repo, branches.c.name == name)
        ).first()

    @staticmethod
    def list_branches(conn: Connection, repo: str | None = None) -> Sequence[Row[Any]]:
        q = sa.select(branches).order_by(branches.c.repo, branches.c.name)
        if repo is not None:
            q = q.where(branches.c.repo == repo)
        return conn.execute(q).all()

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
    def get_commit(conn: Connection, cid: str) -> Row[Any] | None:
        return conn.execute(sa.select(commits).where(commits.c.id == cid)).first()

    @staticmethod
    def find_commits(
        conn: Connection, repo: str, prefix: str, limit: int = 2
    ) -> Sequence[Row[Any]]:
        return conn.execute(
            sa.select(commits)
            .where(commits.c.repo == repo, commits.c.id.startswith(prefix, autoescape=True))
            .limit(limit)
        ).all()

    @staticmethod
    def global_commits(
        conn: Connection, gid: str, repo: str | None = None, *, prefix: bool = False
    ) -> Sequence[Row[Any]]:
        """The commits of a global commit, of one repo or all, oldest first; ``prefix``:
        ``gid`` may be the start of the id."""
        col = commits.c.global_id
        q = sa.select(commits).where(
            col.startswith(gid, autoescape=True) if prefix and len(gid) < 32 else col == gid
        )
        if repo is not None:
            q = q.where(commits.c.repo == repo)
        return conn.execute(q.order_by(commits.c.started_at, commits.c.id)).all()

    @staticmethod
    def change_marker(conn: Connection) -> tuple[Any, ...]:
        """A cheap value that changes when repos or branches are created or deleted (head
        moves are reported to the head hooks)."""
        r = conn.execute(sa.select(sa.func.count(), sa.func.max(repos.c.created_at))).first()
        b = conn.execute(sa.select(sa.func.count(), sa.func.max(branches.c.created_at))).first()
        return (*(r or ()), *(b or ()))

    @staticmethod
    def ancestry(conn: Connection, head: str, limit: int | None, offset: int = 0) -> list[Row[Any]]:
        """Commits from ``head`` following parents (newest first), by a recursive CTE."""
        anc = (
            sa.select(commits.c.id, commits.c.parent, sa.literal(0).label("depth"))
            .where(commits.c.id == head)
            .cte("anc", recursive=True)
        )
        c2 = commits.alias("c2")
        stop = None if limit is None else offset + limit
        step = sa.select(c2.c.id, c2.c.parent, (anc.c.depth + 1).label("depth")).where(
            c2.c.id == anc.c.parent
        )
        if stop is not None:
            step = step.where(anc.c.depth + 1 < stop)
        anc = anc.union_all(step)
        q = (
            sa.select(commits)
            .join(anc, anc.c.id == commits.c.id)
            .order_by(anc.c.depth)
            .offset(offset)
        )
        if limit is not None:
            q = q.limit(limit)
        return list(conn.execute(q).all())

    @staticmethod
    def repo_commits(
        conn: Connection,
        repo: str,
        limit: int | None,
        offset: int = 0,
        state: str | None = "finished",
    ) -> Sequence[Row[Any]]:
        q = (
            sa.select(commits)
            .where(commits.c.repo == repo)
            .order_by(commits.c.started_at.desc(), commits.c.id.desc())
            .offset(offset)
        )
        if state:
            q = q.where(commits.c.state == state)
        if limit is not None:
            q = q.limit(limit)
        return conn.execute(q).all()

    @staticmethod
    def children(conn: Connection, cid: str) -> Sequence[Row[Any]]:
        return conn.execute(sa.select(commits).where(commits.c.parent == cid)).all()

    @staticmethod
    def provenance_of(conn: Connection, ids: Iterable[str]) -> dict[str, list[Row[Any]]]:
        out: dict[str, list[Row[Any]]] = {}
        for batch in _batches(list(ids)):
            for row in conn.execute(
                sa.select(provenance)
                .where(provenance.c.commit.in_(batch))
                .order_by(provenance.c.upstream_repo, provenance.c.upstream)
            ):
                out.setdefault(row.commit, []).append(row)
        return out

    @staticmethod
    def subvenance_of(conn: Connection, cid: str) -> Sequence[Row[Any]]:
        return conn.execute(
            sa.select(commits)
            .join(provenance, provenance.c.commit == commits.c.id)
            .where(provenance.c.upstream == cid)
            .order_by(commits.c.started_at)
        ).all()

    # -- chunk index ---------------------------------------------------------------------------

    def lookup_chunks(self, hashes: list[str]) -> dict[str, BlobRef]:
        """Refs of the blobs already stored, among ``hashes``."""
        out: dict[str, BlobRef] = {}
        with self.read() as conn:
            for batch in _batches(hashes):
                for h, p, o, n in conn.execute(
                    sa.select(chunks.c.hash, chunks.c.pack, chunks.c.offset, chunks.c.length).where(
                        chunks.c.hash.in_(batch)
                    )
                ):
                    out[h] = BlobRef(h, p, o, n)
        return out

    @staticmethod
    def record_blobs(
        conn: Connection, blobs: dict[str, BlobRef], new_packs: dict[str, int]
    ) -> None:
        """Add blobs and packs to the index (hashes already there keep their first location)."""
        now = time.time()
        if new_packs:
            conn.execute(
                _insert_ignore(conn, packs),
                [{"id": p, "size": s, "created_at": now} for p, s in new_packs.items()],
            )
        if blobs:
            conn.execute(
                _insert_ignore(conn, chunks),
                [
                    {"hash": r.hash, "pack": r.pack, "offset": r.offset, "length": r.length}
                    for r in blobs.values()
                ],
            )


def _insert_ignore(conn: Connection, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return sa.insert(table).prefix_with("IGNORE")  # MySQL-style; other engines untested


def _batches(items: list[str], n: int = _BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
