"""Shared fixtures: the same store suite runs against a local folder and ``memory://``."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from jupyter_pipes import Client

PG_ENV = "JUPYTER_PIPES_TEST_POSTGRES"

# No test starts a background controller unless it asks for one (tests/test_autostart.py sets
# it back on for the processes it starts): a commit's jobs stay queued until a test runs them.
os.environ["JUPYTER_PIPES_AUTOSTART"] = "0"


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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API: moto's server on 127.0.0.1 (skipped if moto[server]/s3fs are missing)."""
    pytest.importorskip("s3fs", reason="s3fs is not installed (pip install -e '.[test]')")
    server_mod = pytest.importorskip("moto.server", reason="moto[server] is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_options(endpoint: str) -> dict[str, object]:
    """fsspec/s3fs options for the moto endpoint (dummy credentials, never real ones)."""
    return {
        "key": "testing",
        "secret": "testing",
        "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"},
    }


def new_bucket(endpoint: str) -> str:
    import boto3

    bucket = f"pipes-{uuid.uuid4().hex[:12]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return bucket


@pytest.fixture(params=["local", "memory", "s3", "postgres"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """A fresh, empty store of each kind: local folder + SQLite, memory:// + in-memory SQLite,
    S3 (moto's server on loopback) + SQLite, and a local folder with metadata in PostgreSQL
    (skipped without a server)."""
    with ExitStack() as stack:
        db_url = None
        options: dict[str, object] = {}
        if request.param == "memory":
            url = f"memory://pipes-test-{uuid.uuid4().hex}"
        elif request.param == "s3":
            endpoint = request.getfixturevalue("s3_endpoint")
            url = f"s3://{new_bucket(endpoint)}/store"
            options = s3_options(endpoint)
            db_url = f"sqlite:///{tmp_path}/metadata.sqlite"
        else:
            url = str(tmp_path / "store")
            if request.param == "postgres":
                db_url = stack.enter_context(postgres_database())
        c = Client(url, db_url=db_url, **options)
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
