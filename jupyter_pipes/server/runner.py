"""The controller inside the server: a thread that runs pending pipeline jobs.

It claims one job at a time (``Controller.run_once``), sleeps ``poll_interval`` when nothing is
runnable, stops the Dask client (and the local cluster it started) after ``idle_close_s``
without a job — an idle Dask cluster's own timers cost a few percent of a CPU — and survives
any error (logged, then retried after a pause): a storage hiccup must not silently stop every
pipeline until the server restarts. Stopping takes effect between
jobs; a job that is running finishes first (or, if the server exits, its lease expires and the
next controller runs it again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..client import Client
from ..pipeline.presence import Presence
from ..pipeline.records import JobInfo

_log = logging.getLogger(__name__)


class ControllerThread(threading.Thread):
    """Runs ``client``'s pending jobs until :meth:`stop`.

    Parameters
    ----------
    client:
        The server's Client (its Dask cluster runs the datums).
    progress:
        Called from this thread with each job update (state, datum counts).
    poll_interval:
        Seconds to sleep when no job is runnable.
    idle_close_s:
        Seconds without a job after which the Dask client and local cluster are stopped (the
        next job starts them again); 0: never.
    log:
        Where errors go (the extension's logger).
    """

    def __init__(
        self,
        client: Client,
        progress: Callable[[JobInfo], None] | None = None,
        *,
        poll_interval: float = 0.5,
        idle_close_s: float = 0.0,
        log: logging.Logger | logging.LoggerAdapter[logging.Logger] | None = None,
    ) -> None:
        super().__init__(name="jupyter-pipes-controller", daemon=True)
        self.client = client
        self.progress = progress
        self.poll_interval = poll_interval
        self.idle_close_s = idle_close_s
        self.log = log or _log
        self._stop_event = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end (after the running job, if any)."""
        self._stop_event.set()

    def run(self) -> None:
        """The loop: claim and run a job; sleep when idle; log and pause on errors."""
        controller = None
        presence = None
        failures = 0
        last_job = time.monotonic()
        while not self._stop_event.is_set():
            try:
                if controller is None:
                    controller = self.client.controller(progress=self._report)
                if presence is None:  # commits elsewhere start no background controller (#12)
                    mine = Presence(self.client.store, "server", controller.owner)
                    mine.start()
                    presence = mine
                job = controller.run_once()
                failures = 0
                if job is not None:
                    last_job = time.monotonic()
                elif self.idle_close_s and time.monotonic() - last_job > self.idle_close_s:
                    self.client.stop_cluster()
                    last_job = float("inf")  # until a job runs again
            except Exception:
                failures += 1
                if failures == 1 or failures % 100 == 0:
                    self.log.exception(
                        "jupyter_pipes: the controller failed (%d in a row)", failures
                    )
                job = None
            if job is None:
                pause = self.poll_interval * min(failures + 1, 20)
                self._stop_event.wait(pause)
        if presence is not None:
            presence.stop()

    def _report(self, job: JobInfo) -> None:
        if self.progress is None:
            return
        try:
            self.progress(job)
        except Exception:  # an event that cannot be delivered must not fail the job
            self.log.exception("jupyter_pipes: reporting job progress failed")
