"""Parallelism and resources on Dask (#13): parallelism_spec bounds a job's concurrent datums;
resource requests are Dask worker resources (on a 2-worker cluster where one worker has GPU=1, a
gpu datum runs only there); a request no worker can meet fails the job at once, naming it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client

pytestmark = pytest.mark.slow


def peak(log: Path) -> int:
    """The most intervals open at once in a log of 'start'/'end' lines with timestamps."""
    events = []
    for line in log.read_text().splitlines():
        kind, ns = line.split()
        events.append((int(ns), 1 if kind == "start" else -1))
    level = top = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):  # an end before a start
        level += step
        top = max(top, level)
    return top


def timed(log: Path) -> list[str]:
    return [f'echo "start $(date +%s%N)" >> {log}', "sleep 1.5",
            f'echo "end $(date +%s%N)" >> {log}', "cp $data /pfs/out/"]  # fmt: skip


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"), n_workers=3)
    c.create_repo("data")
    with c.start_commit("data@master") as oc:
        for i in range(6):
            oc.put_file(f"/f{i}", b"x")
    yield c
    c.close()


@pytest.mark.parametrize("limit", [1, 2, None])
def test_parallelism_bounds_concurrent_datums(local: Client, tmp_path: Path, limit: Any) -> None:
    log = tmp_path / f"times-{limit}.log"
    spec: dict[str, Any] = {
        "pipeline": {"name": f"p{limit}"},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["bash"], "stdin": timed(log)},
    }
    if limit:
        spec["parallelism_spec"] = {"constant": limit}
    info = local.create_pipeline(spec)
    assert not isinstance(info, list)
    job = local.wait_job(info.last_job, timeout=300)
    assert job.state == "success" and job.processed == 6, job.error
    if limit:
        assert peak(log) <= limit
    else:  # the control: without a limit the 3 workers do overlap (the log can show it)
        assert peak(log) > 1


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def gpu_cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and two workers on loopback; only the one named 'gpu' has GPU=1."""
    port = _port()
    addr = f"tcp://127.0.0.1:{port}"
    logs = open(tmp_path / "dask.log", "wb")  # noqa: SIM115 - closed below
    common = ["--nthreads", "1", "--no-nanny", "--dashboard-address", ":0", "--host", "127.0.0.1"]
    procs = [subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
         "--port", str(port), "--dashboard-address", ":0"], stdout=logs, stderr=logs)]  # fmt: skip
    for name, extra in (("gpu", ["--resources", "GPU=1"]), ("cpu", [])):
        env = {**os.environ, "WORKER_NAME": name}
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", addr, *common, *extra],
            stdout=logs, stderr=logs, env=env))  # fmt: skip
    try:
        from distributed import Client as DaskClient

        with DaskClient(addr, timeout=60) as dc:
            dc.wait_for_workers(2, timeout=60)
        yield addr
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        logs.close()


def test_a_gpu_datum_runs_only_where_the_gpu_is(gpu_cluster: str, tmp_path: Path) -> None:
    with Client(str(tmp_path / "store"), scheduler=gpu_cluster) as c:
        c.create_repo("data")
        with c.start_commit("data@master") as oc:
            for i in range(6):
                oc.put_file(f"/f{i}", b"x")
        spec = {
            "pipeline": {"name": "train"},
            "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["bash"],
                          "stdin": ['echo "$WORKER_NAME" > /pfs/out/$(basename $data)']},
            "resource_limits": {"gpu": {"type": "nvidia.com/gpu", "number": 1}},
        }  # fmt: skip
        info = c.create_pipeline(spec)
        assert not isinstance(info, list)
        job = c.wait_job(info.last_job, timeout=300)
        assert job.state == "success", job.error
        ran_on = {c.get_file("train@master", f"/f{i}").strip() for i in range(6)}
        assert ran_on == {b"gpu"}
        plain = c.create_pipeline({**spec, "pipeline": {"name": "any"}, "resource_limits": None})
        assert not isinstance(plain, list)
        assert c.wait_job(plain.last_job, timeout=300).state == "success"

        two = {**spec, "pipeline": {"name": "two"},
               "resource_requests": {"gpu": {"number": 2}}}  # fmt: skip
        info = c.create_pipeline(two)
        assert not isinstance(info, list)
        job = c.wait_job(info.last_job, timeout=60)
        assert job.state == "failure" and job.processed == 0
        assert job.error is not None and job.error["ename"] == "Unschedulable"
        assert job.reason.startswith("gpu: the datums need GPU=2, the most any of its 2 worker")
