"""Small files may be kept inline in directory nodes (#17): a marker for older code.

Since this revision a file of at most ``objects.INLINE_MAX`` bytes is stored inside its
directory node (a ``[name, bytes]`` row of ``store/nodecodec.py``) instead of as a blob of a
pack with a chunk-index row. Every reader since then reads both kinds of row, so nothing is
rewritten; code older than this revision would take the new rows for damaged nodes. Stepping
the revision makes it refuse the store with the usual "upgrade jupyter_pipes" error
(``SchemaVersionError``) before reading any tree.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change in the tables (see the module docstring)."""


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
