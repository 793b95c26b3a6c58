"""One controller process's loop: the background controller and ``jupyter pipes controller``.

:class:`ControllerService` registers the process in the ``controllers`` table
(:class:`~jupyter_pipes.pipeline.presence.Presence`), then claims and runs jobs on a worker
thread (``Controller.run_once``) while the calling thread logs a health line every
``health_s`` seconds and waits for the end:

* :meth:`ControllerService.stop` (SIGTERM, SIGINT): the jobs this controller holds are handed
  back to the queue (state ``created``, no lease) *before* their datums are cancelled on the
  Dask cluster, so the next controller starts them at once and this one can no longer commit
  their output; then the process leaves the table and exits;
* ``idle_exit_s`` seconds without a job (the background controller);
* its row taken over (it was thought dead: its heartbeat stalled longer than the row's TTL).

The local Dask cluster is stopped after ``idle_close_s`` without a job (an idle cluster's own
timers cost a few percent of a CPU) and started again by the next job.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Protocol

from ..pipeline.presence import Presence
from ..pipeline.records import JobInfo

if TYPE_CHECKING:
    from ..pipeline.controller import Controller
    from ..store.store import Store

log = logging.getLogger("jupyter_pipes.controller")


class ServiceClient(Protocol):
    """What a :class:`ControllerService` uses of its client (a :class:`~jupyter_pipes.Client`;
    ``service`` does not import ``client``, which imports it)."""

    @property
    def store(self) -> Store: ...

    @property
    def store_url(self) -> str: ...

    @property
    def cluster_started(self) -> bool: ...

    def controller(self, progress: Any = None) -> Controller: ...

    def stop_cluster(self) -> None: ...


class ControllerService:
    """Runs a store's jobs until stopped (or idle).

    Parameters
    ----------
    client:
        The store (and Dask cluster) to run jobs of; closed by the caller.
    kind:
        ``service`` (``jupyter pipes controller``) or ``background`` (started on demand).
    row_id:
        Its row in ``controllers``: :data:`~jupyter_pipes.pipeline.presence.BACKGROUND` for the
        one background controller of a store; default: its own id.
    idle_exit_s:
        Exit after this many seconds without a job (``None``: never).
    idle_close_s:
        Stop the local Dask cluster after this many seconds without a job (0: never).
    health_s:
        Seconds between two health lines in the log (0: none).
    lease_s:
        Job lease (seconds) this controller's jobs are claimed with (default: the controller's).
    poll_s:
        Seconds between two looks for a runnable job when idle.
    """

    def __init__(
        self,
        client: ServiceClient,
        *,
        kind: str = "service",
        row_id: str | None = None,
        idle_exit_s: float | None = None,
        idle_close_s: float = 60.0,
        health_s: float = 60.0,
        lease_s: float | None = None,
        poll_s: float = 0.5,
    ) -> None:
        self.client = client
        self.kind = kind
        self.idle_exit_s = idle_exit_s
        self.idle_close_s = idle_close_s
        self.health_s = health_s
        self.poll_s = poll_s
        self.controller = client.controller(progress=self._progress)
        if lease_s:
            self.controller.lease_s = lease_s
        self.presence = Presence(client.store, kind, self.controller.owner, row_id=row_id)
        self.stopping = threading.Event()
        self.reason = ""
        self._jobs_run = 0
        self._states: dict[str, str] = {}
        self._running: dict[str, str] = {}  # job id -> pipeline, while it runs here
        self._last_job = time.monotonic()
        self._failures = 0

    # -- control ---------------------------------------------------------------------------------

    def stop(self, reason: str = "stopped") -> None:
        """End the loop (thread- and signal-safe): the main thread then hands back the jobs."""
        if not self.stopping.is_set():
            self.reason = reason
            self.stopping.set()

    def run(self) -> bool:
        """Register and run jobs until stopped or idle; False if another live controller
        already holds this controller's row (nothing was run)."""
        if not self.presence.start():
            return False
        log.info(
            "controller %s (%s) started on store %s",
            self.controller.owner[:8], self.kind, _where(self.client),
        )  # fmt: skip
        worker = threading.Thread(target=self._work, name="pipes-controller", daemon=True)
        worker.start()
        last_health = time.monotonic()
        try:
            while not self.stopping.wait(0.2):
                if self.presence.lost.is_set():
                    self.stop("another controller took this one's place")
                elif not worker.is_alive():
                    self.stop(self.reason or "the job loop ended")
                if self.health_s and time.monotonic() - last_health >= self.health_s:
                    last_health = time.monotonic()
                    log.info("%s", self.health())
        finally:
            self._shutdown(worker)
        return True

    # -- the worker thread -----------------------------------------------------------------------

    def _work(self) -> None:
        closed = False
        while not self.stopping.is_set() and not self.presence.lost.is_set():
            try:
                job = self.controller.run_once()
                self._failures = 0
            except Exception:
                self._failures += 1
                if self._failures == 1 or self._failures % 100 == 0:
                    log.exception("the controller failed (%d in a row)", self._failures)
                job = None
            now = time.monotonic()
            if job is not None:
                self._last_job, closed = now, False
                continue
            idle = now - self._last_job
            if self.idle_exit_s is not None and idle >= self.idle_exit_s and not self._failures:
                if self._leave():
                    self.stop(f"idle for {idle:.0f}s")
                    return
                continue
            if self.idle_close_s and idle >= self.idle_close_s and not closed:
                self.client.stop_cluster()
                closed = True
            self.stopping.wait(self.poll_s * min(self._failures + 1, 20))

    def _leave(self) -> bool:
        """Leave the table, then look for a job once more (one committed while this process
        was seen as live started no controller); True if there was none. Else the job was run
        and the process registers again (False), unless another took its place meanwhile."""
        self.presence.stop()
        try:
            job = self.controller.run_once()
        except Exception:
            log.exception("the controller failed")
            job = None
        if job is None:
            return True
        self._last_job = time.monotonic()
        p = self.presence
        self.presence = Presence(p.store, p.kind, p.owner, row_id=p.row_id, ttl=p.ttl)
        self.presence.jobs_run = self._jobs_run
        if not self.presence.start():
            self.stop("another controller runs this store")
        return False

    def _progress(self, job: JobInfo) -> None:
        """Log each job's changes of state (the controller calls this often)."""
        if job.state == "running":
            self._running[job.id] = job.pipeline
        if self._states.get(job.id) == job.state:
            return
        self._states[job.id] = job.state
        if job.state == "running":
            log.info("job %s (%s) running: %d datum(s)", job.id, job.pipeline, job.total)
            return
        self._running.pop(job.id, None)
        self._states.pop(job.id, None)
        self._jobs_run += 1
        self.presence.jobs_run = self._jobs_run
        took = f" in {job.duration_s:.1f}s" if job.duration_s is not None else ""
        detail = f": {job.reason}" if job.reason else ""
        log.info(
            "job %s (%s) %s%s: %d processed, %d skipped, %d failed%s",
            job.id, job.pipeline, job.state, took, job.processed, job.skipped, job.failed, detail,
        )  # fmt: skip

    # -- reporting and ending --------------------------------------------------------------------

    def health(self) -> str:
        """One line: the controller, jobs run, the job running, jobs queued, the cluster."""
        from ..pipeline import state
        from ..store import txn as txnmod

        try:
            with txnmod.read(self.client.store) as t:
                queued = len(state.pending_jobs(t.connection))
            store = "ok"
        except Exception as exc:  # the database is unreachable: say so, keep running
            queued, store = -1, f"unreachable ({type(exc).__name__})"
        running = ", ".join(f"{j} ({p})" for j, p in list(self._running.items())) or "none"
        cluster = "up" if self.client.cluster_started else "stopped"
        return (
            f"health: store {store}; jobs run {self._jobs_run}; running {running}; "
            f"queued {queued if queued >= 0 else '?'}; dask cluster {cluster}"
        )

    def _shutdown(self, worker: threading.Thread) -> None:
        log.info("stopping: %s", self.reason or "stopped")
        from ..pipeline import presence
        from ..store import txn as txnmod

        try:
            with txnmod.write(self.client.store) as t:
                handed = presence.hand_back(t.connection, self.controller.owner)
        except Exception:
            log.exception("could not hand back the running jobs (their leases will expire)")
            handed = []
        for job_id in handed:
            log.info("job %s handed back to the queue", job_id)
        executor = self.controller.executor
        for job_id in list(executor.in_flight()):
            try:
                executor.cancel_job(job_id)
            except Exception:  # the cluster is going away anyway
                log.warning("could not cancel the datums of job %s", job_id)
        worker.join(timeout=15)
        if worker.is_alive():  # it claimed a job meanwhile: hand that back too
            with contextlib.suppress(Exception), txnmod.write(self.client.store) as t:
                presence.hand_back(t.connection, self.controller.owner)
        self.presence.stop()
        log.info("controller %s stopped", self.controller.owner[:8])


def _where(client: ServiceClient) -> str:
    """The store, as the log names it (a local folder by its name only, never its path)."""
    import os

    url = client.store_url
    return url if "://" in url else os.path.basename(url.rstrip("/")) or url
