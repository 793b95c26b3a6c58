"""The sidebar's Endpoints section in a real Chromium against a real ``jupyter lab``: an endpoint
serving ``model@master`` (started here, on the server's store) shows with its live commit and
counts; "try it" predicts through the server and names the commit; after a revert of the model
the section and the answer follow the new commit."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import Lab

SERVE = """\
import json
from pathlib import Path

def load(model_dir):
    return json.loads((Path(model_dir) / "model.json").read_text())

def predict(model, request):
    return {"rows": model["rows"], "x": request["x"]}
"""


@pytest.fixture
def endpoint(client: Any, tmp_path: Path) -> Iterator[Any]:
    (tmp_path / "serve.py").write_text(SERVE)
    ep = client.serve("model@master", tmp_path / "serve.py", poll_interval=0.1)
    yield ep
    ep.stop()


def test_endpoints_show_the_live_commit_and_try_it_answers(
    page: Any, client: Any, endpoint: Any, lab: Lab
) -> None:
    panel = page.locator("#jupyter-pipes-panel")
    section = panel.locator("[data-section=endpoints]")
    row = section.locator(".jp-Pipes-endpoint[data-service=model]")
    row.wait_for()
    head = client.inspect_commit("model@master").id
    assert row.get_attribute("data-state") == "ready"
    assert row.locator("[data-commit]").first.get_attribute("data-commit") == head
    assert head[:8] in row.inner_text() and "model@master" in row.inner_text()
    # try it: the answer comes through the server and names the commit
    row.get_by_role("button", name="Try it").click()
    row.get_by_label("Request body for model").fill(json.dumps({"x": 7}))
    row.get_by_role("button", name="Predict").click()
    answer = row.locator(".jp-Pipes-tryAnswer")
    answer.wait_for()
    assert answer.get_attribute("data-commit") == head
    rows = json.loads(client.get_file("model@master", "/model.json"))["rows"]
    assert f"model@{head[:8]}" in answer.inner_text()
    assert json.loads(answer.locator("pre").inner_text()) == {"rows": rows, "x": 7}
    # the counts follow (the section refreshes itself)
    row.locator(".jp-Pipes-muted", has_text="1 requests").wait_for()
    # a revert moves the branch: the endpoint swaps, the section and the next answer follow
    reverted = client.revert("model@master", to="model@master^").id
    deadline = time.monotonic() + 60
    while endpoint.commit != reverted:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    row.locator(f"[data-commit='{reverted}']").wait_for(timeout=30000)
    row.get_by_role("button", name="Predict").click()
    section.locator(f".jp-Pipes-tryAnswer[data-commit='{reverted}']").wait_for()
    old_rows = json.loads(client.get_file("model@master", "/model.json"))["rows"]
    assert json.loads(answer.locator("pre").inner_text()) == {"rows": old_rows, "x": 7}
    assert old_rows != rows  # the revert restored the first model


def test_no_endpoint_says_how_to_start_one(page: Any) -> None:
    section = page.locator("#jupyter-pipes-panel [data-section=endpoints]")
    empty = section.locator(".jp-Pipes-empty", has_text="No endpoint is running")
    empty.wait_for()
    assert "jupyter pipes serve model@master" in empty.inner_text()
