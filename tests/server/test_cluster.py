"""``GET /pipes/api/cluster`` against an external scheduler with two workers, the second with
``--resources GPU=1``: before the first job it says the controller is not connected (and
looking connects nothing); while a job runs, both workers with their resources and the job's
datums in flight; never an absolute path of the server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp

from ..external_dask import external_cluster
from .helpers import Fetch, cmd_spec, get_json


@pytest.fixture
def gpu_cluster(tmp_path: Path) -> Iterator[str]:
    with external_cluster(tmp_path, [[], ["--resources", "GPU=1", "--name", "gpu-worker"]]) as a:
        yield a


@pytest.fixture
def pipes_config(store_path: Path, gpu_cluster: str) -> dict[str, Any]:
    return {
        "store": str(store_path),
        "run_controller": True,
        "poll_interval": 0.1,
        "dask_scheduler": gpu_cluster,
    }


async def test_cluster_route_shows_the_external_workers_and_datums_in_flight(
    api: Fetch, client: Client, pipes_app: PipesApp, gpu_cluster: str, tmp_path: Path
) -> None:
    before = await get_json(api, "cluster")
    assert (before["state"], before["kind"], before["scheduler"]) == (
        "stopped",
        "external",
        gpu_cluster,
    )
    assert before["controller"] is True and before["workers"] == []
    assert before["message"].startswith(f"Not connected to the Dask scheduler at {gpu_cluster}")
    assert client._executor is None or client._executor.running_client is None

    gate = tmp_path / "gate"
    client.create_repo("data")
    with client.start_commit("data@master") as oc:
        for i in range(2):
            oc.put_file(f"/f{i}.txt", b"x")
    script = f'while [ ! -e "{gate}" ]; do sleep 0.05; done; cp -r "$PFS/data"/. "$out"/'
    job = client.create_pipeline(
        cmd_spec("copy", {"pfs": {"repo": "data", "glob": "/*"}}, script)
    ).last_job
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        body = await get_json(api, "cluster")
        if any(j["running"] == 2 for j in body["jobs"]):
            break
        assert loop.time() < deadline, body
        await asyncio.sleep(0.2)
    assert body["state"] == "running" and len(body["workers"]) == 2
    assert body["message"].startswith("The Dask cluster is running: 2 workers, 2 threads")
    gpu = next(w for w in body["workers"] if w["name"] == "gpu-worker")
    other = next(w for w in body["workers"] if w["name"] != "gpu-worker")
    assert gpu["resources"] == {"GPU": 1.0} and other["resources"] == {}
    for w in body["workers"]:
        assert w["threads"] == 1 and w["memory"] > 0 and w["kernels"] == []
        assert w["jobs"] == [{"job": job, "running": 1, "queued": 0}]
    (flight,) = body["jobs"]
    assert (flight["job"], flight["pipeline"], flight["running"], flight["queued"]) == (
        job,
        "copy",
        2,
        0,
    )
    assert sorted(flight["workers"]) == sorted(w["address"] for w in body["workers"])
    text = json.dumps(body)
    assert str(tmp_path) not in text and "local_directory" not in text  # no server paths
    gate.touch()
    while (await get_json(api, "jobs", job))["state"] != "success":
        assert loop.time() < deadline
        await asyncio.sleep(0.1)
