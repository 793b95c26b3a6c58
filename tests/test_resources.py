"""Spec resources as Dask worker resources (#13): the mapping, and the fail-fast check."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.pipeline.resources import (
    dask_resources,
    local_worker_resources,
    parse_resources,
    unschedulable,
)
from jupyter_pipes.pipeline.spec import parse_spec

BASE: dict[str, Any] = {
    "pipeline": {"name": "p"},
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": ["true"]},
}


def test_requests_and_limits_become_dask_resources() -> None:
    requests = {"cpu": "500m", "memory": "1Gi"}
    limits = {"cpu": 2, "gpu": {"number": 1}, "disk": "10G"}
    spec = parse_spec({**BASE, "resource_requests": requests, "resource_limits": limits})
    assert dask_resources(spec) == {"CPU": 0.5, "MEMORY": 2**30, "GPU": 1.0, "DISK": 10**10}
    assert dask_resources(parse_spec(BASE)) == {}


def workers(*resources: dict[str, float]) -> dict[str, Any]:
    return {f"tcp://127.0.0.1:{i}": {"resources": r} for i, r in enumerate(resources)}


def test_a_request_no_worker_meets_is_named() -> None:
    cluster = workers({"CPU": 1, "MEMORY": 4e9}, {"CPU": 1, "MEMORY": 4e9, "GPU": 1})
    assert unschedulable({"GPU": 1, "CPU": 1}, cluster) is None
    assert unschedulable({}, workers()) is None
    why = unschedulable({"GPU": 2}, cluster)
    assert why is not None and why.startswith("gpu: the datums need GPU=2, the most any of its 2")
    assert '--resources "GPU=2"' in why
    why = unschedulable({"MEMORY": 8 * 2**30}, cluster)
    assert why is not None and why.startswith("memory: the datums need MEMORY=8 GiB")
    # each resource exists somewhere, never together
    why = unschedulable({"GPU": 1, "MEMORY": 8e9}, workers({"MEMORY": 9e9}, {"GPU": 1}))
    assert why is not None and why.startswith("no worker has all of GPU=1, MEMORY=7.45 GiB")


def test_worker_resources(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse_resources("GPU=1 CPU=4,MEMORY=16e9") == {"GPU": 1, "CPU": 4, "MEMORY": 16e9}
    with pytest.raises(InvalidArgument, match="expected NAME=NUMBER"):
        parse_resources("GPU")
    monkeypatch.setenv("JUPYTER_PIPES_WORKER_RESOURCES", "GPU=1")
    local = local_worker_resources(2)
    assert local["GPU"] == 1 and local["CPU"] >= 1 and local["MEMORY"] > 0
