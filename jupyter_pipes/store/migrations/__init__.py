"""Alembic migrations of the store's tables (repos, branches, commits, provenance, chunks, packs).

``HEAD`` is the newest revision in ``versions/``; opening a store compares it with the database's
without importing Alembic. A test keeps it equal to Alembic's own head. See docs/migrations.md.
"""

HEAD = "0006"
VERSION_TABLE = "pipes_store_version"
"""This chain's Alembic version table (the CLI's fast read path checks it without Alembic)."""
