"""Drop ``pipelines.fingerprint`` (#18): written since the first version, never read.

What decides a re-run is each datum's hash (``pipeline/stage.py``), stored with the datum; the
pipeline row's copy of the stage key was unused.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipelines") as batch:  # SQLite: batch mode rebuilds the table
        batch.drop_column("fingerprint")


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
