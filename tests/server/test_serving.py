"""The services routes through a real jupyter-server: list, inspect, the serving log ("which
model answered at T"), events, predict through the server (the sidebar's "try it"), and the
extension's supervisor running the endpoint a ``serve:`` spec declares."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp

from ..test_serving import SERVE_PY, put_model
from .helpers import Fetch, error, get_json


async def until(predicate: Any, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.fixture
def pipes_config(store_path: Path, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The extension's supervisor off, unless a test asks for it (``indirect``)."""
    on = getattr(request, "param", False)
    return {"store": str(store_path), "run_controller": False, "run_services": on}


async def test_services_routes(api: Fetch, client: Client, tmp_path: Path) -> None:
    (tmp_path / "serve.py").write_text(SERVE_PY)
    client.create_repo("model")
    c1 = put_model(client, 2.0)
    assert (await get_json(api, "services")) == {"items": []}
    ep = await asyncio.get_running_loop().run_in_executor(
        None, lambda: client.serve("model@master", tmp_path / "serve.py", log_window=1.0)
    )
    try:
        (svc,) = (await get_json(api, "services"))["items"]
        assert (svc["name"], svc["state"], svc["commits"], svc["head"]) == (
            "model",
            "ready",
            [c1],
            c1,
        )
        answer = await get_json(
            api, "services", "model", "predict", method="POST", body=json.dumps({"x": 3})
        )
        assert (answer["commit"], answer["result"], answer["url"]) == (c1, {"y": 6.0}, ep.url)
        csv = await get_json(
            api,
            "services",
            "model",
            "predict",
            method="POST",
            body="x\n4\n",
            headers={"Content-Type": "text/csv"},
        )
        assert csv["result"] == [{"y": 8.0}]  # predict got the rows: [{"x": 4}]
        body = await error(
            api,
            "services",
            "model",
            "predict",
            method="POST",
            status=502,
            body=json.dumps({"nope": 1}),
        )
        assert body["error"] == "ServingCodeError" and "KeyError" in body["message"]
        t = time.time()
        ep.flush()
        inspected = await get_json(api, "services", "model")
        assert inspected["replicas"][0]["url"] == ep.url
        log = (await get_json(api, "services", "model", "log"))["items"]
        assert sum(w["requests"] for w in log) == 3 and {w["commit"] for w in log} == {c1}
        at = await get_json(api, "services", "model", "log", params={"at": str(t)})
        assert at["commits"] == [c1]
        events = (await get_json(api, "services", "model", "events"))["items"]
        assert [e["kind"] for e in events] == ["load", "start"]
        await error(api, "services", "nope", status=404)
        await error(api, "services", "nope", "log", status=404)
        bad = await error(api, "services", "model", "log", params={"at": "noon-ish"}, status=400)
        assert "invalid time" in bad["message"]
    finally:
        await asyncio.get_running_loop().run_in_executor(None, ep.stop)
    body = await error(
        api, "services", "model", "predict", method="POST", status=503, body=json.dumps({"x": 1})
    )
    assert body["error"] == "Unavailable"
    assert (await get_json(api, "services"))["items"] == []
    assert (await get_json(api, "services", params={"all": "1"}))["items"][0]["state"] == "stopped"


async def test_serve_notebook_must_be_inside_the_root_dir(
    api: Fetch, client: Client, jp_root_dir: Path
) -> None:
    client.create_repo("data")
    spec = {
        "pipeline": {"name": "model"},
        "input": {"pfs": {"repo": "data", "glob": "/"}},
        "transform": {"cmd": ["true"]},
        "serve": {"notebook": "../outside/serve.py"},
    }
    body = await error(api, "pipelines", method="POST", body=json.dumps(spec), status=400)
    assert body["field"] == "serve.notebook" and "outside the server's root" in body["message"]


@pytest.mark.parametrize("pipes_config", [True], indirect=True)
async def test_the_extension_runs_declared_endpoints(
    api: Fetch, client: Client, jp_root_dir: Path, pipes_app: PipesApp
) -> None:
    (jp_root_dir / "serve.py").write_text(SERVE_PY)
    client.create_repo("data")
    client.put_file("data@master", "/weights.json", json.dumps({"w": 5.0}).encode())
    spec = {  # the model is the pipeline's output (only its jobs write model@master, #12)
        "pipeline": {"name": "model"},
        "input": {"pfs": {"repo": "data", "glob": "/"}},
        "transform": {"cmd": ["bash", "-c", 'cp "$PFS/data/weights.json" "$out/"']},
        "serve": {"notebook": "serve.py"},
    }
    assert (await api("pipelines", method="POST", body=json.dumps(spec))).code == 201
    job = client.inspect_pipeline("model").last_job
    assert job is not None  # this server runs no controller: the test runs the job
    done = await asyncio.get_running_loop().run_in_executor(None, client.wait_job, job)
    assert done.state == "success"
    c1 = client.inspect_branch("model@master").head

    async def ready() -> bool:
        items = (await get_json(api, "services"))["items"]
        return bool(items) and items[0]["state"] == "ready" and items[0]["commits"] == [c1]

    await until(ready)
    answer = await get_json(
        api, "services", "model", "predict", method="POST", body=json.dumps({"x": 2})
    )
    assert (answer["commit"], answer["result"]) == (c1, {"y": 10.0})
    assert pipes_app.supervisor is not None
    (status,) = pipes_app.supervisor.status()
    assert status["running"] and status["pipeline"] == "model"
    await pipes_app.stop_extension()  # the server stops: its endpoints shut down gracefully
    assert not pipes_app.supervisor.status()[0]["running"]
    (replica,) = client.list_service(all=True)[0].replicas
    assert replica.state == "stopped"
