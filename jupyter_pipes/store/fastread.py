"""Read-only metadata through the standard library's ``sqlite3``: the CLI's fast path (#17).

``jupyter pipes list repo``, ``inspect repo``, ``list commit`` and ``inspect commit`` on the
default embedded store (a local folder with its ``metadata.sqlite``) need a few indexed reads;
importing SQLAlchemy to make them costs several times more than the reads. :func:`open_reader`
opens the database with ``sqlite3`` and runs the *same* statements and rules as the normal path
(:mod:`.readsql`), so the records, and what the CLI prints from them, are the same.

It refuses (returns ``None``; the caller uses the normal path) whenever it cannot be sure the
normal path would only read: a database named explicitly (``--db`` or ``$JUPYTER_PIPES_DB``,
PostgreSQL included), a store that is not a local folder, a missing or empty database (the normal
path creates it, or refuses a lost one), a rollback journal left by a crash (SQLite recovers it
on the first write), a database not in WAL mode, or a migration chain whose recorded revision is
not the one this package knows (the normal path migrates, or refuses a newer one). A
``sqlite3`` error during a read raises :class:`Unsure`; the caller then asks the normal path.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from .backend import local_root
from .readsql import Reads
from .records import CommitInfo, RepoInfo
from .refs import parse_ref
from .where import ENV_DB, default_store_url, local_sqlite_path

T = TypeVar("T")

ENV_FAST = "JUPYTER_PIPES_CLI_FAST"
"""Set to ``0`` to turn the fast path off (every command opens the store the normal way)."""


class Unsure(Exception):
    """The fast path could not read; the normal path must answer instead."""


def open_reader(
    store: str | None, db: str | None, chains: Sequence[tuple[str, str]]
) -> SqliteReader | None:
    """A reader of the store's metadata without SQLAlchemy, or ``None`` when the normal path
    must open the store (see the module docstring).

    Parameters
    ----------
    store, db:
        The store and database as the CLI was given them (``None``: the defaults).
    chains:
        ``(version table, head revision)`` of every migration chain the normal path would
        bring up to date on opening.
    """
    if os.environ.get(ENV_FAST, "1") == "0" or db or os.environ.get(ENV_DB):
        return None
    root = local_root(os.fspath(store) if store is not None else default_store_url())
    if root is None:
        return None
    path = local_sqlite_path(root.rstrip("/"))
    try:
        if not os.path.isfile(path) or os.path.getsize(path) == 0:
            return None
        if os.path.exists(f"{path}-journal"):
            return None
        conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error):
        return None
    try:
        conn.execute("PRAGMA busy_timeout=60000")
        if conn.execute("PRAGMA journal_mode").fetchone() != ("wal",):
            raise Unsure("not in WAL mode")
        for table, head in chains:
            if conn.execute(f'SELECT version_num FROM "{table}"').fetchall() != [(head,)]:
                raise Unsure(f"{table} is not at {head}")
    except (sqlite3.Error, Unsure):
        conn.close()
        return None
    return SqliteReader(conn)


class SqliteReader:
    """The read-only Client methods the CLI's fast commands use, over one ``sqlite3``
    connection; each call is one read transaction, as on the normal path."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @contextlib.contextmanager
    def _reads(self) -> Iterator[Reads]:
        conn = self._conn

        def run(sql: str, params: dict[str, Any]) -> list[Any]:
            return conn.execute(sql, params).fetchall()

        try:
            conn.execute("BEGIN")
            try:
                yield Reads(run)
            finally:
                conn.execute("ROLLBACK")  # it only read
        except sqlite3.Error as exc:
            raise Unsure(str(exc)) from exc

    def _call(self, fn: Callable[[Reads], T]) -> T:
        with self._reads() as reads:
            return fn(reads)

    def list_repo(self) -> list[RepoInfo]:
        """As :meth:`jupyter_pipes.Client.list_repo`."""
        return self._call(lambda r: r.list_repo())

    def inspect_repo(self, name: str) -> RepoInfo:
        """As :meth:`jupyter_pipes.Client.inspect_repo`."""
        return self._call(lambda r: r.inspect_repo(name))

    def list_commit(
        self, ref: str, *, limit: int | None = None, offset: int = 0
    ) -> list[CommitInfo]:
        """As :meth:`jupyter_pipes.Client.list_commit`."""
        parsed = parse_ref(ref)
        return self._call(lambda r: r.list_commit(parsed, limit, offset))

    def inspect_commit(self, ref: str) -> CommitInfo:
        """As :meth:`jupyter_pipes.Client.inspect_commit`."""
        parsed = parse_ref(ref)
        return self._call(lambda r: r.inspect_commit(parsed))

    def list_subvenance(self, ref: str) -> list[CommitInfo]:
        """As :meth:`jupyter_pipes.Client.list_subvenance`."""
        parsed = parse_ref(ref)
        return self._call(lambda r: r.list_subvenance(parsed))
