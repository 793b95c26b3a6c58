"""Schema versions of the metadata database, migrated with Alembic.

One database holds several *chains* of migrations, each with its own Alembic version table: the
store's tables (``store/migrations``) and the pipeline layer's (``pipeline/migrations``). The
store knows nothing of the pipeline chain; the pipeline layer calls :func:`ensure` (through
:meth:`Metadata.ensure_schema`) for its own.

Opening a database costs one query per chain when it is already at the chain's head (read from
the migrations package's ``HEAD``; Alembic is not imported on that path). Otherwise, holding the
database's write lock (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), the version is
read again and:

* a database at an older revision is upgraded in that one transaction (SQLite: after a backup
  copy of the database file, made by the caller's ``backup`` callback);
* tables from before versioning (the chain's marker table exists, its version table does not)
  are stamped with the baseline revision ``0001`` and upgraded;
* an empty database gets every migration from the first;
* a database at a *newer* revision than this package knows is refused with
  :class:`~jupyter_pipes.errors.SchemaVersionError` naming both revisions.

Revisions are numbered ``0001``, ``0002``, ... in each chain (see ``docs/migrations.md``).
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import MetadataMissing, SchemaVersionError, StorageError
from .records import SchemaStatus

BASELINE = "0001"
UNVERSIONED = "unversioned"
"""What :class:`SchemaStatus` reports as found for tables made before schema versions."""


@dataclass(frozen=True, slots=True)
class Chain:
    """One migration chain: its migrations package and its version table.

    Parameters
    ----------
    name:
        A short name for messages (``store``, ``pipeline``).
    package:
        Dotted name of the package holding ``env.py``, ``versions/`` and ``HEAD``.
    version_table:
        The Alembic version table of this chain.
    marker:
        A table of the baseline schema: present without a version table means the tables were
        made before versioning (stamped as revision ``0001``).
    """

    name: str
    package: str
    version_table: str
    marker: str

    @property
    def head(self) -> str:
        """The newest revision this package knows (the migrations package's ``HEAD``)."""
        return str(importlib.import_module(self.package).HEAD)

    @property
    def location(self) -> str:
        """The folder of the migrations package (Alembic's ``script_location``)."""
        mod = importlib.import_module(self.package)
        assert mod.__file__ is not None
        return str(Path(mod.__file__).parent)


Backup = Callable[[Connection], str | None]


def current(engine: Engine, chain: Chain) -> str | None:
    """The chain's revision recorded in the database, or ``None`` without a version table
    (one query)."""
    try:
        with engine.connect() as conn:
            row = conn.exec_driver_sql(f"SELECT version_num FROM {chain.version_table}").first()
    except sa.exc.DBAPIError as exc:
        if _missing_table(exc):
            return None
        raise
    return None if row is None else str(row[0])


REBUILD_HINT = (
    "if the store's objects are intact, `jupyter pipes fsck --rebuild-metadata` rebuilds it "
    "from them"
)


def damaged(exc: BaseException) -> bool:
    """Whether a database error says the database file is damaged (SQLite)."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return "malformed" in text or "not a database" in text or "disk image" in text


def ensure(
    engine: Engine,
    chain: Chain,
    backup: Backup | None = None,
    on_fresh: Callable[[], None] | None = None,
) -> SchemaStatus:
    """Bring the chain to its head (see the module docstring); what was found and done.

    ``on_fresh`` is called before creating the chain's tables in an empty database; it may
    refuse by raising (the store does when objects exist: a lost database is not a new store).

    Raises
    ------
    SchemaVersionError
        The database was written by a newer jupyter_pipes (or has an unknown revision).
    StorageError
        The database cannot be read or migrated.
    """
    head = chain.head
    try:
        found = current(engine, chain)
        if found == head:
            return SchemaStatus(chain.name, head, head, None)
        if found is not None:
            _check_known(chain, found, head)
        return _migrate(engine, chain, head, backup, on_fresh)
    except sa.exc.SQLAlchemyError as exc:
        orig = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        hint = f"; it is damaged: {REBUILD_HINT}" if damaged(exc) else ""
        raise (MetadataMissing if hint else StorageError)(
            f"cannot open the metadata database ({chain.name} schema): {orig}{hint}",
            schema=chain.name,
            damaged=bool(hint),
        ) from exc


def _check_known(chain: Chain, found: str, head: str) -> None:
    if not (found.isdigit() and head.isdigit()):
        raise SchemaVersionError(
            f"the metadata database has {chain.name} schema revision {found!r}, unknown to this "
            f"jupyter_pipes (which has {head})",
            schema=chain.name,
            found=found,
            supported=head,
        )
    if int(found) > int(head):
        raise SchemaVersionError(
            f"the metadata database has {chain.name} schema revision {found}, newer than this "
            f"jupyter_pipes supports ({head}): upgrade jupyter_pipes to open this store",
            schema=chain.name,
            found=found,
            supported=head,
        )


def _migrate(
    engine: Engine,
    chain: Chain,
    head: str,
    backup: Backup | None,
    on_fresh: Callable[[], None] | None,
) -> SchemaStatus:
    """Upgrade under the database's write lock, re-reading the version first (another process
    may have done it meanwhile)."""
    with engine.connect() as conn:
        conn.execution_options(pipes_write=True)  # BEGIN IMMEDIATE on SQLite
        with conn.begin():
            if conn.dialect.name == "postgresql":
                key = zlib.crc32(f"jupyter_pipes:{chain.version_table}".encode())
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            insp = sa.inspect(conn)
            stamp = False
            found: str | None = None
            if insp.has_table(chain.version_table):
                row = conn.exec_driver_sql(f"SELECT version_num FROM {chain.version_table}").first()
                found = None if row is None else str(row[0])
            elif insp.has_table(chain.marker):
                stamp = True
            if found == head:
                return SchemaStatus(chain.name, head, head, None)
            if found is not None:
                _check_known(chain, found, head)
            existing = found is not None or stamp
            if not existing and on_fresh is not None:
                on_fresh()
            saved = backup(conn) if (backup is not None and existing) else None
            _run_alembic(conn, chain, head, stamp=stamp)
    return SchemaStatus(chain.name, head, UNVERSIONED if stamp else found, saved)


def _run_alembic(conn: Connection, chain: Chain, head: str, *, stamp: bool) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", chain.location)
    cfg.attributes["connection"] = conn
    cfg.attributes["version_table"] = chain.version_table
    if stamp:
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, head)


def run_env() -> None:
    """The body of each chain's ``env.py``: migrate on the connection the caller handed over,
    inside its transaction."""
    from alembic import context

    conn = context.config.attributes["connection"]
    context.configure(
        connection=conn,
        version_table=context.config.attributes["version_table"],
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _missing_table(exc: sa.exc.DBAPIError) -> bool:
    orig: Any = exc.orig
    if getattr(orig, "sqlstate", None) == "42P01":  # PostgreSQL undefined_table
        return True
    return "no such table" in str(orig)
