"""Hostile or odd input over REST (#19): refused with the project's error, never silently
changed; damage is a 5xx naming no server path."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_pipes import Client
from jupyter_pipes.store.names import MAX_DEPTH
from jupyter_pipes.store.refs import parse_ref

from .helpers import Fetch, error

FILES = ("repos", "d", "branches", "master", "files")
RAW = ("repos", "d", "commits", "master", "raw")


async def test_control_characters_in_paths_are_refused_not_turned_into_spaces(
    api: Fetch, client: Client
) -> None:
    client.create_repo("d")
    for bad in ("/a\x00b", "/a\x01b", "/trailing\n"):
        body = await error(api, *FILES, method="PUT", body=b"x", status=400, params={"path": bad})
        assert body["error"] == "InvalidArgument" and "control characters" in body["message"]
        body = await error(api, *RAW, status=400, params={"path": bad})
        assert body["error"] == "InvalidArgument"
    assert client.list_commit("d") == []  # nothing was written (before: "/a b" was)


async def test_over_deep_paths_are_a_400(api: Fetch, client: Client) -> None:
    client.create_repo("d")
    deep = "/" + "/".join(["a"] * (MAX_DEPTH + 1))
    body = await error(api, *FILES, method="PUT", body=b"x", status=400, params={"path": deep})
    assert f"deeper than {MAX_DEPTH}" in body["message"]
    long = "/" + "/".join(["a"] * 3000)  # (a far longer URL is refused by HTTP itself)
    body = await error(api, *RAW, status=400, params={"path": long})
    assert body["error"] == "InvalidArgument" and "longer than" in body["message"]


async def test_names_beginning_with_a_dash_are_a_400(api: Fetch) -> None:
    body = await error(api, "repos", method="POST", body=b'{"name": "-rf"}', status=400)
    assert "may not begin with '-'" in body["message"]


async def test_a_missing_object_is_a_server_error_without_server_paths(
    api: Fetch, client: Client, store_path: Path
) -> None:
    client.create_repo("d")
    client.put_file("d@master", "/f.bin", os.urandom(100_000))
    ref = client.store.entry(parse_ref("d@master"), "/f.bin").refs[0]
    (store_path / "packs" / ref.pack).unlink()
    body = await error(api, *RAW, status=500, params={"path": "/f.bin"})
    assert body["error"] == "CorruptObject" and "missing" in body["message"]
    assert str(store_path) not in str(body)
