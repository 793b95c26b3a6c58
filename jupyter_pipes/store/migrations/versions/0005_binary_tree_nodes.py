"""Directory nodes may be binary (#17): no table changes, a marker for older code.

Since this revision directory nodes are written in the compact binary format of
``store/nodecodec.py`` (format byte ``0x03`` + msgpack) instead of JSON. Every reader since
then reads both, so nothing is rewritten; but code older than this revision would take the
new nodes for damaged ones ("run fsck") instead of saying that the store is newer than it.
Stepping the revision makes it refuse the store with the usual "upgrade jupyter_pipes"
error (``SchemaVersionError``) before reading any tree.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change in the tables (see the module docstring)."""


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
