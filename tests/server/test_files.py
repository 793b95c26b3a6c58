"""File content over HTTP: streaming, Range, safe headers for active content, uploads."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client

from .helpers import Fetch, error, get_json


def raw(api: Fetch, path: str, ref: str = "master", **kwargs: Any) -> Any:
    params = {"path": path, **kwargs.pop("params", {})}
    return api("repos", "data", "commits", ref, "raw", params=params, **kwargs)


@pytest.fixture
def big(client: Client) -> bytes:
    """A 3 MiB file (several content-defined chunks) at data@master:/big.bin."""
    data = os.urandom(3 << 20)
    client.create_repo("data")
    client.put_file("data@master", "/big.bin", data)
    return data


async def test_raw_content_streams_with_type_and_etag(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    client.put_file("data@master", "/t/a.csv", b"x,y\n1,2\n")
    resp = await raw(api, "/t/a.csv")
    assert resp.body == b"x,y\n1,2\n"
    assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.headers["Accept-Ranges"] == "bytes"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    assert "Content-Disposition" not in resp.headers
    etag = resp.headers["ETag"]
    assert etag == f'"{client.inspect_file("data@master", "/t/a.csv").hash}"'
    cached = await raw(api, "/t/a.csv", headers={"If-None-Match": etag}, raise_error=False)
    assert cached.code == 304 and cached.body == b""
    download = await raw(api, "/t/a.csv", params={"download": "1"})
    assert download.headers["Content-Disposition"] == "attachment; filename*=UTF-8''a.csv"


async def test_active_content_is_never_served_inline(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    for name in ("x.html", "x.svg", "x.xhtml", "x.js"):
        client.put_file("data@master", f"/{name}", b"<script>alert(1)</script>")
        resp = await raw(api, f"/{name}")
        assert resp.headers["Content-Type"] == "application/octet-stream", name
        assert resp.headers["Content-Disposition"].startswith("attachment;"), name
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in resp.headers["Content-Security-Policy"]


async def test_ranges(api: Fetch, big: bytes) -> None:
    size = len(big)
    whole = await raw(api, "/big.bin")
    assert whole.body == big and whole.headers["Content-Length"] == str(size)
    cases = {
        "bytes=0-9": (0, 10),
        f"bytes={size - 5}-": (size - 5, size),
        "bytes=-7": (size - 7, size),
        "bytes=1048570-2097160": (1048570, 2097161),  # across chunk boundaries
        f"bytes=10-{size + 100}": (10, size),
    }
    for header, (start, end) in cases.items():
        resp = await raw(api, "/big.bin", headers={"Range": header})
        assert resp.code == 206, header
        assert resp.body == big[start:end], header
        assert resp.headers["Content-Range"] == f"bytes {start}-{end - 1}/{size}"
    several = await raw(api, "/big.bin", headers={"Range": "bytes=0-1,5-6"})
    assert several.code == 200 and len(several.body) == size
    stale = await raw(api, "/big.bin", headers={"Range": "bytes=0-1", "If-Range": '"old"'})
    assert stale.code == 200 and len(stale.body) == size
    outside = await raw(api, "/big.bin", headers={"Range": f"bytes={size}-"}, raise_error=False)
    assert outside.code == 416 and outside.headers["Content-Range"] == f"bytes */{size}"


async def test_raw_errors(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    client.put_file("data@master", "/d/f", b"f")
    no_path = await error(api, "repos", "data", "commits", "master", "raw", status=400)
    assert no_path["field"] == "path"
    is_dir = await error(
        api, "repos", "data", "commits", "master", "raw", status=400, params={"path": "/d"}
    )
    assert "directory" in is_dir["message"]
    await error(api, "repos", "data", "commits", "master", "raw", status=404, params={"path": "/x"})
    await error(api, "repos", "data", "commits", "dev", "raw", status=404, params={"path": "/d/f"})


async def test_upload_and_delete_files(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    body = os.urandom(100_000)
    resp = await api(
        "repos",
        "data",
        "branches",
        "master",
        "files",
        method="PUT",
        body=body,
        params={"path": "/in/blob.bin", "message": "upload"},
    )
    assert resp.code == 201
    commit = json.loads(resp.body)
    assert commit["message"] == "upload" and commit["origin"] == "user"
    assert client.get_file(f"data@{commit['id']}", "/in/blob.bin") == body
    large = os.urandom(9 << 20)  # past the in-memory buffer: goes through a temporary file
    resp = await api(
        "repos",
        "data",
        "branches",
        "master",
        "files",
        method="PUT",
        body=large,
        params={"path": "/in/large.bin"},
    )
    assert client.get_file(f"data@{json.loads(resp.body)['id']}", "/in/large.bin") == large
    assert not list(Path(tempfile.gettempdir()).glob("pipes-upload-*"))
    new_branch = await get_json(
        api,
        "repos",
        "data",
        "branches",
        "dev",
        "files",
        method="PUT",
        body=b"x",
        params={"path": "/x"},
    )
    assert new_branch["branch"] == "dev"
    gone = await get_json(
        api,
        "repos",
        "data",
        "branches",
        "master",
        "files",
        method="DELETE",
        params={"path": "/in"},
    )
    assert list(client.list_file(f"data@{gone['id']}")) == []
    await error(
        api,
        "repos",
        "data",
        "branches",
        "master",
        "files",
        status=404,
        method="DELETE",
        params={"path": "/in"},
    )
    no_path = await error(
        api, "repos", "data", "branches", "master", "files", status=400, method="PUT", body=b"x"
    )
    assert no_path["field"] == "path"
    await error(
        api,
        "repos",
        "nope",
        "branches",
        "master",
        "files",
        status=404,
        method="PUT",
        body=b"x",
        params={"path": "/x"},
    )
    bad_path = await error(
        api,
        "repos",
        "data",
        "branches",
        "master",
        "files",
        status=400,
        method="PUT",
        body=b"x",
        params={"path": "/a/../../x"},
    )
    assert bad_path["error"] == "InvalidArgument"


async def test_upload_size_limit(api: Fetch, client: Client, pipes_app: Any) -> None:
    client.create_repo("data")
    pipes_app.max_upload_size = 1000
    too_big = await error(
        api,
        "repos",
        "data",
        "branches",
        "master",
        "files",
        status=413,
        method="PUT",
        body=b"x" * 1001,
        params={"path": "/x"},
    )
    assert "1000" in too_big["message"]
    ok = await api(
        "repos",
        "data",
        "branches",
        "master",
        "files",
        method="PUT",
        body=b"x" * 1000,
        params={"path": "/x"},
    )
    assert ok.code == 201
    assert client.list_commit("data") != [] and len(client.list_commit("data")) == 1
