"""What the cluster panel shows: the Dask workers the controller uses, their kernels, the datums
in flight per job, and the dashboard's address.

:func:`cluster_info` looks at an :class:`~jupyter_pipes.pipeline.executor.Executor` and never
starts anything: with no cluster up it answers at once (``stopped``) with what would start.
With one, it costs one ``scheduler_info`` call and one :func:`probe` run on every worker (a few
milliseconds each): the worker's datum tasks (executing, or waiting on that worker) and its
warm kernels. Datum tasks still waiting at the scheduler (not yet on a worker) are the
executor's own futures that no worker holds.

This module does not import Dask: it calls methods of the ``distributed.Client`` it is handed,
and :func:`probe` receives the worker (``dask_worker``), so it stays out of the "one place that
imports Dask" (``executor.py`` and its helpers).

A datum task's key is ``datums-<job>-<first datum>-<n>`` (``Executor.run``): a batch of ``n``
datums run one after the other, so an executing task counts one datum running and ``n - 1``
queued (until the batch ends), a waiting task ``n`` queued.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..store.records import _Record
from .executor import Executor

ClusterState = Literal["stopped", "starting", "running", "unreachable"]
KEY_PREFIX = "datums-"
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


@dataclass(frozen=True, slots=True)
class KernelInfo(_Record):
    """One warm kernel of a worker."""

    kernel: str
    busy: bool
    """A datum is running in it now."""
    uses: int
    """Datums its current process has run (it is replaced after ``max_uses``)."""
    memory: int | None
    """Resident memory of the kernel process, bytes (None: not measurable)."""


@dataclass(frozen=True, slots=True)
class JobLoad(_Record):
    """Datums of one job in flight on one worker (or, in :class:`JobInFlight`, in all)."""

    job: str
    running: int
    queued: int


@dataclass(frozen=True, slots=True)
class WorkerInfo(_Record):
    """One Dask worker."""

    address: str
    name: str
    status: str
    threads: int
    memory_limit: int | None
    """Bytes (None: no limit)."""
    memory: int | None
    """Resident memory of the worker's process, bytes (kernels not included)."""
    cpu: float | None
    """Percent of one core used by the worker's process."""
    resources: dict[str, float]
    """Custom resources (``--resources GPU=1``)."""
    kernels: tuple[KernelInfo, ...] | None
    """Its warm kernels; None when the worker did not say (no jupyter_pipes plugin there)."""
    jobs: tuple[JobLoad, ...]
    """Datums in flight on this worker, per job."""
    shared_process: bool = False
    """Several workers are threads of one process (``memory`` and ``cpu`` are that
    process's)."""


@dataclass(frozen=True, slots=True)
class JobInFlight(_Record):
    """Datums of one job on the cluster."""

    job: str
    pipeline: str | None
    running: int
    queued: int
    """Waiting on a worker, or at the scheduler for a free worker."""
    workers: tuple[str, ...]
    """Addresses of the workers running or holding its datums."""


@dataclass(frozen=True, slots=True)
class Dashboard(_Record):
    """Where Dask's dashboard is."""

    url: str
    port: int
    loopback: bool
    """It listens on a loopback address: only a browser on the server's machine (or a proxy
    through the Jupyter server) reaches it."""


@dataclass(frozen=True, slots=True)
class ClusterInfo(_Record):
    """The cluster the controller uses, as the panel and ``%pipe cluster`` show it."""

    state: ClusterState
    kind: Literal["local", "external"]
    scheduler: str | None
    """The scheduler's address (an external one is shown even while not connected)."""
    planned_workers: int | None
    """Workers a local cluster starts with."""
    workers: tuple[WorkerInfo, ...] = ()
    jobs: tuple[JobInFlight, ...] = ()
    dashboard: Dashboard | None = None
    no_dashboard: str | None = None
    """Why there is no dashboard link while the cluster runs."""
    error: str | None = None


