"""Keep the endpoints that pipeline specs declare (``serve:``) running, one child process each.

A :class:`Supervisor` looks at the pipelines every ``interval`` seconds. For each pipeline with
a ``serve:`` section it keeps one child process (``python -m
jupyter_pipes.pipeline.serving.process``) serving ``<pipeline>@<output_branch>``; it restarts
a child that exits (with a growing delay), restarts it when the HTTP settings change (host,
port, threads, token, window), and stops it when the pipeline or its ``serve:`` goes away. A
new serving notebook needs no restart: the endpoint swaps it like a model. Only one replica
per host: a service that another supervisor on this host already runs is left to it. Several
hosts sharing a store (S3 + PostgreSQL) each run their own replica, behind a load balancer.

The child gets its settings as JSON on stdin, so neither the store's credentials nor the
token show in the process list. The token of a ``serve:`` is read from the environment
variable its ``token_env`` names, in the supervisor's environment.

One call for a service process: ``supervise(client.store, stop=event)`` blocks until the event
is set; the Jupyter server extension uses ``Supervisor(store).start()`` and ``.stop()``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from ...store.store import Store
from .. import state
from ..spec import parse_duration, parse_spec
from .log import ServingLog

logger = logging.getLogger("jupyter_pipes.serving")
BACKOFF = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
STABLE_S = 60.0
"""A child up this long has its restart delay reset."""


@dataclass(frozen=True)
class Declared:
    """An endpoint a pipeline spec declares, with what needs a restart when it changes."""

    pipeline: str
    ref: str
    host: str
    port: int
    threads: int
    log_window: float
    token_env: str | None


@dataclass
class _Child:
    declared: Declared
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restarts: int = 0
    next_start: float = 0.0
    last_exit: int | None = None
    problem: str | None = None


class Supervisor:
    """Runs the declared endpoints of one store as child processes (see the module doc).

    Parameters
    ----------
    store:
        The store (``Client.store``): its URL, database URL and fsspec options are handed to
        the children.
    interval:
        Seconds between two looks at the pipelines.
    python:
        The interpreter of the children.
    log:
        Where to report (default: the ``jupyter_pipes.serving`` logger).
    stop:
        An event that ends :meth:`run` when set (default: a new one, set by :meth:`stop`).
    """

    def __init__(
        self, store: Store, *, interval: float = 2.0, python: str = sys.executable,
        log: logging.Logger | logging.LoggerAdapter[Any] | None = None,
        stop: threading.Event | None = None,
    ) -> None:  # fmt: skip
        self.store = store
        self.interval = interval
        self.python = python
        self.log = log or logger
        self.children: dict[str, _Child] = {}
        self._stop = stop or threading.Event()
        self._thread: threading.Thread | None = None
        self._serving_log = ServingLog(store.meta)
        self._warned: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Supervisor:
        """Supervise in a background thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="pipes-supervisor", daemon=True)
            self._thread.start()
        return self

    def run(self) -> None:
        """Supervise in this thread until :meth:`stop` (or the stop event) is called."""
        while not self._stop.is_set():
            try:
                self.reconcile()
            except Exception as exc:  # the store unreachable for a moment: try again later
                self.log.warning("jupyter_pipes: serving supervisor: %s", exc)
            self._stop.wait(self.interval)
        self._stop_all()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop supervising; each child shuts down gracefully (SIGTERM, then SIGKILL after
        ``timeout`` seconds)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout + 5)
        self._stop_all(timeout)

    def status(self) -> list[dict[str, Any]]:
        """One dict per declared endpoint: pid, running, restarts, last exit, problem."""
        return [
            {
                "service": name, "pid": c.proc.pid if c.proc else None,
                "running": c.proc is not None and c.proc.poll() is None, "restarts": c.restarts,
                "last_exit": c.last_exit, "problem": c.problem, **asdict(c.declared),
            }
            for name, c in sorted(self.children.items())
        ]  # fmt: skip

    # -- one pass ------------------------------------------------------------------------------

    def declared(self) -> dict[str, Declared]:
        """The endpoints the pipelines declare now."""
        with self.store.meta.read() as conn:
            rows = state.all_pipelines(conn)
        out = {}
        for row in rows:
            spec = parse_spec(json.loads(row.spec))
            if spec.serve is None:
                continue
            s = spec.serve
            out[spec.name] = Declared(
                pipeline=spec.name, ref=f"{spec.name}@{s.branch or spec.output_branch}",
                host=s.host,
                port=s.port, threads=s.threads, log_window=parse_duration(s.log_window),
                token_env=s.token_env,
            )  # fmt: skip
        return out

    def reconcile(self) -> None:
        """Start, restart and stop children so that each declared endpoint runs once here."""
        want = self.declared()
        for name in list(self.children):
            child = self.children[name]
            if name not in want or want[name] != child.declared:
                self._terminate(child)
                del self.children[name]
        now = time.time()
        for name, decl in want.items():
            child = self.children.setdefault(name, _Child(decl))
            proc = child.proc
            if proc is not None and proc.poll() is None:
                if now - child.started > STABLE_S:
                    child.restarts = 0
                continue
            if proc is not None:  # it exited: restart after a delay
                child.last_exit, child.proc = proc.returncode, None
                self._serving_log.mark_exited(
                    name, socket.gethostname(), proc.pid,
                    f"the process exited with status {proc.returncode}",
                )  # fmt: skip
                child.next_start = now + BACKOFF[min(child.restarts, len(BACKOFF) - 1)]
                child.restarts += 1
                self.log.warning(
                    "jupyter_pipes: service %s exited with status %s; restarting in %.0f s",
                    name, proc.returncode, child.next_start - now,
                )  # fmt: skip
            if now >= child.next_start:
                self._launch(name, child)

    def _launch(self, name: str, child: _Child) -> None:
        decl = child.declared
        problem = self._cannot_run(name, decl)
        if problem is not None:
            if problem != child.problem:
                self.log.warning("jupyter_pipes: not serving %s: %s", name, problem)
            child.problem = problem
            return
        token = os.environ.get(decl.token_env) if decl.token_env else None
        config = {
            "store": self.store.url, "db_url": self.store.meta.url,
            "storage_options": self.store.storage_options, "pipeline": decl.pipeline,
            "ref": decl.ref, "host": decl.host, "port": decl.port, "threads": decl.threads,
            "log_window": decl.log_window, "token": token,
        }  # fmt: skip
        proc = subprocess.Popen(
            [self.python, "-m", "jupyter_pipes.pipeline.serving.process"],
            stdin=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(config).encode())
        proc.stdin.close()
        child.proc, child.started, child.problem = proc, time.time(), None
        self.log.info("jupyter_pipes: serving %s (pid %s)", decl.ref, proc.pid)

    def _cannot_run(self, name: str, decl: Declared) -> str | None:
        if self.store.url.startswith("memory://") or self.store.meta.url in (
            "sqlite://", "sqlite:///:memory:",
        ):  # fmt: skip
            return "a memory:// store or an in-memory database lives in one process only"
        if decl.token_env and not os.environ.get(decl.token_env):
            return f"serve.token_env names {decl.token_env}, which is not set here"
        host = socket.gethostname()
        ours = {c.proc.pid for c in self.children.values() if c.proc is not None}
        for r in self._serving_log.replicas(name):
            running = r.hostname == host and r.state not in ("stopped", "lost")
            if running and r.pid not in ours and (r.pid == os.getpid() or _alive(r.pid)):
                return f"another process on this host (pid {r.pid}) serves it already"
        return None

    def _terminate(self, child: _Child, timeout: float = 30.0) -> None:
        proc = child.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def _stop_all(self, timeout: float = 30.0) -> None:
        for child in self.children.values():
            if child.proc is not None and child.proc.poll() is None:
                child.proc.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children.values():
            if child.proc is not None:
                try:
                    child.proc.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.proc.kill()
                    child.proc.wait(10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def supervise(
    store: Store, *, stop: threading.Event | None = None, interval: float = 2.0,
    log: logging.Logger | None = None,
) -> None:  # fmt: skip
    """Keep the declared endpoints of ``store`` running until ``stop`` is set (the one call a
    controller service needs); the children are stopped gracefully on the way out."""
    Supervisor(store, interval=interval, log=log, stop=stop).run()
