"""Leases and pins (gc never deletes what a live commit uses) and the branch timeline.

* ``leases``: a writer (an open commit, a gc run, a pipeline worker) holds a lease it renews by
  heartbeat; gc collects the open commits of expired leases, never those of live ones.
* ``pins``: packs and trees a lease relies on (its own new packs, packs it reuses by dedup,
  trees it copies); gc keeps everything pinned.
* ``head_moves``: every move of every branch head (time, old, new, cause, actor, global id).
  Back-filled from the commits already there: one move per finished commit at its finish time
  (cause from its origin, actor ``unknown``), and one ``backfill`` move for a branch whose head is
  not the last of those (a branch created or moved onto an existing commit).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_table(
        "pins",
        sa.Column("lease", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("item", sa.String(64), primary_key=True),
        sa.Column("tree", sa.Text, nullable=True),
    )
    op.create_index("ix_pins_item", "pins", ["kind", "item"])
    op.create_table(
        "head_moves",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.Float, nullable=False),
        sa.Column("repo", sa.String(63), nullable=False),
        sa.Column("branch", sa.String(63), nullable=False),
        sa.Column("old", sa.String(32), nullable=True),
        sa.Column("new", sa.String(32), nullable=True),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("global_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_head_moves_branch", "head_moves", ["repo", "branch", "time"])
    op.execute(
        """
        INSERT INTO head_moves (time, repo, branch, old, new, cause, actor)
        SELECT finished_at, repo, branch, parent, id,
               CASE origin WHEN 'auto' THEN 'pipeline' WHEN 'revert' THEN 'revert'
                           ELSE 'commit' END,
               'unknown'
        FROM commits
        WHERE state = 'finished' AND branch IS NOT NULL AND finished_at IS NOT NULL
        ORDER BY finished_at, id
        """
    )
    op.execute(
        """
        INSERT INTO head_moves (time, repo, branch, old, new, cause, actor)
        SELECT CASE WHEN x.last > x.t THEN x.last ELSE x.t END,
               x.repo, x.name, NULL, x.head, 'backfill', 'unknown'
        FROM (
            SELECT b.repo, b.name, b.head,
                   CASE WHEN c.finished_at > b.created_at THEN c.finished_at
                        ELSE b.created_at END AS t,
                   COALESCE((SELECT max(m.time) FROM head_moves m
                             WHERE m.repo = b.repo AND m.branch = b.name), 0) AS last,
                   (SELECT m.new FROM head_moves m
                    WHERE m.repo = b.repo AND m.branch = b.name
                    ORDER BY m.time DESC, m.id DESC LIMIT 1) AS last_new
            FROM branches b JOIN commits c ON c.id = b.head
        ) x
        WHERE x.last_new IS NULL OR x.last_new <> x.head
        """
    )


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
