"""Warm kernels: run notebooks in already-started kernels, reset between datums.

A :class:`KernelPool` (one per Dask worker, see ``dask_plugin.py``) hands out
:class:`~jupyter_pipes.pipeline.warm_kernel.WarmKernel` slots keyed by (kernel name,
environment), each to one datum at a time; a slot owns one kernel process and a thread that
drives it. :func:`run_warm` runs a datum like :func:`notebook.run_notebook` does — same
parameter injection, same papermill client, same executed notebook, log and
:class:`CellError` — except that the kernel is already running:

1. before the datum, the kernel ``chdir``s to the datum's folder;
2. the cells run through papermill's client (``papermill_execute_cells``);
3. after it, in the background, the kernel is reset (:mod:`kernel_reset`: namespace, user
   modules, ``sys.path``, cwd, ``os.environ``, streams, warning filters, execution counter and
   the rest of the interpreter's and process's state) — or, after a failure, a timeout, a dead
   kernel, ``max_uses`` datums or state the reset cannot undo (a patched library function, a
   thread still running), replaced by a new kernel process (started in the background too).

Kernels that are not IPython kernels for Python cannot be reset: they run fresh.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

from .cancel import running
from .command import RunResult
from .notebook import finish, prepare, run_notebook
from .warm_kernel import MAX_USES, Key, WarmKernel

__all__ = [
    "MAX_USES",
    "KernelPool",
    "WarmKernel",
    "close_engine_pool",
    "engine_pool",
    "run_managed",
    "run_warm",
]


def _warmable(kernel: str) -> bool:
    """Whether ``kernel`` is an IPython kernel for Python (whose state we know how to reset)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        return False
    return spec.language.lower() == "python" and any("ipykernel" in a for a in spec.argv)


class KernelPool:
    """Warm kernels of one Dask worker, never used by two datums at once.

    Parameters
    ----------
    max_uses:
        Datums per kernel process before it is replaced by a new one.
    max_idle:
        Kernels kept between datums (the least recently used beyond this are stopped).
    """

    def __init__(self, *, max_uses: int = MAX_USES, max_idle: int = 2) -> None:
        self.max_uses, self.max_idle = max_uses, max_idle
        self._idle: list[WarmKernel] = []  # least recently used first
        self._busy: set[WarmKernel] = set()
        self._live: set[WarmKernel] = set()  # every slot not closed yet
        self._lock = threading.Lock()
        self._closed = False
        # at interpreter exit (or if the pool is dropped unclosed), kill what is left
        weakref.finalize(self, _kill_all, self._live)

    def acquire(self, kernel: str, env: Mapping[str, str]) -> WarmKernel | None:
        """A kernel for this datum, for its exclusive use; None if ``kernel`` cannot be warm."""
        key: Key = (kernel, tuple(sorted(env.items())))
        with self._lock:
            for i in range(len(self._idle) - 1, -1, -1):
                if self._idle[i].key == key:
                    slot = self._idle.pop(i)
                    self._busy.add(slot)
                    return slot
        if not _warmable(kernel):
            return None
        slot = WarmKernel(kernel, env, max_uses=self.max_uses)
        with self._lock:
            self._busy.add(slot)
            self._live.add(slot)
        return slot

    def release(self, slot: WarmKernel, healthy: bool) -> None:
        """Give ``slot`` back after a datum (``healthy``: it succeeded); it resets meanwhile."""
        slot.recycle(healthy)
        with self._lock:
            self._busy.discard(slot)
            if self._closed:
                self._close(slot)
                return
            self._idle.append(slot)
            while len(self._idle) > self.max_idle:
                self._close(self._idle.pop(0))

    def _close(self, slot: WarmKernel) -> Future[None]:
        fut = slot.close()
        fut.add_done_callback(lambda _f: self._live.discard(slot))
        return fut

    def close(self, wait: bool = True) -> None:
        """Stop every idle kernel; busy ones stop when released."""
        with self._lock:
            self._closed = True
            idle, self._idle[:] = list(self._idle), []
        futures = [self._close(k) for k in idle]
        if wait:
            for f in futures:
                f.result()

    def state(self) -> list[dict[str, Any]]:
        """Each kernel of the pool (for the cluster panel): its kernel name, whether a datum
        is using it, its process id and how many datums that process has run."""
        with self._lock:
            slots = [(s, True) for s in self._busy] + [(s, False) for s in self._idle]
        return [
            {"kernel": s.kernel, "busy": busy, "pid": s.pid, "uses": s.uses} for s, busy in slots
        ]


def _kill_all(live: set[WarmKernel]) -> None:
    for k in list(live):
        k.kill_now()


def run_warm(
    pool: KernelPool,
    notebook: str | os.PathLike[str],
    executed_path: str | os.PathLike[str],
    parameters: dict[str, Any],
    *,
    cwd: str | os.PathLike[str],
    kernel_name: str | None = None,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
) -> RunResult:
    """:func:`notebook.run_notebook` in a warm kernel of ``pool``: same arguments, same result.

    ``timeout_s`` counts from this call (waiting for a kernel still starting included). Falls
    back to a fresh kernel when the kernel is not an IPython kernel for Python.
    """
    run = prepare(notebook, executed_path, parameters, cwd, kernel_name, timeout_s, env)
    slot = pool.acquire(run.kernel, env or {})
    if slot is None:
        return run_notebook(
            notebook,
            executed_path,
            parameters,
            cwd=cwd,
            kernel_name=kernel_name,
            timeout_s=timeout_s,
            env=env,
        )
    healthy = False
    slot.killed = False
    try:
        with running(slot.kill):  # a cancelled job kills the kernel (then replaced)
            result = finish(run, slot.run(run, timeout_s))
        healthy = result.ok
        return result
    finally:
        pool.release(slot, healthy)


_engine_pool: KernelPool | None = None
_engine_lock = threading.Lock()


def engine_pool() -> KernelPool:
    """The warm kernels of papermill's ``jupyter_pipes`` engine in this process."""
    global _engine_pool
    with _engine_lock:
        if _engine_pool is None:
            _engine_pool = KernelPool(max_idle=2)
        return _engine_pool


def close_engine_pool() -> None:
    """Stop the kernels of :func:`engine_pool` (they also stop when this process exits)."""
    global _engine_pool
    with _engine_lock:
        pool, _engine_pool = _engine_pool, None
    if pool is not None:
        pool.close()


def run_managed(nb_man: Any, kernel_name: str, client: Any) -> bool:
    """Run papermill's managed notebook in a warm kernel of :func:`engine_pool`, from this
    process's working directory (papermill's ``cwd``); ``client`` is the papermill client
    for ``nb_man``. False if ``kernel_name`` cannot be warm (the caller runs it as usual)."""
    pool = engine_pool()
    slot = pool.acquire(kernel_name, {})
    if slot is None:
        return False
    healthy = False
    try:
        slot.execute(client, os.getcwd())
        healthy = not nb_man.nb.metadata.get("papermill", {}).get("exception")
        return True
    finally:
        pool.release(slot, healthy)
