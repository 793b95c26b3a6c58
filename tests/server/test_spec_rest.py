"""Specs over HTTP (#13, #19): Pachyderm spellings, ignored fields named in the reply, hostile
YAML refused with 400, and spec parsing off the server's event loop."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.server.handlers import pipelines as handlers

from .helpers import Fetch, error


@pytest.fixture
def data(client: Client) -> None:
    client.create_repo("data")


SPEC = {
    "pipeline": {"name": "p"},
    "input": {"pfs": {"repo": "data", "glob": "/*", "emptyFiles": False}},
    "transform": {"cmd": ["true"], "image": "busybox:1"},
    "parallelismSpec": {"constant": 1},
}


async def test_camel_case_spec_with_ignored_fields(
    api: Fetch, data: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    real = handlers.load_spec

    def spy(source: Any) -> Any:
        threads.append(threading.current_thread())
        return real(source)

    monkeypatch.setattr(handlers, "load_spec", spy)
    resp = await api("pipelines", method="POST", body=json.dumps(SPEC))
    created = json.loads(resp.body)
    assert resp.code == 201 and created["ignored"] == ["transform.image"]
    assert created["spec"]["parallelism_spec"] == {"constant": 1}
    assert threads and threading.main_thread() not in threads  # parsed off the event loop


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("pipeline: {name: p}\nx: " + "[" * 100_000 + "]" * 100_000, "nested deeper than 64"),
        (json.dumps({**SPEC, "datum_tries": 1e23}), "datum_tries: input should be less than"),
        (json.dumps({**SPEC, "spout": {}}), "spout: spout pipelines are not supported"),
        (json.dumps(SPEC) + json.dumps(SPEC), "expected one spec, found 2"),
    ],
    ids=["deep-yaml", "huge-tries", "spout", "two-specs"],
)
async def test_hostile_or_unsupported_specs_are_400(
    api: Fetch, data: None, body: str, fragment: str
) -> None:
    err = await error(api, "pipelines", method="POST", body=body, status=400)
    assert err["error"] == "InvalidArgument" and fragment in err["message"]
    assert "Traceback" not in json.dumps(err)
