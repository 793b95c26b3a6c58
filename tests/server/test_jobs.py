"""Jobs run by the controller inside the server; datums, notebooks and logs over HTTP; live
events for a commit made by another process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp
from jupyter_pipes.server.poller import Poller, take_snapshot
from jupyter_pipes.server.runner import ControllerThread

from .helpers import (
    EventSocket,
    Fetch,
    cmd_spec,
    error,
    get_json,
    listening_emitter,
    wait_job,
)

UPPER = (
    'for f in "$PFS/data"/*; do tr a-z A-Z < "$f" > "$out/$(basename "$f")"; echo "did $f"; done'
)


@pytest.fixture
def pipes_config(store_path: Path) -> dict[str, Any]:
    return {
        "store": str(store_path),
        "run_controller": True,
        "poll_interval": 0.1,
        "event_poll_interval": 0.2,
    }


@pytest.fixture
def data(client: Client) -> None:
    client.create_repo("data")
    with client.start_commit("data@master") as oc:
        for name in ("a", "b", "c"):
            oc.put_file(f"/{name}.txt", name.encode())


async def test_the_server_runs_jobs_and_serves_datums_and_logs(api: Fetch, data: None) -> None:
    spec = cmd_spec("up", {"pfs": {"repo": "data", "glob": "/*"}}, UPPER)
    created = await get_json(api, "pipelines", method="POST", body=json.dumps(spec))
    job = await wait_job(api, created["last_job"])
    assert (job["state"], job["total"], job["processed"], job["skipped"]) == ("success", 3, 3, 0)
    assert job["output_commit"] and job["duration_s"] is not None
    raw = await api("repos", "up", "commits", "master", "raw", params={"path": "/b.txt"})
    assert raw.body == b"B"
    out = await get_json(api, "repos", "up", "commits", "master")
    assert {p["repo"] for p in out["provenance"]} == {"data", "up"}
    page = await get_json(api, "jobs", job["id"], "datums", params={"limit": 2})
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    rest = await get_json(api, "jobs", job["id"], "datums", params={"offset": 2})
    datums = page["items"] + rest["items"]
    assert sorted(d["inputs"][0]["path"] for d in datums) == ["/a.txt", "/b.txt", "/c.txt"]
    first = datums[0]
    detail = await get_json(api, "jobs", job["id"], "datums", first["id"])
    assert detail["state"] == "success" and detail["has_notebook"] is False
    log = await api("jobs", job["id"], "datums", first["id"], "log")
    assert log.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "sandbox" in log.headers["Content-Security-Policy"]
    assert log.body.decode().strip().endswith(first["inputs"][0]["path"])
    logs = (await api("jobs", job["id"], "logs")).body.decode()
    assert logs.count("--- datum") == 3
    await error(api, "jobs", job["id"], "datums", first["id"], "notebook", status=404)
    await error(api, "jobs", job["id"], "datums", "nope", status=404)
    await error(api, "jobs", job["id"], "datums", "nope", "log", status=404)


async def test_failed_job_records_the_error(api: Fetch, data: None) -> None:
    spec = cmd_spec("bad", {"pfs": {"repo": "data", "glob": "/"}}, "echo oops >&2; exit 3")
    spec["datum_tries"] = 1
    created = await get_json(api, "pipelines", method="POST", body=json.dumps(spec))
    job = await wait_job(api, created["last_job"])
    assert (job["state"], job["failed"]) == ("failure", 1)
    assert job["error"]["datum"]
    log = await api("jobs", job["id"], "datums", job["error"]["datum"], "log")
    assert "oops" in log.body.decode()
    dag = await get_json(api, "dag")
    assert {n["id"]: n.get("state") for n in dag["nodes"]}["pipeline:bad"] == "failure"


async def test_executed_notebook_is_served_as_json(
    api: Fetch, data: None, jp_root_dir: Path
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("data = ''\nout = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('<b>hello</b>', sorted(__import__('os').listdir(data)))"),
    ]
    nbformat.write(nb, jp_root_dir / "stage.ipynb")
    spec = {
        "pipeline": {"name": "nb"},
        "input": {"pfs": {"repo": "data", "glob": "/"}},
        "transform": {"notebook": "stage.ipynb"},
    }
    created = await get_json(api, "pipelines", method="POST", body=json.dumps(spec))
    job = await wait_job(api, created["last_job"], timeout=180)
    assert job["state"] == "success", job
    (datum,) = (await get_json(api, "jobs", job["id"], "datums"))["items"]
    assert datum["has_notebook"]
    resp = await api("jobs", job["id"], "datums", datum["id"], "notebook")
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]
    executed = nbformat.reads(resp.body.decode(), as_version=4)
    assert "['a.txt', 'b.txt', 'c.txt']" in json.dumps(executed.cells[-1].outputs)
    download = await api(
        "jobs", job["id"], "datums", datum["id"], "notebook", params={"download": "true"}
    )
    assert download.headers["Content-Disposition"].startswith("attachment;")


async def test_a_commit_from_another_process_runs_here_and_streams_events(
    api: Fetch,
    data: None,
    store_path: Path,
    client: Client,
    pipes_app: PipesApp,
    subscribe: Callable[[], Awaitable[EventSocket]],
) -> None:
    spec = cmd_spec("up", {"pfs": {"repo": "data", "glob": "/*"}}, UPPER)
    created = await get_json(api, "pipelines", method="POST", body=json.dumps(spec))
    await wait_job(api, created["last_job"])

    seen: set[str] = set()

    def until(event: dict[str, Any]) -> bool:
        if event["type"] == "commit" and event["repo"] == "data":
            seen.add("commit")
        if event["type"] == "job" and event["state"] == "success":
            seen.add("job")
        return seen == {"commit", "job"}

    stream = await subscribe()
    await asyncio.sleep(0.5)  # let the poller take its baseline
    writer = (
        "import sys; from jupyter_pipes import Client\n"
        "c = Client(sys.argv[1])\n"
        "print(c.put_file('data@master', '/d.txt', b'dd').id)\n"
        "c.close()\n"
    )
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", writer, str(store_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    commit_id = proc.stdout.strip()
    await stream.wait(until, timeout=120)

    commits = [e for e in stream.events if e["type"] == "commit"]
    assert {"type": "commit", "repo": "data", "branch": "master", "commit": commit_id} in [
        {k: e[k] for k in ("type", "repo", "branch", "commit")} for e in commits
    ]
    jobs = [e for e in stream.events if e["type"] == "job"]
    done = jobs[-1]
    assert (done["pipeline"], done["state"], done["processed"], done["skipped"]) == (
        "up",
        "success",
        1,
        3,
    )
    assert {"repo": "data", "id": commit_id, "branch": "master"} in done["inputs"]
    states = [e["state"] for e in jobs if e["id"] == done["id"]]
    assert states[0] in ("created", "running") and states.count("success") == 1
    ids = [e["seq"] for e in stream.events]
    assert ids == sorted(ids)
    assert client.get_file("up@master", "/d.txt") == b"DD"


async def test_global_commits_and_what_reruns_downstream(api: Fetch, client: Client) -> None:
    client.create_repo("a")
    client.put_file("a@master", "/v", b"1")
    for name, inp in (("b", "a"), ("c", "a"), ("d", "b")):
        body = cmd_spec(name, {"pfs": {"repo": inp, "glob": "/"}}, f'cat "${inp}"/v > "$out/v"')
        created = await get_json(api, "pipelines", method="POST", body=json.dumps(body))
        await wait_job(api, created["last_job"])
    down = await get_json(api, "repos", "a", "branches", "master", "downstream")
    assert down["pipelines"] == ["b", "c", "d"] and down["branch"] == "master"
    b_down = await get_json(api, "repos", "b", "branches", "master", "downstream")
    assert b_down["pipelines"] == ["d"] and b_down["jobs"] == []  # d's job: d's creation
    old_a = client.inspect_commit("a@master").id
    put = client.put_file("a@master", "/v", b"2")
    # what re-runs downstream of a commit: its branch's pipelines, and the jobs it caused
    queued = await get_json(api, "repos", "a", "commits", put.id, "downstream")
    assert (queued["repo"], queued["branch"], queued["commit"]) == ("a", "master", put.id)
    assert queued["pipelines"] == ["b", "c", "d"] and queued["global_id"] == put.id
    assert [(j["pipeline"], j["global_id"]) for j in queued["jobs"]] == [
        ("b", put.id), ("c", put.id), ("d", put.id)
    ]  # fmt: skip
    older = await get_json(api, "repos", "a", "commits", old_a[:10], "downstream")
    assert older["commit"] == old_a and older["pipelines"] == ["b", "c", "d"]
    assert older["jobs"] == []  # the pipelines' first jobs came from their creation
    await error(api, "repos", "a", "commits", "f" * 32, "downstream", status=404)
    g = await get_json(api, "global-commits", put.id, params={"wait": "120"})  # wait commit
    assert g["done"]
    assert (
        g["id"] == put.id
        and g["cause"] == "commit"
        and (g["repo"], g["commit"])
        == (
            "a",
            put.id,
        )
    )
    assert [j["pipeline"] for j in g["jobs"]] == ["b", "c", "d"]
    assert all(j["state"] == "success" and j["global_id"] == put.id for j in g["jobs"])
    assert sorted(c["repo"] for c in g["commits"]) == ["a", "b", "c", "d"]
    # repo@<global id> names the repo's commit of that global commit (a prefix too)
    d = await get_json(api, "repos", "d", "commits", put.id[:12])
    assert d["global_id"] == put.id and d["id"] == g["jobs"][2]["output_commit"]
    await error(api, "global-commits", "0123456789abcdef", status=404)
    await error(api, "global-commits", put.id, status=400, params={"wait": "601"})
    err = await error(api, "global-commits", put.id, "squash", method="POST", status=409)
    assert "head" in err["message"]
    await api("global-commits", put.id, method="DELETE")
    await error(api, "global-commits", put.id, status=404)
    assert client.get_file("d@master", "/v") == b"1"


async def test_an_idle_poller_takes_no_snapshot_until_something_changes(tmp_path: Path) -> None:
    """Idle, the poller reads the change marker only (one-row queries); a commit, a repo or a
    job update makes it look again."""
    c = Client(str(tmp_path / "idle-store"))
    c.create_repo("data")
    snapshots: list[int] = []

    def counting(client: Client, active: Any) -> Any:
        snapshots.append(1)
        return take_snapshot(client, active)

    async def run_blocking(fn: Any, *args: Any) -> Any:
        if fn is take_snapshot:
            fn = counting
        return await asyncio.to_thread(fn, *args)

    emitter, events = listening_emitter()
    poller = Poller(c, emitter, run_blocking, interval=0.02)
    poller.start()
    try:
        for _ in range(500):
            if snapshots:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.5)  # 25 intervals
        assert len(snapshots) == 1  # the baseline, then nothing changed
        marker = c.change_marker()
        await asyncio.to_thread(c.put_file, "data@master", "/a", b"a")
        assert c.change_marker() != marker
        await asyncio.to_thread(c.create_repo, "other")
        for _ in range(200):
            if len(snapshots) >= 2 and len(events) >= 3:
                break
            await asyncio.sleep(0.02)
        assert ("repo", "created", "other") in [
            (e["type"], e.get("action"), e.get("repo")) for e in events
        ]
        assert any(e["type"] == "commit" and e["repo"] == "data" for e in events)
        await asyncio.sleep(0.3)  # a snapshot may have read the store between two writes
        settled = len(snapshots)
        await asyncio.sleep(0.3)
        assert len(snapshots) == settled
    finally:
        await poller.stop()
        c.close()


def test_the_controller_thread_stops_an_idle_dask_cluster(tmp_path: Path) -> None:
    c = Client(str(tmp_path / "store"))
    c.create_repo("data")
    c.put_file("data@master", "/a", b"a")
    info = c.create_pipeline(cmd_spec("up", {"pfs": {"repo": "data", "glob": "/*"}}, UPPER))
    runner = ControllerThread(c, poll_interval=0.05, idle_close_s=0.5)
    runner.start()
    try:
        deadline = time.monotonic() + 120
        while not c.inspect_job(info.last_job).done:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert c._executor is not None and c._executor._client is not None  # it ran on Dask
        while c._executor._client is not None:  # then, idle, the cluster is stopped
            assert time.monotonic() < deadline
            time.sleep(0.05)
        put = c.put_file("data@master", "/b", b"b")  # the next job starts it again
        while not all(j.done for j in c._pipelines.jobs_of(put.id)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert c.get_file("up@master", "/b") == b"B"
    finally:
        runner.stop()
        runner.join()
        c.close()
