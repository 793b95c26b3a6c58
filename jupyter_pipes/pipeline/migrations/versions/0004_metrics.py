"""Metrics (#14): the numbers of each output commit's metric files.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("commit", sa.String(32), primary_key=True),
        sa.Column("file", sa.String(255), primary_key=True),
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("pipeline", sa.String(63), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_index("ix_metrics_pipeline", "metrics", ["pipeline"])


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
