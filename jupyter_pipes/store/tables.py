"""The store's tables (SQLAlchemy Core definitions; the statements are in ``metadata.py``).

They are made and changed only by the migrations in ``store/migrations`` (see :mod:`.schema`);
these definitions must equal what the migrations build (``tests/test_store_upgrade.py`` compares
them).
"""

from __future__ import annotations

import sqlalchemy as sa

from . import migrations, schema

md = sa.MetaData()
CHAIN = schema.Chain("store", migrations.__name__, migrations.VERSION_TABLE, "repos")
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
    # The dedup index, one row per stored blob, kept compact (migration 0004): the 32 bytes of
    # the BLAKE3 digest and the 16 bytes of the pack id, no secondary index, and on SQLite no
    # rowid (the primary key's b-tree is the table). ``metadata.py`` converts to and from hex.
    sa.Column("hash", sa.LargeBinary(32), primary_key=True),
    sa.Column("pack", sa.LargeBinary(16), nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("length", sa.BigInteger, nullable=False),
    sqlite_with_rowid=False,
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
leases = sa.Table(
    "leases",
    md,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
)
pins = sa.Table(
    "pins",
    md,
    sa.Column("lease", sa.String(40), primary_key=True),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("item", sa.String(64), primary_key=True),
    sa.Column("tree", sa.Text, nullable=True),
    sa.Index("ix_pins_item", "kind", "item"),
)
head_moves = sa.Table(
    "head_moves",
    md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("repo", sa.String(63), nullable=False),
    sa.Column("branch", sa.String(63), nullable=False),
    sa.Column("old", sa.String(32), nullable=True),
    sa.Column("new", sa.String(32), nullable=True),
    sa.Column("cause", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("global_id", sa.String(32), nullable=True),
    sa.Index("ix_head_moves_branch", "repo", "branch", "time"),
)
