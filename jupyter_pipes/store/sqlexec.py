"""Two SQLAlchemy helpers shared by the metadata modules: running the read queries'
SQL text (:mod:`.readsql`) on a connection, and an insert that skips existing rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from .readsql import Run

__all__ = ["insert_ignore", "runner"]


def runner(conn: Connection) -> Run:
    """The :data:`~.readsql.Run` of a SQLAlchemy connection (the shared read queries' text)."""

    def run(sql: str, params: dict[str, Any]) -> Sequence[Row[Any]]:
        return conn.execute(sa.text(sql), params).all()

    return run


def insert_ignore(conn: Connection, table: sa.Table) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's dialect."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    return sa.insert(table).prefix_with("IGNORE")  # MySQL-style; other engines untested
