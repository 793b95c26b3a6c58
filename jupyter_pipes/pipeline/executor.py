"""Running datum tasks on Dask: the one module that imports dask.distributed.

By default a local cluster is started on first use (:mod:`~jupyter_pipes.pipeline.cluster`):
the scheduler in this process, one single-threaded worker *process* per core, started as
subprocesses (so scripts without a ``__name__ == "__main__"`` guard work), everything listening
on 127.0.0.1 only (``JUPYTER_PIPES_DASK_HOST`` or ``host=`` to change it). Thread workers
(``JUPYTER_PIPES_DASK_PROCESSES=0`` or ``processes=False``) start faster and see ``memory://``
stores, but share this process's interpreter lock with the controller. Set a scheduler address
(``JUPYTER_PIPES_DASK_SCHEDULER`` or ``scheduler=``) to use any existing Dask cluster.

When the client starts, the :class:`~jupyter_pipes.pipeline.dask_plugin.WarmKernels` worker
plugin is registered: each worker keeps warm kernels for ``isolation: warm`` notebooks. Tiny
datums (commands, warm notebooks) are submitted in batches of up to :data:`MAX_BATCH`, about
four batches per worker thread, so the scheduler round trip (~1 ms) is paid per batch; results
are still reported per datum.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .cancel import Cancelled
from .worker import DatumResult, DatumTask

_KEEP_CANCELLED = 1024  # cancelled job ids an executor remembers (a job never runs again)

ENV_SCHEDULER = "JUPYTER_PIPES_DASK_SCHEDULER"
ENV_PROCESSES = "JUPYTER_PIPES_DASK_PROCESSES"
ENV_HOST = "JUPYTER_PIPES_DASK_HOST"
ENV_WARM_MAX_USES = "JUPYTER_PIPES_WARM_MAX_USES"
MAX_BATCH = 32  # datums per Dask task, at most
log = logging.getLogger(__name__)


class Executor:
    """Submits datum tasks to a Dask cluster and gathers their results.

    Parameters
    ----------
    scheduler:
        Address of an existing scheduler (``tcp://host:8786``). Default:
        ``$JUPYTER_PIPES_DASK_SCHEDULER``, else a local cluster started on demand.
    n_workers:
        Workers of the local cluster (default: one per CPU core this process may use).
    processes:
        Whether local workers are processes (the default) or threads of this process
        (``$JUPYTER_PIPES_DASK_PROCESSES=0``; ``memory://`` stores need threads).
    host:
        Address the local cluster listens on (scheduler, workers, dashboards). Default:
        ``$JUPYTER_PIPES_DASK_HOST``, else ``127.0.0.1``.
    warm_max_uses:
        Datums a warm kernel runs before it is replaced by a new one (default:
        ``$JUPYTER_PIPES_WARM_MAX_USES``, else 200).
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int | None = None,
        processes: bool | None = None,
        host: str | None = None,
        warm_max_uses: int | None = None,
    ) -> None:
        self.scheduler = scheduler or os.environ.get(ENV_SCHEDULER) or None
        self.n_workers = n_workers or _cores()
        if processes is None:
            processes = os.environ.get(ENV_PROCESSES, "1").lower() not in ("0", "false", "no")
        self.processes = processes
        self.host = host or os.environ.get(ENV_HOST) or "127.0.0.1"
        self.warm_max_uses = warm_max_uses or int(os.environ.get(ENV_WARM_MAX_USES) or 200)
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()
        self._running: dict[str, list[Any]] = {}  # job id -> its futures, while run() waits
        self._cancelled: dict[str, None] = {}  # job ids cancelled here (newest last, bounded)
        self._datums: dict[str, dict[str, tuple[float, str]]] = {}  # job -> datums running

    @property
    def started(self) -> bool:
        """True once the cluster (or the connection to an existing scheduler) is up."""
        return self._client is not None

    @property
    def client(self) -> Any:
        """The ``distributed.Client``, started on first use."""
        with self._lock:
            if self._client is None:
                from distributed import Client

                if self.scheduler:
                    self._client = Client(self.scheduler, set_as_default=False)
                else:
                    from .cluster import local_cluster

                    self._cluster = local_cluster(
                        self.n_workers, processes=self.processes, host=self.host
                    )
                    self._client = Client(self._cluster, set_as_default=False)
                from .dask_plugin import DATUM_TOPIC, WarmKernels

                self._client.register_plugin(WarmKernels(self.warm_max_uses))
                self._client.subscribe_topic(DATUM_TOPIC, self._on_datum_event)
            return self._client

    @property
    def dashboard_link(self) -> str | None:
        """The URL of the Dask dashboard (None before the cluster starts)."""
        if self._client is None:
            return None
        if self._cluster is None:
            return self._client.dashboard_link  # type: ignore[no-any-return]
        from .cluster import dashboard_link

        return dashboard_link(self._cluster, self.host)

    def run(
        self,
        tasks: Iterable[DatumTask],
        on_result: Callable[[DatumResult], None] | None = None,
        timeout_s: float | None = None,
        parallelism: int | None = None,
        resources: dict[str, float] | None = None,
    ) -> list[DatumResult]:
        """Run every task; results in completion order. A task that raises (or whose worker
        died too often) becomes a failed result, so one datum never sinks the others.

        Datums go to Dask in batches (see :meth:`batch_size`); ``on_result`` is still called
        once per datum, as its batch completes. ``parallelism`` (``parallelism_spec``): at
        most that many batches of the job are submitted at once, so at most that many datums
        run at once. ``resources`` (:func:`~.resources.dask_resources`): Dask worker resources
        each batch needs; raises :class:`~jupyter_pipes.errors.Unschedulable` at once when no
        worker of the cluster has them."""
        from distributed import as_completed

        from .dask_plugin import failed_result, run_batch

        tasks = list(tasks)
        if not tasks:
            return []
        job_id = tasks[0].job_id
        if self.cancelled(job_id):  # stopped while it was being planned: start nothing
            return [failed_result(t, Cancelled(job_id)) for t in tasks]
        client = self.client
        if self._cluster is not None:
            from .cluster import heal

            heal(self._cluster)  # a local worker that died is replaced before the job
        if resources:
            _check_resources(client, resources, self._cluster is not None)
        k = self.batch_size(tasks)
        batches = [tasks[i : i + k] for i in range(0, len(tasks), k)]
        futures: dict[Any, list[DatumTask]] = {}

        def submit(b: list[DatumTask]) -> Any:
            fut = client.submit(
                run_batch, b, key=f"datums-{b[0].job_id}-{b[0].datum_id}-{len(b)}", pure=False,
                resources=resources or None,
            )  # fmt: skip
            futures[fut] = b
            with self._lock:
                self._running.setdefault(job_id, []).append(fut)
                late = job_id in self._cancelled  # cancel_job ran before this batch existed
            if late:
                client.cancel([fut])
            return fut

        limit = parallelism if parallelism and parallelism < len(batches) else len(batches)
        pending = iter(batches[limit:])
        results: list[DatumResult] = []
        try:
            flow = as_completed([submit(b) for b in batches[:limit]], timeout=timeout_s,
                                loop=client.loop)  # fmt: skip
            for fut in flow:
                if fut.cancelled():  # the job was cancelled: its waiting batches never start
                    done = [failed_result(t, Cancelled(job_id)) for b in pending for t in b]
                    pending = iter(())
                else:
                    nxt = next(pending, None)
                    if nxt is not None:  # one finished: the next batch may start
                        flow.add(submit(nxt))
                    done = []
                try:
                    done += fut.result()
                except Exception as exc:  # worker crash, unpicklable task, cancelled, ...
                    error = Cancelled(job_id) if fut.cancelled() else exc
                    done += [failed_result(t, error) for t in futures[fut]]
                for res in done:
                    results.append(res)
                    if on_result is not None:
                        on_result(res)
        except TimeoutError:  # job_timeout: its running datums must not hold the workers
            self.cancel_job(job_id)
            raise
        finally:
            with self._lock:
                self._running.pop(job_id, None)
                self._datums.pop(job_id, None)
        return results

    # -- read by pipeline/cluster_info.py (the cluster panel): look, never start ---------------

    @property
    def running_client(self) -> Any:
        """The ``distributed.Client`` if the cluster is up, else None (never starts one)."""
        return self._client

    @property
    def starting(self) -> bool:
        """True while the first use starts the cluster (or connects to the scheduler)."""
        return self._client is None and self._lock.locked()

    def in_flight(self) -> dict[str, list[str]]:
        """Keys of this executor's datum tasks that have not finished, per job id."""
        with self._lock:
            running = {job: list(futures) for job, futures in self._running.items()}
        return {job: [f.key for f in fs if not f.done()] for job, fs in running.items()}

    def _on_datum_event(self, event: tuple[float, dict[str, Any]]) -> None:
        """A worker told a datum's start or end (``dask_plugin.DATUM_TOPIC``)."""
        msg = event[1]
        with self._lock:
            if msg.get("event") == "start" and msg["job"] in self._running:
                started = self._datums.setdefault(msg["job"], {})
                started[msg["datum"]] = (float(msg["time"]), str(msg["worker"]))
            else:
                self._datums.get(msg["job"], {}).pop(msg["datum"], None)

    def running_datums(self, job_id: str) -> dict[str, tuple[float, str]]:
        """The datums of job ``job_id`` running now: datum id -> (start time, worker)."""
        with self._lock:
            return dict(self._datums.get(job_id, {}))

    def cancel_job(self, job_id: str) -> None:
        """Stop every datum of job ``job_id`` on the cluster, from any thread.

        Datums not started yet never start (their Dask futures are cancelled); running ones
        are killed on every worker — their warm or fresh kernel, their command and its process
        group — so the workers are free for the next job at once. A :meth:`run` waiting for
        the job returns them as failed results (``Cancelled``); a killed warm kernel is
        replaced. Returns when every worker has killed
        what it ran for the job; does nothing if no cluster was started.
        """
        with self._lock:
            self._cancelled[job_id] = None  # a run() of the job not started yet starts nothing
            while len(self._cancelled) > _KEEP_CANCELLED:
                del self._cancelled[next(iter(self._cancelled))]
            client = self._client
            futures = list(self._running.get(job_id, []))
        if client is None:
            return
        from .dask_plugin import kill_job

        # mark the job cancelled on the workers first: a batch between two datums then stops
        try:
            client.run(kill_job, job_id, on_error="ignore")
        except Exception:  # a cluster going away: nothing left to kill
            log.warning("could not reach the workers to cancel job %s", job_id, exc_info=True)
        if futures:
            client.cancel(futures)

    def cancelled(self, job_id: str) -> bool:
        """Whether :meth:`cancel_job` was called for ``job_id`` in this process."""
        with self._lock:
            return job_id in self._cancelled

    def restart_datum(self, job_id: str, datum_id: str) -> None:
        """Restart one running datum of job ``job_id`` (``restart datum``): the process running
        it is killed on its worker and the datum runs again from the start, not counting as a
        try. Does nothing if no cluster was started or the datum is not running."""
        client = self._client
        if client is None:
            return
        from .dask_plugin import restart_datum

        try:
            client.run(restart_datum, job_id, datum_id, on_error="ignore")
        except Exception:  # a cluster going away: nothing left to restart
            log.warning("could not reach the workers to restart datum %s", datum_id, exc_info=True)

    def batch_size(self, tasks: list[DatumTask]) -> int:
        """Datums per Dask task: 1 for fresh-kernel notebooks (a kernel start, ~1 s, dwarfs a
        round trip; one per task balances best), else ``ceil(n / (4 × worker threads))``
        capped at :data:`MAX_BATCH`."""
        t = tasks[0].transform
        if t.notebook is not None and t.isolation != "warm":
            return 1
        threads = sum(self.client.nthreads().values())
        if self._cluster is not None:  # workers still starting count too
            threads = max(threads, self.n_workers)
        return max(1, min(MAX_BATCH, math.ceil(len(tasks) / (4 * (threads or 1)))))

    def close(self) -> None:
        """Stop the client and the local cluster, if we started one."""
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None


def _check_resources(client: Any, needs: dict[str, float], local: bool) -> None:
    """Raise :class:`~jupyter_pipes.errors.Unschedulable` if no worker can meet ``needs``."""
    from .resources import Unschedulable, unschedulable

    workers = client.scheduler_info().get("workers", {})
    if not workers and local:  # the local cluster's workers are still starting
        client.wait_for_workers(1, timeout=60)
        workers = client.scheduler_info().get("workers", {})
    why = unschedulable(needs, workers)
    if why is not None:
        raise Unschedulable(why)


def _cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
