"""A compact chunk index (#17): blob hashes and pack ids as bytes, one row per blob and no more.

Before: ``chunks(hash VARCHAR(64) PRIMARY KEY, pack VARCHAR(32), offset, length)`` with an index
on ``pack`` — on SQLite a rowid table plus two indexes, three copies of the hex hash and two of
the hex pack id, about 265 bytes per stored file. After: ``hash`` is the 32 bytes of the BLAKE3
digest, ``pack`` the 16 bytes of the pack id, the table has no index but its primary key, and on
SQLite it is a ``WITHOUT ROWID`` table (the primary key's b-tree holds the row). Rows are
converted in batches (hex text to bytes), the old table is dropped and the new one renamed.

gc, the only reader by pack, deletes a batch of packs' rows with one scan of the table.

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

_BATCH = 5000


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "chunks_v4",
        sa.Column("hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("pack", sa.LargeBinary(16), nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("length", sa.BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )
    old = sa.table(
        "chunks", sa.column("hash"), sa.column("pack"), sa.column("offset"), sa.column("length")
    )
    new = sa.table(
        "chunks_v4", sa.column("hash"), sa.column("pack"), sa.column("offset"), sa.column("length")
    )
    last = ""
    while True:  # keyset pages: bounded memory however big the index
        rows = conn.execute(
            sa.select(old.c.hash, old.c.pack, old.c.offset, old.c.length)
            .where(old.c.hash > last)
            .order_by(old.c.hash)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(
            sa.insert(new),
            [
                {"hash": bytes.fromhex(h), "pack": bytes.fromhex(p), "offset": o, "length": n}
                for h, p, o, n in rows
            ],
        )
        last = rows[-1][0]
    op.drop_index("ix_chunks_pack", table_name="chunks")
    op.drop_table("chunks")
    op.rename_table("chunks_v4", "chunks")
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE chunks RENAME CONSTRAINT chunks_v4_pkey TO chunks_pkey")


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
