"""An endpoint: a model served over HTTP from a branch head, swapping when the head moves.

Three threads: the event loop (tornado) answers requests; the watcher polls the branch head
(one small query every ``poll_interval``), and when it moved, materialises the new head's
files, runs the serving definition in a fresh namespace and calls ``load`` — all off the
event loop — then hands the new :class:`Version` to the loop, which swaps one reference. A
request takes the current version when it starts and keeps it to the end, so requests in
flight finish on the old model and new ones go to the new one; the old version's folder is
deleted once its last request is done. A load that fails leaves the old version serving and
is recorded (the replica's ``last_error`` and a ``load_failed`` event); it is tried again
only when the head moves again, or after ``retry_interval``. The recorder thread writes a
heartbeat and the finished windows of the serving log every ``heartbeat_interval``.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import queue
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil

from ...errors import Conflict, InvalidArgument, NotFound, PipesError, ServingCodeError
from ...store.refs import Ref, parse_ref
from ...store.store import Store
from .definition import Definition, Loaded
from .http import make_app
from .log import RETENTION_S, ServingLog
from .stats import Stats

logger = logging.getLogger("jupyter_pipes.serving")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class EndpointConfig:
    """How to serve: the branch, the definition and the HTTP and log settings."""

    ref: str
    """``repo@branch`` to follow."""
    definition: Definition | None = None
    """The serving code; ``None`` reads the pipeline's ``serve:`` notebook from the store
    (and swaps it too when the pipeline is updated)."""
    name: str | None = None
    """The service's name (default: the repo's)."""
    pipeline: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    token: str | None = field(default=None, repr=False)
    threads: int = 4
    """Threads running ``predict`` (0: on the event loop itself)."""
    log_window: float = 10.0
    poll_interval: float = 0.2
    heartbeat_interval: float = 2.0
    retry_interval: float = 60.0
    retention: float = RETENTION_S
    drain_seconds: float = 0.0
    """Seconds between readiness turning 503 and no longer accepting connections (let a load
    balancer notice before the port closes)."""
    grace_seconds: float = 30.0
    """Seconds a shutdown waits for requests in flight."""


class Version:
    """One loaded model: the commit it came from, its ``predict`` and its folder."""

    __slots__ = ("commit", "definition", "folder", "inflight", "loaded", "retired", "spec_commit")

    def __init__(
        self, commit: str | None, spec_commit: str | None, definition: Definition,
        loaded: Loaded, folder: Path,
    ) -> None:  # fmt: skip
        self.commit = commit
        self.spec_commit = spec_commit
        self.definition = definition
        self.loaded = loaded
        self.folder = folder
        self.inflight = 0
        self.retired = False

    @property
    def predict(self) -> Callable[[Any], Any]:
        """The version's ``predict``."""
        return self.loaded.predict


