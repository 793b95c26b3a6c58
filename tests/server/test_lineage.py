"""Lineage routes (#14) through a real jupyter-server, on a copy of the iris demo's store."""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_pipes import Client

from ..lineage_stores import Demo, demo_store
from .helpers import Fetch, error, get_json

pytest.importorskip("sklearn")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

PRED = "/batch-01.predictions.csv"


@pytest.fixture
def demo(tmp_path: Path) -> Demo:
    return demo_store(tmp_path / "store")


@pytest.fixture
def store_path(demo: Demo) -> Path:
    """The server's store: the demo's."""
    return demo.store


async def test_lineage_of_a_prediction(api: Fetch, demo: Demo) -> None:
    lin = await get_json(
        api,
        "repos",
        "predict",
        "commits",
        demo.predict_before_revert,
        "lineage",
        params={"path": PRED},
    )
    assert lin["root"] == f"predict@{demo.predict_before_revert}:{PRED}"
    steps = {s["pipeline"]: s for s in lin["steps"]}
    assert set(steps) == {"predict", "model"}
    assert steps["model"]["notebook"] == "train.ipynb" and steps["model"]["cell"]["source"]
    training = {f["path"]: f for f in lin["files"] if f["repo"] == "training"}
    assert training["/iris-part2.csv"]["written_in"] == demo.training[1]
    commits = {c["id"]: c for c in lin["commits"]}
    assert commits[demo.training[1]]["message"] == "48 more labelled iris rows"
    quick = await get_json(
        api, "repos", "predict", "commits", "master", "lineage", params={"path": PRED, "cells": "0"}
    )
    assert all(s["cell"] is None for s in quick["steps"])


async def test_explain_a_model_revert(api: Fetch, demo: Demo) -> None:
    before, after = demo.predict_before_revert, demo.predict_after_revert
    ex = await get_json(
        api, "explain", params={"old": f"predict@{before}:{PRED}", "new": f"predict@{after}"}
    )
    assert [(d["kind"], d["repo"], d["path"]) for d in ex["differences"]] == [
        ("result", "predict", PRED),
        ("upstream", "model", None),
        ("file", "training", "/iris-part2.csv"),
    ]
    upstream = ex["differences"][1]
    assert (upstream["old_commit"], upstream["new_commit"]) == (demo.model[1], demo.model[2])


async def test_errors(api: Fetch, demo: Demo) -> None:
    body = await error(
        api, "repos", "model", "commits", "master", "lineage", params={"path": "/"}, status=400
    )
    assert body["error"] == "InvalidArgument" and "directory" in body["message"]
    body = await error(api, "repos", "model", "commits", "master", "lineage", status=400)
    assert body["field"] == "path"
    await error(
        api, "repos", "model", "commits", "master", "lineage", params={"path": "/nope"}, status=404
    )
    body = await error(
        api, "explain", params={"old": "model@master", "new": "training@master"}, status=400
    )
    assert "one repo" in body["message"]
    await error(api, "explain", params={"old": "model@master"}, status=400)


async def test_timeline(api: Fetch, demo: Demo, client: Client) -> None:
    v2, revert = (client.inspect_commit(f"model@{c}") for c in demo.model[1:3])
    assert v2.finished is not None and revert.finished is not None
    log = await get_json(api, "repos", "model", "branches", "master", "log")
    moves = [(m["cause"], m["new"]) for m in log["items"]]
    assert ("revert", demo.model[2]) in moves and ("pipeline", demo.model[1]) in moves
    moment = v2.finished + (revert.finished - v2.finished) / 2
    at = await get_json(
        api, "repos", "model", "branches", "master", "at", params={"time": moment.isoformat()}
    )
    assert at["commit"]["id"] == demo.model[1] and at["move"]["cause"] == "pipeline"
    body = await error(api, "repos", "model", "branches", "master", "at", status=400)
    assert body["field"] == "time"
    body = await error(
        api, "repos", "model", "branches", "master", "at", params={"time": "x"}, status=400
    )
    assert "invalid time" in body["message"]


async def test_metrics(api: Fetch, demo: Demo) -> None:
    v1, v2, revert = demo.model
    listed = await get_json(api, "repos", "model", "branches", "master", "metrics")
    values = {m["commit"]: m["values"]["rows"] for m in listed["items"]}
    assert (values[v1], values[v2], values[revert]) == (72, 120, 72)
    one = await get_json(api, "repos", "model", "commits", revert, "metrics")
    assert (one["origin"], one["source"], one["values"]["rows"]) == ("revert", v1, 72)
    diff = await get_json(
        api, "metrics", "diff", params={"old": f"model@{v1}", "new": f"model@{v2}"}
    )
    rows = next(c for c in diff["changes"] if c["name"] == "rows")
    assert (rows["old"], rows["new"], rows["change"]) == (72, 120, 48)
    kinds = [(d["kind"], d["path"]) for d in diff["explanation"]["differences"]]
    assert kinds == [("result", None), ("file", "/iris-part2.csv")]
    quick = await get_json(
        api, "metrics", "diff", params={"old": f"model@{v1}", "new": "model@master", "why": "0"}
    )
    assert quick["explanation"] is None
    body = await error(api, "repos", "training", "branches", "master", "metrics", status=404)
    assert "not a pipeline" in body["message"]
    body = await error(
        api, "metrics", "diff", params={"old": "model@master", "new": "training@master"}, status=400
    )
    assert "one pipeline's output" in body["message"]
    body = await error(api, "metrics", "diff", params={"old": "model@master"}, status=400)
    assert body["field"] == "new"
