"""Controllers (#12): the live controllers of a store, so a commit knows whether one runs.

One row per controller process (the server's, ``jupyter pipes controller``, or the background
controller started on demand, whose row has the fixed id ``background``: one per store), with
a heartbeat expiry. See docs/controller.md.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "controllers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("jobs_run", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("controllers")
