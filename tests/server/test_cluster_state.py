"""The ``cluster`` event and setting: the sidebar says “starting cluster” before the first datum
of the first job, while the controller's Dask cluster starts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp

from .helpers import EventSocket, Fetch, cmd_spec, get_json


@pytest.fixture
def pipes_config(store_path: Path) -> dict[str, Any]:
    return {
        "store": str(store_path),
        "run_controller": True,
        "poll_interval": 0.1,
        "event_poll_interval": 0.2,
        "n_workers": 1,
    }


async def test_cluster_starting_then_ready_around_the_first_datum(
    api: Fetch,
    client: Client,
    pipes_app: PipesApp,
    subscribe: Callable[[], Awaitable[EventSocket]],
) -> None:
    assert (await get_json(api, "settings"))["cluster"] == "none"
    client.create_repo("data")
    client.create_pipeline(
        cmd_spec("copy", {"pfs": {"repo": "data", "glob": "/*"}}, 'cp -r "$PFS/data"/. "$out"/')
    )
    stream = await subscribe()
    client.put_file("data@master", "/a", b"a")
    await stream.wait(lambda e: e["type"] == "job" and e["done"] and e["total"], timeout=120)
    kinds = [
        e["state"] if e["type"] == "cluster" else f"job {e['state']} {e['processed']}"
        for e in stream.events
        if e["type"] in ("cluster", "job")
    ]
    assert kinds[-1] == "job success 1", kinds
    assert "starting" in kinds and "ready" in kinds, kinds
    starting, ready = kinds.index("starting"), kinds.index("ready")
    first_done = next(
        i for i, k in enumerate(kinds) if k.startswith("job") and not k.endswith(" 0")
    )
    assert starting < ready < first_done, kinds  # said before the first datum, and cleared
    assert (await get_json(api, "settings"))["cluster"] == "ready"
    # the next job finds the cluster up: no "starting" again
    stream2 = await subscribe()
    client.put_file("data@master", "/b", b"b")
    await stream2.wait(lambda e: e["type"] == "job" and e["done"] and e["total"], timeout=120)
    assert not [e for e in stream2.events if e["type"] == "cluster"]
