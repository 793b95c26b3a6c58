"""Baseline: the store's tables as made by jupyter_pipes before schema versions (commit dc2dfd8).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repos",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "branches",
        sa.Column("repo", sa.String(63), sa.ForeignKey("repos.name"), primary_key=True),
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("head", sa.String(32), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "commits",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("repo", sa.String(63), sa.ForeignKey("repos.name"), nullable=False),
        sa.Column("branch", sa.String(63), nullable=True),
        sa.Column("parent", sa.String(32), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("root", sa.Text, nullable=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_count", sa.BigInteger, nullable=False),
        sa.Column("restores", sa.String(32), nullable=True),
    )
    op.create_index("ix_commits_repo_finished", "commits", ["repo", "finished_at"])
    op.create_index("ix_commits_parent", "commits", ["parent"])
    op.create_table(
        "provenance",
        sa.Column("commit", sa.String(32), primary_key=True),
        sa.Column("upstream", sa.String(32), primary_key=True),
        sa.Column("upstream_repo", sa.String(63), nullable=False),
        sa.Column("upstream_branch", sa.String(63), nullable=True),
    )
    op.create_index("ix_provenance_upstream", "provenance", ["upstream"])
    op.create_table(
        "chunks",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("pack", sa.String(32), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_chunks_pack", "chunks", ["pack"])
    op.create_table(
        "packs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "pipes_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
