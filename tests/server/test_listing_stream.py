"""File listings over REST stream (#19): ``/repos/{repo}/commits/{ref}/files`` reads the tree
and writes its entries in batches, so the server's memory does not grow with the folder.

The server runs in this process (pytest-jupyter), and the response body is thrown away as it
arrives (``streaming_callback``): the heap peak measured over the request is the server's.
Building the whole list (as the route did) costs about 1 kB per file: 16+ MB here.
"""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Awaitable, Callable

import pytest

from jupyter_pipes import Client
from jupyter_pipes.server.handlers.base import STREAM_BATCH
from jupyter_pipes.store.objects import pack_key
from jupyter_pipes.store.refs import Ref

from ..test_memory_listing import fill
from ..test_memory_trees import BUDGET, LARGE, SMALL
from .helpers import Fetch, error


async def apeak(op: Callable[[], Awaitable[object]]) -> int:
    """The heap peak (bytes above the start) while ``op`` runs, server and client alike."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        await op()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


async def test_a_long_listing_streams_in_chunks_and_parses_whole(
    api: Fetch, client: Client
) -> None:
    n = 2 * STREAM_BATCH + 7
    fill(client._store, "data", n)
    resp = await api("repos", "data", "commits", "master", "files", params={"path": "/big"})
    assert "Content-Length" not in resp.headers  # sent as it was read, in chunks
    items = json.loads(resp.body)["items"]
    assert [f["path"] for f in items] == [f"/big/f{i:07d}.csv" for i in range(n)]
    assert items[0] == client.inspect_file("data@master", "/big/f0000000.csv").to_dict()
    walk = await api("repos", "data", "commits", "master", "files", params={"recursive": "1"})
    paths = [f["path"] for f in json.loads(walk.body)["items"]]
    assert len(paths) == n + 3 and paths[:2] == ["/big/", "/big/f0000000.csv"]
    # a short listing is one ordinary reply; errors still answer their status
    short = await api("repos", "data", "commits", "master", "files", params={"path": "/other"})
    assert short.headers["Content-Length"] == str(len(short.body))
    assert [f["path"] for f in json.loads(short.body)["items"]] == ["/other/readme"]
    await error(
        api, "repos", "data", "commits", "master", "files", status=404, params={"path": "/nope"}
    )


async def test_listing_a_big_folder_over_rest_holds_memory_flat(api: Fetch, client: Client) -> None:
    for n in (SMALL, LARGE):
        fill(client._store, f"d{n}", n)

    async def listing(n: int) -> int:
        got = 0

        def count(chunk: bytes) -> None:
            nonlocal got
            got += chunk.count(b'"path"')

        await api(
            "repos", f"d{n}", "commits", "master", "files",
            params={"path": "/big"}, streaming_callback=count,
        )  # fmt: skip
        return got

    assert await listing(SMALL) == SMALL  # warm: imports, first connections
    peaks = {}
    for n in (SMALL, LARGE):
        peaks[n] = await apeak(lambda: listing(n))  # noqa: B023
    growth = peaks[LARGE] - peaks[SMALL]
    print(f"REST list: {growth / (LARGE - SMALL):.0f} B per file of peak growth")
    assert growth < BUDGET


async def test_an_error_after_the_first_chunk_leaves_a_body_that_never_parses(
    api: Fetch, client: Client
) -> None:
    """A listing that fails part-way (here a tree node damaged on disk, found when the stream
    reaches it) cannot change its 200 any more; its body must then stop short of ``]}`` rather
    than close the list, which would read as a complete, shorter listing."""
    store = client._store
    n = 2 * STREAM_BATCH + 7
    fill(store, "data", n)
    _, root = store._root(Ref("data", "master"))
    node = store.trees.top(store.trees.require(root, "/big"))
    assert node is not None and node.level >= 1  # /big is split into nodes
    while node.level >= 1:  # down to the leaf holding the greatest names: the last chunk's
        node = max(store.trees._load(node.ref)[1], key=lambda it: it.last)  # type: ignore[union-attr]
    pack = store.backend._path(pack_key(node.ref.pack))
    with open(pack, "r+b") as f:  # flip the leaf's first bytes in place
        f.seek(node.ref.offset)
        head = f.read(16)
        f.seek(node.ref.offset)
        f.write(bytes(b ^ 0xFF for b in head))
    store.trees._cache.clear()  # the server reads the tree from disk again

    resp = await api("repos", "data", "commits", "master", "files", params={"path": "/big"})
    assert resp.code == 200  # sent before the damage was reached
    body = resp.body.decode()
    assert body.startswith('{"items": [') and body.count('"path"') >= STREAM_BATCH
    assert not body.rstrip().endswith("]}")
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
