"""``Client.cluster_info``: the Dask cluster the controller uses, for the cluster panel and
``%pipe cluster``: nothing before the first job (and nothing started by looking), then the
workers, their warm kernels and the datums in flight per job, on a local cluster and on an
external scheduler whose second worker has ``--resources GPU=1``."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes import Client
from jupyter_pipes.magics import bridge
from jupyter_pipes.magics.cluster import render
from jupyter_pipes.magics.commands import Notebook, notebook
from jupyter_pipes.pipeline.cluster_info import ClusterInfo, describe, parse_key

from .external_dask import external_cluster

WAIT_S = 120.0  # bound of every wait below (a loaded machine is slow; nothing is timed)


def gated_cmd(gate: Path) -> list[str]:
    """A datum that waits until ``gate`` exists, then copies its input."""
    wait = f'while [ ! -e "{gate}" ]; do sleep 0.05; done'
    return ["bash", "-c", f'{wait}; cp -r "$PFS/data"/. "$out"/']


def gated_notebook(path: Path, gate: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Py", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell("data = ''\nout = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import pathlib, time\n"
            f"while not pathlib.Path({str(gate)!r}).exists():\n"
            "    time.sleep(0.05)\n"
            "for f in pathlib.Path(data).iterdir():\n"
            "    (pathlib.Path(out) / f.name).write_text('ok')"
        ),
    ]
    nbformat.write(nb, path)
    return path


def wait_for(look: Callable[[], ClusterInfo], ok: Callable[[ClusterInfo], bool]) -> ClusterInfo:
    deadline = time.monotonic() + WAIT_S
    while True:
        info = look()
        if ok(info):
            return info
        assert time.monotonic() < deadline, f"never happened; last seen: {info}"
        time.sleep(0.1)


def start_job(c: Client, spec: dict[str, Any], files: int) -> tuple[str, Future[Any]]:
    """Commit ``files`` input files, create the pipeline; run its job on a thread."""
    c.create_repo("data")
    with c.start_commit("data@master") as oc:
        for i in range(files):
            oc.put_file(f"/f{i}.txt", f"file {i}".encode())
    job = c.create_pipeline(spec).last_job
    assert job is not None
    pool = ThreadPoolExecutor(1)
    fut = pool.submit(c.wait_job, job, timeout=WAIT_S * 2)
    pool.shutdown(wait=False)
    return job, fut


def cmd_spec(name: str, gate: Path) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": gated_cmd(gate)},
        "datum_tries": 1,
    }


def magic(client: Client, *args: str) -> Any:
    """``x = %pipe cluster --json ARGS`` on ``client``, as the magic runs it."""
    nb = Notebook(lambda: client, {})
    outcome = bridge.invoke(notebook, ["cluster", "--json", *args], nb, capture=False)
    assert outcome.status == 0, outcome.stderr
    return nb.result


# -- pure parts ----------------------------------------------------------------------------------


def test_datum_task_keys_name_their_job_and_batch_size() -> None:
    assert parse_key("datums-0123abcd-d0e1f2-32") == ("0123abcd", 32)
    assert parse_key("datums-0123abcd-d0e1f2-1") == ("0123abcd", 1)
    assert parse_key("sum-0123") is None and parse_key("datums-x") is None


# -- a local cluster ---------------------------------------------------------------------------


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"), n_workers=2)
    yield c
    c.close()


def test_before_the_first_job_it_says_so_and_looking_starts_nothing(local: Client) -> None:
    info = local.cluster_info()
    assert (info.state, info.kind, info.planned_workers) == ("stopped", "local", 2)
    assert info.workers == () and info.jobs == () and info.dashboard is None
    assert local._executor is None  # looking started no cluster (and no executor)
    text = describe(info, idle_timeout_s=120)
    assert "No Dask cluster is running" in text and "when the next job runs" in text
    assert "2 minutes" in text
    assert "controller is off" in describe(info, controller=False)
    shown = magic(local, "--here")
    assert shown["state"] == "stopped" and shown["message"] == describe(info)
    assert "No Dask cluster is running" in repr(render(shown, "this kernel's own"))
    assert local._executor is None


def test_a_running_job_shows_its_datums_on_the_workers_then_none(
    local: Client, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    job, done = start_job(local, cmd_spec("copy", gate), files=3)
    info = wait_for(local.cluster_info, lambda i: any(j.running == 2 for j in i.jobs))
    assert info.state == "running" and len(info.workers) == 2
    assert [w.threads for w in info.workers] == [1, 1]
    (flight,) = info.jobs
    # two datums run (one per worker thread), the third waits (on a worker or at the scheduler)
    assert (flight.job, flight.pipeline, flight.running, flight.queued) == (job, "copy", 2, 1)
    assert sorted(flight.workers) == sorted(w.address for w in info.workers)
    for w in info.workers:
        assert sum(load.running for load in w.jobs if load.job == job) == 1
        assert w.kernels == ()  # the plugin answers: no warm kernel yet (a cmd pipeline)
        assert not w.shared_process and w.memory  # process workers (the default)
    assert json.dumps(info.to_dict())  # plain JSON
    if importlib.util.find_spec("bokeh") is None:  # Dask serves only a "needs bokeh" page
        assert info.dashboard is None and "needs bokeh" in (info.no_dashboard or "")
    else:  # the local cluster's dashboard listens on loopback only
        assert info.dashboard is not None and info.dashboard.loopback
        assert info.dashboard.url.startswith("http://127.0.0.1:")
    assert "running: 2 workers, 2 threads" in describe(info)
    shown = magic(local)  # %pipe cluster (here: no Jupyter server started this process)
    assert shown["state"] == "running" and shown["jobs"][0]["running"] == 2
    text = repr(render(shown, "this kernel's own"))
    assert "WORKER" in text and f"{job[:8]}: 1 running" in text and "copy" in text
    gate.touch()
    assert done.result().state == "success"
    after = local.cluster_info()
    assert after.state == "running" and after.jobs == ()
    assert all(w.jobs == () for w in after.workers)
    local.close()
    assert local.cluster_info().state == "stopped"  # a stopped cluster says so again


def test_warm_kernels_are_listed_busy_then_idle_with_their_uses(
    local: Client, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    nb = gated_notebook(tmp_path / "wait.ipynb", gate)
    spec = {
        "pipeline": {"name": "warm"},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"notebook": str(nb), "isolation": "warm"},
        "datum_tries": 1,
    }
    job, done = start_job(local, spec, files=2)

    def busy(i: ClusterInfo) -> int:  # kernels running a datum's cells (started, entered)
        return sum(k.busy and k.uses == 1 for w in i.workers for k in w.kernels or ())

    info = wait_for(local.cluster_info, lambda i: busy(i) == 2)
    assert [len(w.kernels or ()) for w in info.workers] == [1, 1]  # one kernel per worker
    assert info.jobs[0].job == job and info.jobs[0].running == 2
    kernels = [k for w in info.workers for k in w.kernels or ()]
    assert all(k.kernel == "python3" and k.uses == 1 for k in kernels)
    assert all(k.memory and k.memory > 1_000_000 for k in kernels)  # a live process's RSS
    gate.touch()
    finished = done.result()
    assert finished.state == "success", finished.error
    idle = wait_for(
        local.cluster_info, lambda i: not any(k.busy for w in i.workers for k in w.kernels or ())
    )
    assert sorted(k.uses for w in idle.workers for k in w.kernels or ()) == [1, 1]


# -- an external scheduler ---------------------------------------------------------------------


@pytest.fixture
def gpu_cluster(tmp_path: Path) -> Iterator[str]:
    """A scheduler and two workers; the second one has a GPU resource."""
    with external_cluster(tmp_path, [[], ["--resources", "GPU=1", "--name", "gpu-worker"]]) as a:
        yield a


def test_an_external_cluster_shows_its_workers_resources_and_datums(
    gpu_cluster: str, tmp_path: Path
) -> None:
    with Client(str(tmp_path / "store"), scheduler=gpu_cluster) as c:
        before = c.cluster_info()
        assert (before.state, before.kind, before.scheduler) == ("stopped", "external", gpu_cluster)
        assert "Not connected to the Dask scheduler at tcp://127.0.0.1:" in describe(before)
        gate = tmp_path / "gate"
        job, done = start_job(c, cmd_spec("copy", gate), files=2)
        info = wait_for(c.cluster_info, lambda i: any(j.running == 2 for j in i.jobs))
        assert info.scheduler == gpu_cluster and len(info.workers) == 2
        by_name = {w.name: w for w in info.workers}
        assert by_name["gpu-worker"].resources == {"GPU": 1.0}
        (other,) = [w for n, w in by_name.items() if n != "gpu-worker"]
        assert other.resources == {}
        for w in info.workers:
            assert not w.shared_process and w.memory and w.memory > 0
            assert w.memory_limit and w.memory_limit > 0
            assert w.kernels == ()  # jupyter_pipes' plugin runs there too
            assert [(load.job, load.running) for load in w.jobs] == [(job, 1)]
        assert (info.jobs[0].pipeline, info.jobs[0].running, info.jobs[0].queued) == ("copy", 2, 0)
        assert info.dashboard is not None  # the scheduler's own host and dashboard port
        assert info.dashboard.url == f"http://127.0.0.1:{info.dashboard.port}/status"
        gate.touch()
        assert done.result().state == "success"
