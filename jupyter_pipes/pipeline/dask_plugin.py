"""The Dask side of datum execution: a worker plugin holding warm kernels, and the batch task.

Imported only by ``executor.py``, lazily, like ``dask.distributed`` itself: together they are
the one place that imports Dask.

:class:`WarmKernels` gives every worker a :class:`~jupyter_pipes.pipeline.warm.KernelPool`.
With the default local cluster the workers are threads of one process and may share one plugin
object, so pools are kept per worker. :func:`run_batch` is what a Dask task runs: a few datums
in a row (batching cuts scheduler round trips when datums are tiny), each with its own result,
retries and failure.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from distributed import WorkerPlugin, get_worker

from . import cancel
from .warm import MAX_USES, KernelPool
from .worker import DatumResult, DatumTask, run_datums

PLUGIN_NAME = "jupyter-pipes-kernels"
DATUM_TOPIC = "jupyter-pipes-datum"
"""The Dask event topic on which each datum's start and end are told (``Executor`` listens,
so the controller can list the datums running)."""


class WarmKernels(WorkerPlugin):  # type: ignore[misc]
    """Keeps a pool of warm kernels on each worker (started on first use, stopped at teardown).

    Parameters
    ----------
    max_uses:
        Datums per kernel process before it is replaced.
    """

    name = PLUGIN_NAME
    idempotent = True  # a second client of the same cluster keeps the kernels already warm

    def __init__(self, max_uses: int = MAX_USES) -> None:
        self.max_uses = max_uses
        self._pools: dict[int, KernelPool] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"max_uses": self.max_uses}  # pools and locks stay where they are

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["max_uses"])  # type: ignore[misc]

    def setup(self, worker: Any) -> None:
        with self._lock:
            nthreads = getattr(getattr(worker, "state", None), "nthreads", 1) or 1
            self._pools[id(worker)] = KernelPool(max_uses=self.max_uses, max_idle=nthreads + 1)

    def teardown(self, worker: Any) -> None:
        with self._lock:
            pool = self._pools.pop(id(worker), None)
        if pool is not None:
            pool.close(wait=False)  # never block the worker's event loop

    def pool(self, worker: Any) -> KernelPool | None:
        """The pool of ``worker`` (None before setup or after teardown)."""
        with self._lock:
            return self._pools.get(id(worker))


def current_pool() -> KernelPool | None:
    """The warm kernels of the worker running this task; None outside a worker or plugin."""
    try:
        worker = get_worker()
    except ValueError:  # not in a Dask task
        return None
    plugin = worker.plugins.get(PLUGIN_NAME)
    return plugin.pool(worker) if isinstance(plugin, WarmKernels) else None


def failed_result(task: DatumTask, exc: BaseException) -> DatumResult:
    """The result of a datum whose task raised (worker crash, materialisation failure, ...)."""
    error = {"cell_index": -1, "ename": type(exc).__name__, "evalue": str(exc)}
    return DatumResult(task.datum_id, False, 1, 0.0, error=error)


def run_batch(tasks: list[DatumTask]) -> list[DatumResult]:
    """Run datums one after the other on this worker (their blobs share packs); one result per
    datum, never raises.

    A datum of a cancelled job (see :func:`kill_job`) is not started, or is stopped: its
    result is a failure (``Cancelled``)."""
    return run_datums(tasks, current_pool(), on_error=failed_result, around=_cancellable)


@contextlib.contextmanager
def _cancellable(task: DatumTask) -> Iterator[None]:
    with cancel.job(task.job_id, task.datum_id):
        cancel.check()
        worker = _tell(task, None)
        try:
            yield
        finally:
            _tell(task, worker)


def _tell(task: DatumTask, worker: Any) -> Any:
    """Tell the datum's start (``worker`` None: returns the worker) or end on
    :data:`DATUM_TOPIC`; nothing outside a Dask task."""
    try:
        w = worker or get_worker()
    except ValueError:
        return None
    msg = {"job": task.job_id, "datum": task.datum_id, "worker": w.address, "time": time.time()}
    w.log_event(DATUM_TOPIC, {**msg, "event": "end" if worker else "start"})
    return w


def kill_job(job_id: str) -> int:
    """Run on every worker by ``Executor.cancel_job``: mark ``job_id`` cancelled in this
    worker's process and kill the kernels and command processes of its running datums."""
    return cancel.cancel(job_id)


def restart_datum(job_id: str, datum_id: str) -> int:
    """Run on every worker by ``Executor.restart_datum``: kill the running process of one
    datum, which then runs again (see :func:`~jupyter_pipes.pipeline.cancel.restart`)."""
    return cancel.restart(job_id, datum_id)
