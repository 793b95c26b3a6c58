"""Shared fixtures: the same store suite runs against a local folder and ``memory://``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from jupyter_pipes import Client

PG_ENV = "JUPYTER_PIPES_TEST_POSTGRES"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the server named by $JUPYTER_PIPES_TEST_POSTGRES, dropped after."""
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"no PostgreSQL server: set {PG_ENV}=postgresql+psycopg://user@host:port/db")
    import sqlalchemy as sa

    name = f"pipes_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture(params=["local", "memory", "postgres"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """A fresh, empty store of each kind: local folder + SQLite, memory:// + in-memory SQLite,
    and a local folder with metadata in PostgreSQL (skipped without a server)."""
    with ExitStack() as stack:
        db_url = None
        if request.param == "memory":
            url = f"memory://pipes-test-{uuid.uuid4().hex}"
        else:
            url = str(tmp_path / "store")
            if request.param == "postgres":
                db_url = stack.enter_context(postgres_database())
        c = Client(url, db_url=db_url)
        stack.callback(c.close)
        yield c
    if request.param == "memory":
        import fsspec

        fs = fsspec.filesystem("memory")
        root = "/" + url.removeprefix("memory://")
        if fs.exists(root):
            fs.rm(root, recursive=True)


@pytest.fixture
def local_client(tmp_path: Path) -> Iterator[Client]:
    """A fresh store in a local folder (for tests that touch files on disk)."""
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()
