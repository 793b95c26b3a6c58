"""Cancelling a job's running datums inside a worker process: what runs for which job.

A datum task (``dask_plugin.run_batch``) runs each datum inside :func:`job`; whatever starts a
process for it — a command, a fresh kernel, a warm kernel's run — registers a way to kill it
with :func:`running`. :func:`cancel` (called on every worker by ``Executor.cancel_job``) marks
the job cancelled and calls those kill functions: the processes die at once, the datum's run
returns, :func:`running` turns its end into :class:`Cancelled` (so no retry starts), and the
batch skips the job's remaining datums. The worker thread is free for the next job's datums.

Pure standard library, no Dask: a worker imports it with the datum code; outside a task
(``run_datum`` called directly) nothing is registered and nothing can be cancelled.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["Cancelled", "Restarted", "cancel", "check", "is_cancelled", "job", "restart", "running"]

_KEEP = 1024  # cancelled job ids remembered (a job id is never run again once cancelled)
_TTL_S = 3600.0
_LOG = logging.getLogger(__name__)
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("pipes_job", default=None)
_datum: contextvars.ContextVar[str | None] = contextvars.ContextVar("pipes_datum", default=None)
_restarts: set[tuple[str, str]] = set()  # (job, datum) whose running process was killed
_by_datum: dict[tuple[str, str], dict[int, Callable[[], None]]] = {}
_lock = threading.Lock()
_running: dict[str, dict[int, Callable[[], None]]] = {}  # job id -> kill functions
_cancelled: OrderedDict[str, float] = OrderedDict()  # job id -> when
_ids = iter(range(1 << 62))


class Restarted(Exception):
    """The datum was restarted (``restart datum``): its run was stopped, to start again."""

    def __init__(self, job_id: str, datum_id: str) -> None:
        super().__init__(f"datum {datum_id} of job {job_id} was restarted")
        self.job_id = job_id
        self.datum_id = datum_id


class Cancelled(Exception):
    """The datum's job was cancelled (a job timeout, ``stop job``): its run was stopped."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} was cancelled")
        self.job_id = job_id


def is_cancelled(job_id: str | None) -> bool:
    """Whether ``job_id`` was cancelled in this process (within the last hour)."""
    if job_id is None:
        return False
    with _lock:
        when = _cancelled.get(job_id)
    return when is not None and time.monotonic() - when < _TTL_S


def check() -> None:
    """Raise :class:`Cancelled` if the current datum's job was cancelled."""
    job_id = _current.get()
    if is_cancelled(job_id):
        raise Cancelled(job_id)  # type: ignore[arg-type]


@contextmanager
def job(job_id: str, datum_id: str | None = None) -> Iterator[None]:
    """Run the body as datum ``datum_id`` of ``job_id`` (for :func:`running`, :func:`check`
    and :func:`restart`)."""
    token = _current.set(job_id)
    dtoken = _datum.set(datum_id)
    try:
        yield
    finally:
        _datum.reset(dtoken)
        _current.reset(token)


@contextmanager
def running(kill: Callable[[], None]) -> Iterator[None]:
    """Register ``kill`` (stops the process the body waits for) for the current datum's job.

    If the job is (or gets) cancelled, ``kill`` is called and the body's end — normal or not —
    becomes :class:`Cancelled`. Outside :func:`job`, a plain pass-through.
    """
    job_id = _current.get()
    if job_id is None:
        yield
        return
    key = next(_ids)
    datum = _datum.get()
    dkey = (job_id, datum) if datum is not None else None
    with _lock:
        _running.setdefault(job_id, {})[key] = kill
        if dkey is not None:
            _restarts.discard(dkey)  # asked before this run started: this run is the restart
            _by_datum.setdefault(dkey, {})[key] = kill
    try:
        if is_cancelled(job_id):  # cancelled before the process was registered
            _call(kill)
        yield
    except BaseException as e:
        if is_cancelled(job_id):
            raise Cancelled(job_id) from e
        if _take_restart(dkey):
            raise Restarted(job_id, datum or "") from e
        raise
    finally:
        with _lock:
            kills = _running.get(job_id, {})
            kills.pop(key, None)
            if not kills:
                _running.pop(job_id, None)
            if dkey is not None:
                dkills = _by_datum.get(dkey, {})
                dkills.pop(key, None)
                if not dkills:
                    _by_datum.pop(dkey, None)
    if is_cancelled(job_id):
        raise Cancelled(job_id)
    if _take_restart(dkey):
        raise Restarted(job_id, datum or "")


def _take_restart(dkey: tuple[str, str] | None) -> bool:
    with _lock:
        if dkey is None or dkey not in _restarts:
            return False
        _restarts.discard(dkey)
        return True


def restart(job_id: str, datum_id: str) -> int:
    """Kill what runs for datum ``datum_id`` of ``job_id`` in this process: its run ends with
    :class:`Restarted` (the worker runs it again, not counting a try); how many kills."""
    with _lock:
        kills = list(_by_datum.get((job_id, datum_id), {}).values())
        if kills:
            _restarts.add((job_id, datum_id))
    for kill in kills:
        _call(kill)
    return len(kills)


def cancel(job_id: str) -> int:
    """Mark ``job_id`` cancelled in this process and kill what runs for it; how many kills."""
    now = time.monotonic()
    with _lock:
        _cancelled[job_id] = now
        _cancelled.move_to_end(job_id)
        while len(_cancelled) > _KEEP or next(iter(_cancelled.values())) < now - _TTL_S:
            _cancelled.popitem(last=False)
        kills = list(_running.get(job_id, {}).values())
    for kill in kills:
        _call(kill)
    return len(kills)


def _call(kill: Callable[[], None]) -> None:
    try:
        kill()
    except Exception:  # already gone, or never started: nothing left to stop
        _LOG.debug("cancel: kill failed", exc_info=True)
