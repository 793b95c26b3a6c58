"""The local Dask cluster: a scheduler in this process, workers in subprocesses (or threads).

Imported only by ``executor.py``, lazily, like ``dask.distributed`` itself (together they are
the one place that imports Dask).

Process workers are the default: the controller (this process) and every worker each get a
core, instead of all of them sharing one interpreter lock. They are started as *subprocesses*
(``python -m distributed.cli.dask_spec``), not by ``multiprocessing``: ``spawn`` and
``forkserver`` re-import the caller's ``__main__``, which breaks scripts without an
``if __name__ == "__main__":`` guard ("Nanny failed to start"), and ``fork`` of a process with
threads is unsafe. Plain workers (no nanny process each) start in about a second; a worker that
dies is replaced when the next job starts (:func:`heal`). A worker exits when this process (its
scheduler) goes away; its warm kernels exit with it (ipykernel watches its parent).

Thread workers remain an option (``processes=False``): they start in a fraction of a second and
see this process's ``memory://`` stores. Every listening socket (scheduler, workers, dashboard)
is bound to ``host``, 127.0.0.1 unless configured otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from typing import Any

from distributed import LocalCluster, Scheduler
from distributed.deploy.spec import ProcessInterface, SpecCluster

__all__ = ["dashboard_link", "heal", "local_cluster"]

_LOG = logging.getLogger(__name__)
_CLOSE_S = 5.0  # for a worker to close before it is killed


class SubprocessWorker(ProcessInterface):  # type: ignore[misc]
    """One Dask worker in a subprocess of ours (``distributed.cli.dask_spec``).

    Like ``distributed.deploy.subprocess.SubprocessWorker`` (experimental there), plus: the
    worker gets its spec name (so the cluster can tell which one died), the subprocess's
    Dask logging is quiet unless configured, and closing kills what the worker started.
    """

    def __init__(self, scheduler: str, name: str | int | None = None, **worker: Any) -> None:
        super().__init__()
        self.scheduler, self.name = scheduler, name
        self.options = {**worker, "name": name}
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        import json

        spec = json.dumps({"cls": "distributed.Worker", "opts": self.options})
        cmd = [sys.executable, "-m", "distributed.cli.dask_spec", self.scheduler, "--spec", spec]
        env = dict(os.environ)
        env.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
        self.process = await asyncio.create_subprocess_exec(*cmd, env=env)
        await super().start()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def close(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            import psutil

            try:  # its warm kernels and commands, which could outlive it
                children = psutil.Process(process.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                children = []
            process.terminate()  # the worker closes: its plugin stops its kernels
            try:
                await asyncio.wait_for(process.wait(), _CLOSE_S)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        await super().close()


def local_cluster(n_workers: int, *, processes: bool, host: str) -> Any:
    """Start a local cluster of ``n_workers`` single-threaded workers listening on ``host``."""
    from .resources import local_worker_resources

    dashboard = f"[{host}]:0" if ":" in host else f"{host}:0"
    resources = local_worker_resources(n_workers)  # for resource_requests (#13)
    if not processes:
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            resources=resources,
            processes=False,  # the scheduler and workers talk in-process (inproc://)
            dashboard_address=dashboard,
            worker_dashboard_address=dashboard,  # each worker's HTTP endpoint too
            silence_logs=logging.ERROR,
        )
    scheduler = {
        "cls": Scheduler,
        "options": {"host": host, "port": 0, "dashboard_address": dashboard},
    }
    worker = {
        "cls": SubprocessWorker,
        "options": {
            "host": host,
            "nthreads": 1,
            "resources": resources,
            "dashboard_address": dashboard,  # the worker's HTTP endpoint (health, metrics)
            "death_timeout": 60,  # give up if the scheduler cannot be reached at start
            # import the datum code while the worker starts, not in the first job's first task
            "preload": ["jupyter_pipes.pipeline.dask_plugin"],
        },
    }
    return SpecCluster(
        workers={i: worker for i in range(n_workers)},
        scheduler=scheduler,
        worker=worker,
        silence_logs=logging.ERROR,
        name="jupyter_pipes",
    )


def heal(cluster: Any) -> int:
    """Replace the subprocess workers of ``cluster`` that died; how many were replaced."""
    if not isinstance(cluster, SpecCluster):
        return 0
    dead = [
        name
        for name, w in list(cluster.workers.items())
        if isinstance(w, SubprocessWorker) and not w.alive and w.status.name != "created"
    ]
    if not dead:
        return 0
    n = len(cluster.worker_spec)
    for name in dead:
        _LOG.warning("local Dask worker %s died; starting a new one", name)
        cluster.worker_spec.pop(name, None)
    cluster.scale(n)  # closes the dead ones (no longer in the spec), starts new ones
    return len(dead)


def dashboard_link(cluster: Any, host: str) -> str | None:
    """The URL of the scheduler's dashboard (Dask's own link names the machine's address for
    an in-process scheduler, where nothing listens)."""
    port = (getattr(cluster, "scheduler_info", None) or {}).get("services", {}).get("dashboard")
    if not port:
        return None
    return f"http://[{host}]:{port}/status" if ":" in host else f"http://{host}:{port}/status"
