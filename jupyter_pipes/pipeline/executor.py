"""Running datum tasks on Dask: the one module that imports dask.distributed.

By default a ``LocalCluster`` is started on first use. Its workers are threads of this process:
a datum's real work happens in its own kernel (or command) process anyway, threads start in a
fraction of a second, they see ``memory://`` stores, and they never re-import the caller's
``__main__`` (which process workers started by ``spawn`` do, breaking scripts without a
``__name__ == "__main__"`` guard). Set ``JUPYTER_PIPES_DASK_PROCESSES=1`` for process workers.
Set a scheduler address (``JUPYTER_PIPES_DASK_SCHEDULER`` or ``scheduler=``) to use any existing
Dask cluster.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from .worker import DatumResult, DatumTask, run_datum

ENV_SCHEDULER = "JUPYTER_PIPES_DASK_SCHEDULER"
ENV_PROCESSES = "JUPYTER_PIPES_DASK_PROCESSES"
log = logging.getLogger(__name__)


class Executor:
    """Submits datum tasks to a Dask cluster and gathers their results.

    Parameters
    ----------
    scheduler:
        Address of an existing scheduler (``tcp://host:8786``). Default:
        ``$JUPYTER_PIPES_DASK_SCHEDULER``, else a local cluster started on demand.
    n_workers:
        Workers of the local cluster (default: the number of CPUs, at most 4).
    processes:
        Whether local workers are processes or threads (default: threads, unless
        ``$JUPYTER_PIPES_DASK_PROCESSES`` is set).
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int | None = None,
        processes: bool | None = None,
    ) -> None:
        self.scheduler = scheduler or os.environ.get(ENV_SCHEDULER) or None
        self.n_workers = n_workers or min(os.cpu_count() or 1, 4)
        if processes is None:
            processes = os.environ.get(ENV_PROCESSES, "") not in ("", "0", "false")
        self.processes = processes
        self._client: Any = None
        self._cluster: Any = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The ``distributed.Client``, started on first use."""
        with self._lock:
            if self._client is None:
                from distributed import Client, LocalCluster

                if self.scheduler:
                    self._client = Client(self.scheduler, set_as_default=False)
                else:
                    self._cluster = LocalCluster(
                        n_workers=self.n_workers,
                        threads_per_worker=1,
                        processes=self.processes,
                        dashboard_address=":0",  # None still binds 8787 in recent releases
                        silence_logs=logging.ERROR,
                    )
                    self._client = Client(self._cluster, set_as_default=False)
            return self._client

    def run(
        self,
        tasks: Iterable[DatumTask],
        on_result: Callable[[DatumResult], None] | None = None,
        timeout_s: float | None = None,
    ) -> list[DatumResult]:
        """Run every task; results in completion order. A task that raises (or whose worker
        died too often) becomes a failed result, so one datum never sinks the others."""
        from distributed import as_completed

        tasks = list(tasks)
        if not tasks:
            return []
        client = self.client
        futures = {
            client.submit(run_datum, t, key=f"datum-{t.job_id}-{t.datum_id}", pure=False): t
            for t in tasks
        }
        results: list[DatumResult] = []
        try:
            for fut in as_completed(futures, timeout=timeout_s, loop=client.loop):
                task = futures[fut]
                try:
                    res = fut.result()
                except Exception as exc:  # worker crash, materialisation failure, ...
                    res = DatumResult(
                        task.datum_id,
                        False,
                        1,
                        0.0,
                        error={"cell_index": -1, "ename": type(exc).__name__, "evalue": str(exc)},
                    )
                results.append(res)
                if on_result is not None:
                    on_result(res)
        except TimeoutError:
            client.cancel(list(futures))
            raise
        return results

    def close(self) -> None:
        """Stop the client and the local cluster, if we started one."""
        with self._lock:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
            self._client = self._cluster = None
