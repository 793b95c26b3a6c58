"""Alembic environment of the pipeline chain: run by :func:`jupyter_pipes.store.schema.ensure`."""

from jupyter_pipes.store.schema import run_env

run_env()
