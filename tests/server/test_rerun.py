"""``POST /jobs/{job}/rerun`` (#15): a new job on the input commits a done job read, with the
project's errors (the controller is off here: queued jobs stay queued until the test runs
them with the server's own Client)."""

from __future__ import annotations

import asyncio
import json

from jupyter_pipes import Client

from .helpers import Fetch, cmd_spec, error, get_json


async def test_rerun_job_over_http(api: Fetch, client: Client) -> None:
    client.create_repo("data")
    first = client.put_file("data@master", "/a", b"one")
    client.create_pipeline(
        cmd_spec("copy", {"pfs": {"repo": "data", "glob": "/*"}}, 'cp "$data" "$out"/')
    )
    await asyncio.to_thread(client.run_jobs)
    client.put_file("data@master", "/a", b"two")
    await asyncio.to_thread(client.run_jobs)
    old = client.list_job("copy")[-1]

    again = await get_json(
        api, "jobs", f"copy@{old.id}", "rerun", method="POST", body=json.dumps({"reprocess": True})
    )
    assert again["state"] == "created" and again["id"] != old.id
    assert [(c["repo"], c["id"]) for c in again["inputs"]] == [("data", first.id)]
    busy = await error(api, "jobs", again["id"], "rerun", method="POST", status=409)
    assert busy["message"].startswith(f"job {again['id']} (copy) is created")
    await asyncio.to_thread(client.run_jobs)
    done = client.inspect_job(again["id"])
    assert (done.state, done.processed) == ("success", 1)
    assert client.get_file("copy@master", "/a") == b"one"

    bad = await error(
        api,
        "jobs",
        old.id,
        "rerun",
        method="POST",
        body=json.dumps({"reprocess": "yes"}),
        status=400,
    )
    assert bad["message"] == "reprocess: expected true or false"
    missing = await error(api, "jobs", "nope", "rerun", method="POST", status=404)
    assert missing["message"] == "job 'nope' not found"
