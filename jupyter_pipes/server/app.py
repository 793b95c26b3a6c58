"""The jupyter-server extension: configuration, the Client, and the background work.

``PipesApp`` owns one :class:`~jupyter_pipes.Client` for the server's lifetime, a small thread
pool that runs blocking Client calls off the event loop, the controller thread that runs
pipeline jobs, and the poller that turns store changes into live events. Background work starts
in ``_start_jupyter_server_extension`` (the event loop is running then) and stops in
``stop_extension``; nothing starts at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, Unicode, default

from ..client import Client
from ..pipeline.records import JobInfo
from ..store.store import default_store_url
from .events import Emitter, register_schemas
from .poller import Poller
from .runner import ControllerThread
from .util import redact_url
from .views import job_dict

T = TypeVar("T")


class PipesApp(ExtensionApp):
    """Serves the store and pipelines under ``/pipes/api/`` and runs the pipeline controller."""

    name = "jupyter_pipes"
    load_other_extensions = True

    client: Client | None = None
    """The server's Client (opened in ``initialize_settings``)."""
    events: Emitter
    """Numbers live events and emits them on the server's ``event_logger``."""
    poller: Poller | None = None
    controller: ControllerThread | None = None
    supervisor: Any = None
    """The serving supervisor (:class:`~jupyter_pipes.pipeline.serving.Supervisor`), if on."""
    _pool: ThreadPoolExecutor | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stopped = False
    cluster_state = "none"
    """The controller's Dask cluster: ``none`` (not started), ``starting``, ``ready``."""
    _cluster_watch: asyncio.Task[None] | None = None

    store = Unicode(
        help="Where the store lives: a local folder, memory://name or s3://bucket/prefix. "
        "Default: $JUPYTER_PIPES_STORE, else .pipes in the server's root_dir."
    ).tag(config=True)
    db_url = Unicode(
        None,
        allow_none=True,
        help="SQLAlchemy URL of the metadata database. Default: $JUPYTER_PIPES_DB, else a SQLite "
        "file inside a local store.",
    ).tag(config=True)
    dask_scheduler = Unicode(
        None,
        allow_none=True,
        help="Address of an existing Dask scheduler (tcp://host:8786) that runs the datums. "
        "Default: $JUPYTER_PIPES_DASK_SCHEDULER, else a local cluster started on first use.",
    ).tag(config=True)
    n_workers = Int(
        0, help="Workers of the local Dask cluster (0: the number of CPUs, at most 4)."
    ).tag(config=True)
    run_controller = Bool(
        True,
        help="Run pending pipeline jobs inside the server. Turn off when another process "
        "(another server, `jupyter pipes wait`) runs them.",
    ).tag(config=True)
    poll_interval = Float(0.5, help="Seconds the controller sleeps when no job is runnable.").tag(
        config=True
    )
    cluster_idle_timeout = Float(
        120.0,
        help="Seconds without a runnable job after which the server stops its Dask client (and "
        "the local cluster it started, warm kernels included), so an idle server uses no CPU; "
        "the next job starts them again. 0 keeps them running.",
    ).tag(config=True)
    event_poll_interval = Float(
        0.5, help="Seconds between two looks at the store for changes made by other processes."
    ).tag(config=True)
    max_upload_size = Int(
        512 * 1024 * 1024, help="Largest file body (bytes) the upload route accepts."
    ).tag(config=True)
    stop_timeout = Float(
        10.0,
        help="Seconds server shutdown waits for a running job to finish; a job still running "
        "then is run again by the next controller, once its lease expires.",
    ).tag(config=True)
    run_services = Bool(
        True,
        help="Keep the endpoints that pipeline specs declare (serve:) running, one child "
        "process each (see docs/serving.md).",
    ).tag(config=True)
    api_threads = Int(4, help="Threads that run blocking store calls for the REST handlers.").tag(
        config=True
    )

    @default("store")
    def _default_store(self) -> str:
        return default_store_url(self.serverapp.root_dir if self.serverapp is not None else None)

    # -- lifecycle -----------------------------------------------------------------------------

    def initialize_settings(self) -> None:
        """Open the store (created on first use) and the resources the handlers share."""
        self.client = Client(
            self.store,
            db_url=self.db_url or None,
            scheduler=self.dask_scheduler or None,
            n_workers=self.n_workers or None,
        )
        logger = getattr(self.serverapp, "event_logger", None)
        if logger is not None:
            register_schemas(logger)
        self.events = Emitter(logger)
        self._pool = ThreadPoolExecutor(self.api_threads, thread_name_prefix="pipes-api")
        self.log.info(
            "jupyter_pipes: store %s, controller %s",
            redact_url(self.client.store_url),
            "on" if self.run_controller else "off",
        )

    def initialize_handlers(self) -> None:
        """Register the REST routes (see :mod:`jupyter_pipes.server.handlers`)."""
        from .handlers import ROUTES

        self.handlers.extend(ROUTES)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Start the event poller and (unless turned off) the controller thread."""
        if self.poller is not None or self._stopped or self.client is None:
            return
        self._loop = asyncio.get_running_loop()
        self.poller = Poller(self.client, self.events, self.run_blocking, self.event_poll_interval)
        self.poller.start()
        if self.run_controller:
            self.controller = ControllerThread(
                self.client,
                self._job_progress,
                poll_interval=self.poll_interval,
                idle_close_s=self.cluster_idle_timeout,
                log=self.log,
            )
            self.controller.start()
        if self.run_services:
            from ..pipeline.serving.supervisor import Supervisor

            self.supervisor = Supervisor(self.client.store, log=self.log).start()

    async def stop_extension(self) -> None:
        """Stop the poller and the controller, stop emitting events, close the Client."""
        if self._stopped or self.client is None:
            return
        self._stopped = True
        if self.poller is not None:
            await self.poller.stop()
        if self._cluster_watch is not None:
            self._cluster_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._cluster_watch
        self.events.close()
        if self.supervisor is not None:  # endpoints shut down gracefully
            await asyncio.get_running_loop().run_in_executor(None, self.supervisor.stop)
        still_running = False
        if self.controller is not None:
            self.controller.stop()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, self.controller.join, self.stop_timeout)
            still_running = self.controller.is_alive()
        if still_running:
            # Closing the Dask cluster under a running job would record it as failed; leave it:
            # its lease expires and the next controller runs it again.
            self.log.warning("jupyter_pipes: a job is still running; it will be re-run later")
        else:
            self.client.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    # -- helpers for handlers and threads ------------------------------------------------------

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call (the Client, files) on the API thread pool."""
        assert self._pool is not None, "the extension is not initialized"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def _job_progress(self, job: JobInfo) -> None:
        """Controller thread: hand a job update to the event loop at once."""
        loop, poller = self._loop, self.poller
        if loop is None or poller is None or loop.is_closed():
            return
        assert self.client is not None
        # a job that has datums to run but none done waits for the cluster when it is not up
        waits = (
            job.state == "running" and job.total > job.skipped and job.processed + job.failed == 0
        )
        started = self.client.cluster_started
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._cluster_seen, started, waits, job.done)
            loop.call_soon_threadsafe(poller.observe_job, job_dict(job))

    # -- the cluster's state (the sidebar says "starting cluster" before the first datum) -----

    def _set_cluster(self, state: str) -> None:
        if state != self.cluster_state:
            self.cluster_state = state
            self.events.publish({"type": "cluster", "state": state})

    def _cluster_seen(self, started: bool, waits: bool, done: bool) -> None:
        """Event loop: what a job update says of the cluster."""
        if started:
            self._set_cluster("ready")
        elif waits:
            self._set_cluster("starting")
            if self._cluster_watch is None or self._cluster_watch.done():
                self._cluster_watch = asyncio.get_running_loop().create_task(self._watch_cluster())
        elif done and self.cluster_state == "starting":
            self._set_cluster("none")  # the job ended without the cluster (it failed to start)

    async def _watch_cluster(self) -> None:
        """Publish ``ready`` as soon as the cluster is up (before the first datum ends)."""
        while self.cluster_state == "starting" and not self._stopped and self.client is not None:
            if self.client.cluster_started:
                self._set_cluster("ready")
                return
            await asyncio.sleep(0.2)
