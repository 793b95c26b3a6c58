"""Cancelling a job kills its running datums: kernels (warm and fresh) and commands.

``Executor.cancel_job`` is the primitive behind ``job_timeout`` (and ``stop job``): queued
datums never start, running ones are killed on every worker, and the worker is free for the
next job at once. Real kernels, real processes, a real one-worker Dask cluster (so a datum
left running would block the next job).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes import Client
from jupyter_pipes.pipeline.executor import Executor
from jupyter_pipes.pipeline.worker import DatumResult, DatumTask, Transform

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
SLOW = (
    "import os, pathlib, time\n"
    "with open(pidfile, 'a') as f:\n    f.write(f'{os.getpid()}\\n')\n"
    "time.sleep(600)"
)
SLOW_CMD = ["bash", "-c", 'echo $$ >> "$pidfile"; exec sleep 600']


def notebook(cells: list[str], params: str = "pidfile = ''") -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    return nbformat.writes(nb).encode()


def slow_transform(kind: str, pidfile: Path) -> Transform:
    if kind == "cmd":
        return Transform(cmd=tuple(SLOW_CMD), env={"pidfile": str(pidfile)})
    return Transform(
        notebook=notebook([SLOW]), isolation=kind, parameters={"pidfile": str(pidfile)}
    )


def gone(pid: int, within_s: float = 30.0) -> bool:
    """Whether process ``pid`` is gone (or a zombie) within ``within_s`` seconds."""
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except (ProcessLookupError, FileNotFoundError):
            return True
        time.sleep(0.1)
    return False


def wait_for(path: Path, within_s: float = 120.0) -> str:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written within {within_s} s")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    c = Client(str(tmp_path_factory.mktemp("cancel") / "store"))
    yield c.store_url
    c.close()


@pytest.fixture(scope="module")
def executor() -> Iterator[Executor]:
    ex = Executor(n_workers=1, processes=False)
    yield ex
    ex.close()


@pytest.mark.parametrize("kind", ["warm", "fresh", "cmd"])
def test_cancel_job_kills_its_running_datum_and_frees_the_worker(
    kind: str, store: str, executor: Executor, tmp_path: Path
) -> None:
    pidfile = tmp_path / "pids"
    job = f"slow-{kind}"
    tasks = [
        DatumTask(store, job, f"d{i}", (), slow_transform(kind, pidfile), tries=3) for i in range(3)
    ]
    out: list[Any] = []
    runner = threading.Thread(target=lambda: out.append(executor.run(tasks)))
    runner.start()
    pid = int(wait_for(pidfile))  # the first datum is running
    executor.cancel_job(job)
    runner.join(60)
    assert not runner.is_alive(), "run() did not return after cancel_job"
    results: list[DatumResult] = out[0]
    assert sorted(r.datum_id for r in results) == ["d0", "d1", "d2"]
    assert not any(r.ok for r in results)
    assert gone(pid), "the datum's process still runs"
    assert pidfile.read_text() == f"{pid}\n"  # no retry, no other datum of the job started
    # the only worker is free: another job's datum runs now, not after the 600 s sleep
    quick = Transform(cmd=("bash", "-c", "echo done"))
    (res,) = executor.run([DatumTask(store, f"next-{kind}", "n0", (), quick, tries=1)])
    assert res.ok, res.error
    # the datum's record says why it stopped
    killed = next(r for r in results if r.datum_id == "d0")
    assert killed.error is not None and killed.error["ename"] == "Cancelled"
    assert killed.error["evalue"] == f"job {job} was cancelled"


def test_cancel_job_is_harmless_without_a_cluster_or_for_an_unknown_job(
    executor: Executor,
) -> None:
    Executor(n_workers=1).cancel_job("nothing")  # no cluster started: nothing to do
    executor.cancel_job("never-ran")


def test_a_job_cancelled_before_its_run_starts_nothing_even_before_the_cluster_exists(
    store: str, tmp_path: Path
) -> None:
    """``stop job`` while the controller still plans the job (or starts the cluster): the
    cancel found no cluster and no task to kill, and the datums then started anyway and ran
    for ever (the job stayed running, the next job never started). A cancelled job's run now
    starts nothing, and a batch submitted after the cancel is cancelled too."""
    ex = Executor(n_workers=1, processes=False)
    try:
        ex.cancel_job("early")  # no cluster yet
        assert not ex.started
        pidfile = tmp_path / "pids"
        tasks = [DatumTask(store, "early", f"d{i}", (), slow_transform("cmd", pidfile), tries=1)
                 for i in range(2)]  # fmt: skip
        results = ex.run(tasks)
        assert sorted(r.datum_id for r in results) == ["d0", "d1"]
        assert all(r.error is not None and r.error["ename"] == "Cancelled" for r in results)
        assert not pidfile.exists()  # no datum started
        assert ex.cancelled("early") and not ex.cancelled("other")
    finally:
        ex.close()


@pytest.mark.parametrize("kind", ["cmd", "warm"])
def test_job_timeout_kills_the_datum_and_the_next_job_starts(kind: str, tmp_path: Path) -> None:
    """#19 item 4: a job past its ``job_timeout`` failed, but its datum's kernel kept running
    and the next job sat behind it. One worker, so a survivor would block the next job."""
    with Client(str(tmp_path / "store"), n_workers=1) as pipes:
        pipes.create_repo("inp")
        pipes.put_file("inp@master", "/a.txt", b"a")
        pidfile = tmp_path / "pids"
        # the job's clock starts when it is submitted: have the worker up first
        pipes.controller().executor.client.wait_for_workers(1, timeout=240)
        nb = tmp_path / "slow.ipynb"
        nb.write_bytes(notebook([SLOW]))
        if kind == "cmd":
            transform: dict[str, Any] = {"cmd": SLOW_CMD, "env": {"pidfile": str(pidfile)}}
        else:
            # warm the worker's kernel first, so the slow cell starts well within the timeout
            warmup = tmp_path / "warmup.ipynb"
            warmup.write_bytes(notebook(["x = 1"]))
            spec = {
                "pipeline": {"name": "warmup"},
                "input": {"pfs": {"repo": "inp", "glob": "/"}},
                "transform": {"notebook": str(warmup), "parameters": {"pidfile": ""}},
            }
            assert pipes.wait_job(pipes.create_pipeline(spec).last_job, timeout=120).state == (
                "success"
            )
            transform = {"notebook": str(nb), "parameters": {"pidfile": str(pidfile)}}
        spec = {
            "pipeline": {"name": "slow"},
            "input": {"pfs": {"repo": "inp", "glob": "/"}},
            "transform": transform,
            "job_timeout": "4s",
            "datum_tries": 3,
        }
        job = pipes.wait_job(pipes.create_pipeline(spec).last_job, timeout=120)
        assert job.state == "failure" and job.error["ename"] == "TimeoutError", job.error
        pid = int(pidfile.read_text().split()[0])
        assert gone(pid), "the timed-out datum's process still runs"
        quick = {
            "pipeline": {"name": "quick"},
            "input": {"pfs": {"repo": "inp", "glob": "/"}},
            "transform": {"cmd": ["bash", "-c", 'cp "$inp"/a.txt "$out"/']},
        }
        # with the slow datum alive, this job would wait ~600 s for the only worker
        after = pipes.wait_job(pipes.create_pipeline(quick).last_job, timeout=90)
        assert after.state == "success"
        assert pidfile.read_text() == f"{pid}\n"  # the killed datum was not retried
