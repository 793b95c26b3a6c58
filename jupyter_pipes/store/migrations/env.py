"""Alembic environment of the store chain: run by :func:`jupyter_pipes.store.schema.ensure`."""

from jupyter_pipes.store.schema import run_env

run_env()