def cluster_info(
    executor: Executor | None, *, scheduler: str | None = None, n_workers: int | None = None
) -> ClusterInfo:
    """What the cluster of ``executor`` looks like now (never starts it).

    Parameters
    ----------
    executor:
        The controller's executor; None when no job ran yet (nothing started).
    scheduler, n_workers:
        The configuration of the executor that would start (used without ``executor``).
    """
    planned = executor or Executor(scheduler, n_workers=n_workers)  # starts nothing
    kind: Literal["local", "external"] = "external" if planned.scheduler else "local"
    base = ClusterInfo(
        state="stopped",
        kind=kind,
        scheduler=_redact(planned.scheduler),
        planned_workers=None if planned.scheduler else planned.n_workers,
    )
    if executor is None:
        return base
    client = executor.running_client
    if client is None:
        return replace(base, state="starting" if executor.starting else "stopped")
    try:
        info = client.scheduler_info(n_workers=-1)
        probes = client.run(probe, on_error="return")
        in_flight = executor.in_flight()
    except Exception as exc:  # the cluster went away between two looks
        return replace(base, state="unreachable", error=_short(exc))
    if kind == "local":
        base = replace(base, scheduler=_redact(getattr(client.scheduler, "address", None)))
    workers = _workers(info.get("workers", {}), probes)
    held = {
        k for p in probes.values() if isinstance(p, dict) for k in p["executing"] + p["waiting"]
    }
    dashboard = _dashboard(info, executor)
    no_dashboard = None
    if dashboard is None:
        no_dashboard = (
            "Dask's dashboard needs bokeh: pip install 'bokeh>=3.1', then restart"
            if kind == "local"
            else "the scheduler runs no dashboard"
        )
    return replace(
        base,
        state="running",
        workers=workers,
        jobs=_jobs(workers, held, in_flight),
        dashboard=dashboard,
        no_dashboard=no_dashboard,
    )


def probe(dask_worker: Any) -> dict[str, Any]:
    """Run on every worker (``Client.run`` passes the worker): its datum tasks and warm
    kernels. Never raises for a missing plugin; plain data only."""
    state = dask_worker.state
    executing = [str(ts.key) for ts in state.executing]
    waiting = [str(ts.key) for ts in state.ready]
    waiting += [str(ts.key) for ts in getattr(state, "constrained", ())]
    kernels = None
    from .dask_plugin import PLUGIN_NAME  # on the worker, where Dask is loaded anyway

    plugin = dask_worker.plugins.get(PLUGIN_NAME)
    pool = plugin.pool(dask_worker) if plugin is not None and hasattr(plugin, "pool") else None
    if pool is not None and hasattr(pool, "state"):
        kernels = [
            {"kernel": k["kernel"], "busy": k["busy"], "uses": k["uses"], "memory": _rss(k["pid"])}
            for k in pool.state()
        ]
    return {
        "executing": [k for k in executing if k.startswith(KEY_PREFIX)],
        "waiting": [k for k in waiting if k.startswith(KEY_PREFIX)],
        "kernels": kernels,
        "pid": os.getpid(),
    }


def parse_key(key: str) -> tuple[str, int] | None:
    """``(job id, datums in the task)`` of a datum task's key; None for other tasks."""
    if not key.startswith(KEY_PREFIX):
        return None
    job, _, rest = key[len(KEY_PREFIX) :].partition("-")
    _, _, count = rest.rpartition("-")
    if not job or not count.isdigit():
        return None
    return job, int(count)


def describe(
    info: ClusterInfo, *, controller: bool = True, idle_timeout_s: float | None = None
) -> str:
    """One plain sentence about the cluster's state (the panel's and ``%pipe cluster``'s)."""
    stops = ""
    if idle_timeout_s and info.kind == "local":
        stops = f"; it stops after {_duration(idle_timeout_s)} without a job"
    if info.state == "running":
        n = len(info.workers)
        threads = sum(w.threads for w in info.workers)
        what = "A local Dask cluster" if info.kind == "local" else "The Dask cluster"
        return (
            f"{what} is running: {n} worker{'s' if n != 1 else ''}, "
            f"{threads} thread{'s' if threads != 1 else ''}{stops}."
        )
    if info.state == "starting":
        if info.kind == "external":
            return f"Connecting to the Dask scheduler at {info.scheduler} for a job…"
        return f"Starting a local Dask cluster of {info.planned_workers} workers for a job…"
    if info.state == "unreachable":
        return f"The Dask cluster cannot be reached: {info.error}"
    if not controller:
        return (
            "No Dask cluster is running here: this server runs no jobs (its controller is "
            "off). The process that runs them (jupyter pipes wait, or another server) has its own."
        )
    if info.kind == "external":
        return (
            f"Not connected to the Dask scheduler at {info.scheduler}: the controller connects "
            "when the next job runs."
        )
    return (
        "No Dask cluster is running (it starts on demand): a local cluster of "
        f"{info.planned_workers} workers starts when the next job runs{stops}."
    )


