"""Jobs run wherever the store is used: a background controller started on demand.

When a commit queues jobs and no controller of the store is alive (no live row in the
``controllers`` table, see :mod:`jupyter_pipes.pipeline.presence`), the committing process
starts one: ``python -m jupyter_pipes.background``, detached (its own session, no
terminal, output to a log file), which runs the store's jobs and exits after
``$JUPYTER_PIPES_CONTROLLER_IDLE`` seconds (default :data:`DEFAULT_IDLE_S`) without one.

* Exactly one background controller per store: two started at once race for the row
  ``background`` of the ``controllers`` table; the loser exits at once. Job leases still decide
  who runs each job, so even a server's controller running beside it never double-runs one.
* The check runs in the transaction that queues the jobs (a head hook after the pipeline
  layer's), so it costs one indexed read per commit that queued jobs, and nothing otherwise.
* Off with ``JUPYTER_PIPES_AUTOSTART=0`` or ``Client(autostart=False)``; never for a store only
  this process can see (``memory://``, or an in-memory database).

See docs/controller.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from typing import Any

from ..pipeline import presence, state
from ..store.store import Store
from ..store.txn import HeadMove, Txn

ENV_AUTOSTART = "JUPYTER_PIPES_AUTOSTART"
"""``0``/``false``/``no``/``off``: never start a background controller."""
ENV_IDLE = "JUPYTER_PIPES_CONTROLLER_IDLE"
"""Seconds without a job after which the background controller exits."""
ENV_LOG = "JUPYTER_PIPES_CONTROLLER_LOG"
"""The background controller's log file (default: one per store in the temporary folder)."""
ENV_LEASE = "JUPYTER_PIPES_JOB_LEASE"
"""Seconds a controller's claim on a job lasts without renewal (default 30)."""
ENV_OPTIONS = "JUPYTER_PIPES_STORAGE_OPTIONS"
"""Storage options, as JSON, passed to the background controller (environment, not argv)."""
DEFAULT_IDLE_S = 120.0
MODULE = "jupyter_pipes.background"
"""The background controller's module (``python -m``): above ``client``, which imports this."""

log = logging.getLogger(__name__)


def enabled(setting: bool | None = None) -> bool:
    """Whether auto-start is on: ``setting`` if given, else ``$JUPYTER_PIPES_AUTOSTART``."""
    if setting is not None:
        return setting
    value = os.environ.get(ENV_AUTOSTART, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def idle_seconds() -> float:
    """``$JUPYTER_PIPES_CONTROLLER_IDLE`` (default :data:`DEFAULT_IDLE_S`)."""
    return _seconds(ENV_IDLE, DEFAULT_IDLE_S)


def job_lease_seconds() -> float | None:
    """``$JUPYTER_PIPES_JOB_LEASE``, if set."""
    return _seconds(ENV_LEASE, 0.0) or None


def _seconds(env: str, default: float) -> float:
    try:
        return max(0.0, float(os.environ.get(env) or default))
    except ValueError:
        return default


def shareable(store: Store) -> bool:
    """Whether another process can open ``store`` (not ``memory://``, no in-memory database)."""
    if store.url.startswith("memory://"):
        return False
    url = store.meta.engine.url
    return not (url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"))


def log_path(store_url: str, db_url: str) -> str:
    """Where the background controller of a store logs (``$JUPYTER_PIPES_CONTROLLER_LOG``, else
    ``<tmp>/jupyter-pipes-<uid>/controller-<store hash>.log``)."""
    if os.environ.get(ENV_LOG):
        return os.environ[ENV_LOG]
    key = hashlib.sha256(f"{store_url}\n{db_url}".encode()).hexdigest()[:12]
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"jupyter-pipes-{uid}", f"controller-{key}.log")


class Autostart:
    """Starts the background controller of one store when a commit needs it.

    Parameters
    ----------
    store:
        The store (its URL and database are passed to the controller).
    scheduler:
        The Dask scheduler the controller should use (default: its own local cluster).
    storage_options:
        fsspec options of the store (passed through the environment).
    """

    def __init__(
        self, store: Store, *, scheduler: str | None, storage_options: dict[str, Any]
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self.storage_options = storage_options
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @classmethod
    def attach(
        cls,
        store: Store,
        *,
        setting: bool | None,
        scheduler: str | None,
        storage_options: dict[str, Any],
    ) -> Autostart | None:
        """An :class:`Autostart` registered as ``store``'s head hook (after the pipeline
        layer's), or ``None`` if auto-start is off or the store is private to this process."""
        if not enabled(setting) or not shareable(store):
            return None
        self = cls(store, scheduler=scheduler, storage_options=storage_options)
        store.head_hooks.append(self.on_head_move)
        return self

    @property
    def store_url(self) -> str:
        """The store's URL (a local folder as an absolute path: the child may move)."""
        url = self.store.url
        return url if "://" in url else os.path.abspath(url)

    @property
    def db_url(self) -> str:
        """The metadata database's URL, with its password (it goes to the environment)."""
        return self.store.meta.engine.url.render_as_string(hide_password=False)

    @property
    def log_file(self) -> str:
        """The background controller's log file for this store."""
        return log_path(self.store_url, self.db_url)

    def on_head_move(self, txn: Txn, move: HeadMove) -> None:
        """Head hook: a move that queued jobs with no live controller starts one."""
        if move.cause == "pipeline":  # a controller is committing this output
            return
        conn = txn.connection
        if not any(r.state in state.PENDING for r in state.jobs_of_global(conn, move.global_id)):
            return
        if not presence.live(conn):
            self.spawn()

    def ensure(self) -> bool:
        """Start a controller if jobs are pending and none is alive; True if one was started."""
        from ..store import txn as txnmod

        with txnmod.read(self.store) as t:
            if not state.pending_jobs(t.connection) or presence.live(t.connection):
                return False
        return self.spawn()

    def spawn(self) -> bool:
        """Start the background controller process (unless this process's is still starting);
        True if started."""
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return False  # ours is starting (it registers itself) or running
            env = dict(os.environ)
            env["JUPYTER_PIPES_STORE"] = self.store_url
            env["JUPYTER_PIPES_DB"] = self.db_url
            env[ENV_OPTIONS] = json.dumps(self.storage_options)
            if self.scheduler:
                env["JUPYTER_PIPES_DASK_SCHEDULER"] = self.scheduler
            path = self.log_file
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                out = open(path, "ab")  # noqa: SIM115 (the child keeps it)
            except OSError:
                out = None
            try:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", MODULE],
                    stdin=subprocess.DEVNULL,
                    stdout=out if out is not None else subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,  # detached: no terminal signals, outlives us
                    close_fds=True,
                )
            except OSError:
                log.warning("could not start a background controller", exc_info=True)
                return False
            finally:
                if out is not None:
                    out.close()
            # reap it if it exits while we live (else init does)
            threading.Thread(target=self._proc.wait, name="pipes-reaper", daemon=True).start()
            return True