class Endpoint:
    """Serve ``config.ref`` over HTTP; see the module docstring.

    Parameters
    ----------
    store:
        The store (``Client.store``).
    config:
        What and how to serve.
    """

    def __init__(self, store: Store, config: EndpointConfig) -> None:
        ref = parse_ref(config.ref)
        if ref.ancestors:
            raise InvalidArgument(
                f"serve a branch (repo@branch), not {config.ref!r}", ref=config.ref
            )
        self.store = store
        self.config = config
        self.repo, self.branch = ref.repo, ref.base
        self.ref = f"{self.repo}@{self.branch}"
        self.name = config.name or config.pipeline or self.repo
        if config.definition is None and config.pipeline is None:
            raise InvalidArgument("give a serving notebook (or serve a pipeline with serve:)")
        if config.log_window <= 0 or config.poll_interval <= 0:
            raise InvalidArgument("log_window and poll_interval must be positive")
        self.replica = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.log = ServingLog(store.meta)
        self.stats = Stats(config.log_window)
        self.logger = logger
        self.current: Version | None = None
        self.inflight = 0
        self.draining = False
        self.last_error: str | None = None
        self.port: int | None = None
        self.started_at = time.time()
        self._definitions: dict[str | None, Definition] = {}
        self._key: tuple[str | None, str | None] | None = None
        self._failed: tuple[tuple[str | None, str | None], float] | None = None
        self._retired: queue.SimpleQueue[Version] = queue.SimpleQueue()
        self._cache = Path(tempfile.mkdtemp(prefix=f"pipes-serve-{self.name}-"))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = (
            ThreadPoolExecutor(config.threads, thread_name_prefix=f"pipes-predict-{self.name}")
            if config.threads > 0 else None
        )  # fmt: skip
        self._listening = threading.Event()
        self._first_load = threading.Event()
        self._stop = threading.Event()
        self._shutdown: asyncio.Event | None = None
        self._threads: list[threading.Thread] = []
        self._start_error: BaseException | None = None
        self._stopped = False
        self._grace = config.grace_seconds
        if config.host not in LOOPBACK and not config.token:
            logger.warning(
                "service %s listens on %s without a token: anyone who reaches it can call it",
                self.name, config.host,
            )  # fmt: skip

    # -- public --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` (the port it got, for port 0)."""
        host = self.config.host
        host = "127.0.0.1" if host in ("", "0.0.0.0") else host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def commit(self) -> str | None:
        """The commit answering now."""
        return self.current.commit if self.current else None

    @property
    def ready(self) -> bool:
        """A model is loaded and the endpoint takes requests."""
        return self.current is not None and not self.draining

    def start(self, *, wait: bool = True, timeout: float = 120.0) -> Endpoint:
        """Listen and start following the branch, in background threads.

        With ``wait``, return once the first load is done (or failed: the endpoint then
        answers 503 until a later head loads). ``Conflict`` if the port is taken.
        """
        if self._threads:
            return self
        if self.branch not in {b.name for b in self.store.list_branch(self.repo)}:
            raise NotFound(
                f"branch {self.ref} not found: serve a branch (repo@branch)", ref=self.ref
            )
        serve = threading.Thread(target=self._serve, name=f"pipes-serve-{self.name}", daemon=True)
        self._threads.append(serve)
        serve.start()
        self._listening.wait(timeout)
        if self._start_error is not None:
            self._cleanup()
            err = self._start_error
            raise Conflict(
                f"service {self.name}: cannot listen on {self.config.host}:{self.config.port}: "
                f"{getattr(err, 'strerror', None) or err}",
                service=self.name, port=self.config.port,
            ) from None  # fmt: skip
        self._register()
        for target, what in ((self._watch, "watch"), (self._record, "record")):
            t = threading.Thread(target=target, name=f"pipes-{what}-{self.name}", daemon=True)
            self._threads.append(t)
            t.start()
        atexit.register(self.stop)  # an in-process endpoint still flushes its log at exit
        if wait:
            self._first_load.wait(timeout)
        return self

    def run(self) -> None:
        """Start, then serve in the foreground (see :meth:`serve_forever`)."""
        self.start(wait=False)
        self.serve_forever()

    def serve_forever(self) -> None:
        """Block until SIGTERM or SIGINT (or the server stops), then shut down gracefully."""
        requested = threading.Event()
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, lambda *_: requested.set())
        try:
            while not requested.wait(0.5):
                if not self._threads or not self._threads[0].is_alive():
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()

    def stop(self, grace: float | None = None) -> None:
        """Stop gracefully: readiness turns 503, requests in flight finish (up to ``grace``
        seconds), the serving log is flushed and the replica is marked stopped."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        self.draining = True
        self._grace = self.config.grace_seconds if grace is None else grace
        loop, shutdown = self._loop, self._shutdown
        if loop is not None and shutdown is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(shutdown.set)
        if self._threads:
            self._threads[0].join(self._grace + self.config.drain_seconds + 5)
        self._stop.set()
        for t in self._threads[1:]:
            t.join(30)
        if self._listening.is_set() and self._start_error is None:
            self._heartbeat(drain_all=True, stopping=True)
            self._event("stop", self.commit, detail="stopped")
        self._cleanup()

    def flush(self) -> None:
        """Write every window counted so far (the current one included) to the serving log."""
        self._heartbeat(drain_all=True)

    def describe(self) -> dict[str, Any]:
        """What ``GET /`` answers."""
        return {
            "service": self.name, "ref": self.ref, "replica": self.replica,
            "commit": self.commit, "ready": self.ready, "requests": self.stats.requests,
            "errors": self.stats.errors, "rate": self.stats.rate(), "last_error": self.last_error,
            "definition": self._definition_name(),
        }  # fmt: skip

    def unready_reason(self) -> str:
        """Why no model answers yet."""
        return self.last_error or f"no model loaded yet from {self.ref}"

    # -- for the HTTP handlers (event loop thread) ---------------------------------------------

    async def call(self, fn: Callable[[Any], Any], arg: Any) -> Any:
        """Run ``predict`` on the pool (or inline without one)."""
        if self._pool is None:
            return fn(arg)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, arg)

    def retire(self, version: Version) -> None:
        """A replaced version served its last request: the watcher deletes its folder."""
        self._retired.put(version)

    def _swap(self, version: Version, done: threading.Event) -> None:
        # with the new version, the old failure is gone: one step for whoever reads both
        old, self.current, self.last_error, self._failed = self.current, version, None, None
        if old is not None:
            old.retired = True
            if old.inflight == 0:
                self.retire(old)
        done.set()

    # -- threads -------------------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # pragma: no cover (a bug in the loop itself)
            logger.exception("service %s: the event loop failed", self.name)
            self._start_error = self._start_error or exc
            self._listening.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        try:
            sockets = tornado.netutil.bind_sockets(self.config.port, self.config.host or None)
        except OSError as exc:
            self._start_error = exc
            self._listening.set()
            return
        server = tornado.httpserver.HTTPServer(make_app(self), xheaders=True)
        server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self._listening.set()
        await self._shutdown.wait()
        self.draining = True
        if self.config.drain_seconds:
            await asyncio.sleep(self.config.drain_seconds)
        server.stop()
        deadline = time.monotonic() + self._grace
        while self.inflight and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await server.close_all_connections()

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                self._poll()
            except Exception as exc:  # the store unreachable for a moment: keep serving
                self._note_error(f"cannot read the head of {self.ref}: {_message(exc)}")
            self._drop_retired()
            if self._key is not None or self.last_error:
                self._first_load.set()
            self._stop.wait(self.config.poll_interval)
        self._drop_retired()

    def _poll(self) -> None:
        heads = {b.name: b.head for b in self.store.list_branch(self.repo)}
        if self.branch not in heads:
            raise NotFound(f"branch {self.ref} not found (deleted?)", ref=self.ref)
        spec = heads.get("spec") if self.config.pipeline else None
        key = (heads[self.branch], spec)
        if key == self._key:
            return
        failed = self._failed
        if (
            failed is not None
            and failed[0] == key
            and time.time() < failed[1] + self.config.retry_interval
        ):
            return
        if key[0] is None:
            self.last_error = f"branch {self.ref} has no commits yet"
            self._first_load.set()
            return
        self._load(key)

    def _load(self, key: tuple[str | None, str | None]) -> None:
        commit, spec = key
        detected = time.monotonic()
        folder = self._cache / f"{commit}-{uuid.uuid4().hex[:6]}"
        try:
            definition = self._definition(spec)
            self._materialise(commit, folder)
            loaded = definition.instantiate(folder)
        except Exception as exc:
            shutil.rmtree(folder, ignore_errors=True)
            message = _message(exc)
            self._failed = (key, time.time())
            error = f"loading {self.repo}@{commit} failed: {message}"
            logger.warning("service %s: %s (still serving %s)", self.name, error,
                           self.commit or "nothing")  # fmt: skip
            self._event("load_failed", commit, self.commit, detail=message)
            self.last_error = error  # after the event: whoever sees the error finds the event
            self._first_load.set()
            return
        version = Version(commit, spec, definition, loaded, folder)
        previous = self.commit
        done = threading.Event()
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._swap, version, done)
        done.wait(30)
        took = time.monotonic() - detected
        self._key = key
        kind = "swap" if previous is not None else "load"
        logger.info("service %s: %s answers (%s, %.3f s)", self.name, commit, kind, took)
        self._event(kind, commit, previous, detail=definition.name, seconds=took)
        self._first_load.set()

    def _definition(self, spec: str | None) -> Definition:
        if self.config.definition is not None:
            return self.config.definition
        if spec not in self._definitions:
            from ..manager import SERVE_FILE

            ref = Ref(self.repo, spec or "spec", explicit=True)
            names = [f.path for f in self.store.list_file(ref)]
            path = next((p for p in names if p.startswith(SERVE_FILE + ".")), None)
            if path is None:
                raise ServingCodeError(
                    f"pipeline {self.config.pipeline} declares no serve: notebook",
                    stage="definition",
                )
            data = self.store.get_file(ref, path)
            self._definitions = {spec: Definition.from_bytes(path.lstrip("/"), data)}
        return self._definitions[spec]

    def _definition_name(self) -> str:
        d = self.config.definition or next(iter(self._definitions.values()), None)
        return d.name if d else "-"

    def _materialise(self, commit: str | None, folder: Path) -> None:
        try:
            self.store.get_to(Ref(self.repo, str(commit), explicit=True), "/", folder)
        except NotFound:  # an empty commit: an empty folder
            folder.mkdir(parents=True, exist_ok=True)

    def _drop_retired(self) -> None:
        while True:
            try:
                v = self._retired.get_nowait()
            except queue.Empty:
                return
            shutil.rmtree(v.folder, ignore_errors=True)

    def _record(self) -> None:
        next_prune = time.time() + 60
        while not self._stop.wait(self.config.heartbeat_interval):
            self._heartbeat()
            if time.time() >= next_prune:
                next_prune = time.time() + 3600
                try:
                    self.log.prune(time.time() - self.config.retention)
                except Exception as exc:
                    logger.warning(
                        "service %s: pruning the serving log failed: %s", self.name, _message(exc)
                    )

    # -- the registry and the log --------------------------------------------------------------

    def _state(self) -> str:
        if self.draining:
            return "draining"
        if self.current is not None:
            return "ready"
        return "failing" if self._failed is not None else "loading"

    def _register(self) -> None:
        now = time.time()
        self.log.register({
            "service": self.name, "replica": self.replica, "ref": self.ref,
            "pipeline": self.config.pipeline, "url": self.url, "hostname": socket.gethostname(),
            "pid": os.getpid(), "definition": self._definition_name(),
            "token": bool(self.config.token), "state": "loading", "commit": None,
            "loaded_at": None, "started_at": now, "heartbeat_at": now,
            "heartbeat_s": self.config.heartbeat_interval, "stopped_at": None, "requests": 0,
            "errors": 0, "rate": 0.0, "last_error": None,
        })  # fmt: skip
        self._event("start", detail=self.url)

    def _heartbeat(self, *, drain_all: bool = False, stopping: bool = False) -> None:
        written = self.stats.drain(everything=drain_all)
        now = time.time()
        values: dict[str, Any] = {
            "heartbeat_at": now, "commit": self.commit, "requests": self.stats.requests,
            "errors": self.stats.errors, "rate": self.stats.rate(now),
            "last_error": self.last_error, "definition": self._definition_name(),
            "state": "stopped" if stopping else self._state(),
        }  # fmt: skip
        if stopping:
            values["stopped_at"] = now
        try:
            self.log.update_replica(self.name, self.replica, written, **values)
        except Exception as exc:
            self.stats.put_back(written)
            logger.warning("service %s: cannot write the serving log: %s", self.name, _message(exc))

    def _event(
        self,
        kind: str,
        commit: str | None = None,
        previous: str | None = None,
        detail: str = "",
        seconds: float | None = None,
    ) -> None:
        try:
            self.log.event(self.name, self.replica, kind, commit, previous, detail, seconds)
            if kind in ("load", "swap"):
                self.log.update_replica(
                    self.name,
                    self.replica,
                    loaded_at=time.time(),
                    commit=commit,
                    state=self._state(),
                    last_error=None,
                    definition=self._definition_name(),
                )
        except Exception as exc:
            logger.warning("service %s: cannot record %s: %s", self.name, kind, _message(exc))

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            logger.warning("service %s: %s", self.name, message)
        self.last_error = message

    def _cleanup(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._cache, ignore_errors=True)


def _message(exc: BaseException) -> str:
    if isinstance(exc, PipesError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"
