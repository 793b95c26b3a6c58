"""Global commits: ``commits.global_id`` (Pachyderm's commit sets), indexed.

A commit made before global commits existed is its own global commit (``global_id = id``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("commits", sa.Column("global_id", sa.String(32), nullable=True))
    op.execute("UPDATE commits SET global_id = id")
    op.create_index("ix_commits_global", "commits", ["global_id"])


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