# -- helpers -----------------------------------------------------------------------------------


def _workers(
    workers: Mapping[str, Mapping[str, Any]], probes: Mapping[str, Any]
) -> tuple[WorkerInfo, ...]:
    pids: dict[int, int] = {}
    for p in probes.values():
        if isinstance(p, dict):
            pids[p["pid"]] = pids.get(p["pid"], 0) + 1
    out = []
    for address, w in workers.items():
        p = probes.get(address)
        p = p if isinstance(p, dict) else None  # an exception: the worker did not answer
        metrics = w.get("metrics") or {}
        kernels = None
        if p is not None and p["kernels"] is not None:
            kernels = tuple(
                KernelInfo(str(k["kernel"]), bool(k["busy"]), int(k["uses"]), k["memory"])
                for k in p["kernels"]
            )
        out.append(
            WorkerInfo(
                address=str(address),
                name=str(w.get("name", address)),
                status=str(w.get("status", "running")),
                threads=int(w.get("nthreads") or 0),
                memory_limit=int(w["memory_limit"]) if w.get("memory_limit") else None,
                memory=_int(metrics.get("memory")),
                cpu=float(metrics["cpu"]) if metrics.get("cpu") is not None else None,
                resources={str(k): float(v) for k, v in (w.get("resources") or {}).items()},
                kernels=kernels,
                jobs=_loads(p["executing"], p["waiting"]) if p is not None else (),
                shared_process=p is not None and pids.get(p["pid"], 0) > 1,
            )
        )
    return tuple(sorted(out, key=lambda w: _natural(w.name)))


def _loads(executing: Iterable[str], waiting: Iterable[str]) -> tuple[JobLoad, ...]:
    counts: dict[str, list[int]] = {}
    for keys, is_running in ((executing, True), (waiting, False)):
        for key in keys:
            parsed = parse_key(key)
            if parsed is None:
                continue
            job, n = parsed
            c = counts.setdefault(job, [0, 0])
            if is_running:  # a batch runs its datums one after the other
                c[0] += 1
                c[1] += n - 1
            else:
                c[1] += n
    return tuple(JobLoad(job, r, q) for job, (r, q) in sorted(counts.items()))


def _jobs(
    workers: tuple[WorkerInfo, ...], held: set[str], in_flight: Mapping[str, list[str]]
) -> tuple[JobInFlight, ...]:
    totals: dict[str, tuple[int, int, list[str]]] = {}
    for w in workers:
        for load in w.jobs:
            r, q, ws = totals.get(load.job, (0, 0, []))
            totals[load.job] = (r + load.running, q + load.queued, [*ws, w.address])
    # the executor's tasks that no worker holds wait at the scheduler for a free worker
    for job, keys in in_flight.items():
        r, q, ws = totals.get(job, (0, 0, []))
        totals[job] = (r, q + _datums(k for k in keys if k not in held), ws)
    return tuple(
        JobInFlight(job, None, r, q, tuple(ws))
        for job, (r, q, ws) in sorted(totals.items())
        if r or q
    )


def _datums(keys: Iterable[str]) -> int:
    return sum(p[1] for p in map(parse_key, keys) if p is not None)


def _dashboard(info: Mapping[str, Any], executor: Executor) -> Dashboard | None:
    port = (info.get("services") or {}).get("dashboard")
    if not port:
        return None
    if not executor.scheduler and importlib.util.find_spec("bokeh") is None:
        return None  # our scheduler serves only Dask's "needs bokeh" page there
    if executor.scheduler:  # external: the scheduler's host, as Dask's own link has it
        host = urllib.parse.urlsplit(str(executor.scheduler)).hostname or "127.0.0.1"
    else:  # a local cluster's dashboard listens on this machine's loopback
        host = getattr(executor, "host", None) or "127.0.0.1"
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Dashboard(f"http://{netloc}/status", int(port), _is_loopback(host))


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _rss(pid: int | None) -> int | None:
    if pid is None:
        return None
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss)
    except Exception:  # gone, not permitted, or psutil missing
        return None


def _redact(url: str | None) -> str | None:
    if not url or "@" not in url:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


def _natural(name: str) -> tuple[Any, ...]:
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _duration(seconds: float) -> str:
    if seconds >= 120 and seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} s"
