"""Shared fixtures: the same store suite runs against a local folder and ``memory://``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_pipes import Client


@pytest.fixture(params=["local", "memory"])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Client]:
    """A fresh, empty store of each backend kind."""
    if request.param == "local":
        url = str(tmp_path / "store")
    else:
        url = f"memory://pipes-test-{uuid.uuid4().hex}"
    c = Client(url)
    yield c
    c.close()
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
