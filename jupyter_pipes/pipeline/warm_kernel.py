"""One warm kernel: a kernel process driven from a thread of its own, reset between datums.

A :class:`WarmKernel` is used by one datum at a time (the pool in :mod:`warm` sees to that).
Its thread owns the kernel client's sockets and event loop; every call — start, run a notebook,
reset, stop — is queued there, so a reset or a replacement started in the background after a
datum is simply waited for by the next one. The kernel's side of the reset is
:mod:`kernel_reset`, whose source is sent into the kernel when it starts; requests to it go over
a comm (no cell machinery). Kernels start as nbclient starts them (in-memory history) plus
``_execute_sleep=0``: ipykernel's 0.5 ms pause before each execute reply only helps frontends
that do not wait for the idle status, which nbclient does, after all output.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from .command import CellError
from .notebook import Prepared, _kernel_config, failure, mark_failure, new_client

__all__ = ["MAX_USES", "Key", "WarmKernel"]

MAX_USES = 200  # datums per kernel process before it is replaced
CALL_TIMEOUT_S = 30.0  # for the enter/reset requests
STARTUP_TIMEOUT_S = 60.0
_MODULE = "_jupyter_pipes_warm"
_HELPER = (Path(__file__).with_name("kernel_reset.py")).read_text(encoding="utf-8")
_INIT = (  # binds no name in the user's namespace; the snapshot is taken when our comm opens
    f"(lambda m: (exec(compile({_HELPER!r}, '<jupyter_pipes warm kernel>', 'exec'), m.__dict__),"
    f" __import__('sys').modules.__setitem__({_MODULE!r}, m),"
    f" m.serve(get_ipython(), {_MODULE!r})))"
    f"(__import__('types').ModuleType({_MODULE!r}))"
)
_T = TypeVar("_T")
_LOG = logging.getLogger(__name__)
Key = tuple[str, tuple[tuple[str, str], ...]]
"""(kernel name, sorted environment items): what a kernel must match to be reused."""


class _Serial:
    """A daemon thread running submitted calls one at a time, on one event loop of its own."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        thread = threading.Thread(target=contextvars.Context().run, args=(self._main,), name=name)
        thread.daemon = True
        thread.start()

    def submit(self, fn: Callable[[], _T]) -> Future[_T]:
        fut: Future[_T] = Future()
        self._calls.put((fn, fut))
        return fut

    def stop(self) -> None:
        self._calls.put(None)

    def _main(self) -> None:
        from jupyter_core.utils import ensure_event_loop

        self.loop = ensure_event_loop()  # the loop nbclient's run_sync uses in this thread
        try:
            while (item := self._calls.get()) is not None:
                fn, fut = item
                if fut.set_running_or_notify_cancel():
                    try:
                        fut.set_result(fn())
                    except BaseException as e:
                        fut.set_exception(e)
        finally:
            self.loop.close()


class WarmKernel:
    """One kernel process at a time, started ahead, reset or replaced after each datum."""

    def __init__(self, kernel: str, env: Mapping[str, str], *, max_uses: int = MAX_USES) -> None:
        self.key: Key = (kernel, tuple(sorted(env.items())))
        self.kernel, self.env, self.max_uses = kernel, dict(env), max_uses
        self.uses = 0  # datums run by the current process
        self.pid: int | None = None
        self.killed = False  # set by kill(): the datum's job was cancelled
        self._km: Any = None
        self._kc: Any = None
        self._info: dict[str, Any] = {}
        self.last_reset: dict[str, Any] = {}  # the kernel's reply to the last reset (diagnostics)
        self._comm = ""  # id of the comm to the kernel's reset helper
        self._out: Any = None  # the kernel process's own stdout/stderr
        self._home = tempfile.mkdtemp(prefix="pipes-kernel-")
        self._thread = _Serial(f"pipes-kernel-{kernel}")
        self._thread.submit(self._start_quietly)  # warm up ahead of the first datum

    # -- called from any thread -----------------------------------------------------------------

    def run(self, run: Prepared, timeout_s: float | None) -> CellError | None:
        """Execute ``run.nb`` in place (as ``notebook._execute`` does); block until done."""
        return self._thread.submit(lambda: self._run(run, timeout_s)).result()

    def execute(self, client: Any, cwd: str, deadline: float | None = None) -> None:
        """Run the cells of a papermill client (its notebook manager already started) here,
        from ``cwd``; block until done. Errors propagate as from papermill's own engine; after a
        timeout or a dead kernel the kernel is stopped (the pool replaces it)."""
        self._thread.submit(lambda: self._execute(client, cwd, deadline)).result()

    def recycle(self, healthy: bool) -> Future[None]:
        """After a datum: reset the kernel, or replace it (not ``healthy``, or used up)."""
        return self._thread.submit(lambda: self._recycle(healthy))

    def close(self) -> Future[None]:
        """Stop the kernel process and the thread; remove the kernel's home folder."""
        fut = self._thread.submit(self._stop)
        self._thread.stop()
        fut.add_done_callback(lambda _f: shutil.rmtree(self._home, ignore_errors=True))
        return fut

    def kill(self) -> None:
        """Kill the kernel process now, from any thread: the running datum's job was cancelled.

        The datum's run ends (a dead kernel, or it does not start if the kernel was still
        starting) and the kernel is replaced, as after any failure."""
        self.killed = True
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))

    def kill_now(self) -> None:
        """Kill the process from outside (interpreter exit), whatever its thread is doing."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
        shutil.rmtree(self._home, ignore_errors=True)

    # -- in the kernel's thread -----------------------------------------------------------------

    def _sync(self, coro: Any) -> Any:
        assert self._thread.loop is not None
        return self._thread.loop.run_until_complete(coro)

    def _start(self) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from traitlets.config import Config

        self._stop()
        km = AsyncKernelManager(kernel_name=self.kernel, config=Config(_kernel_config()))
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by _stop
        extra = ["--HistoryManager.hist_file=:memory:", "--IPythonKernel._execute_sleep=0"]
        env = {**os.environ, **self.env}
        self._sync(
            km.start_kernel(
                cwd=self._home, env=env, extra_arguments=extra, stdout=self._out, stderr=self._out
            )
        )
        self._km, self._kc = km, km.client()
        self._kc.start_channels()
        self._kc.allow_stdin = False
        self._sync(self._kc.wait_for_ready(timeout=STARTUP_TIMEOUT_S))
        self.pid = getattr(getattr(km.provisioner, "process", None), "pid", None)
        self._info = self._sync(self._request(self._kc.kernel_info(), STARTUP_TIMEOUT_S))
        self._call(_INIT, STARTUP_TIMEOUT_S)
        self._comm = uuid.uuid4().hex
        opening = self._kc.session.msg(
            "comm_open", {"comm_id": self._comm, "target_name": _MODULE, "data": {}}
        )
        self._kc.shell_channel.send(opening)
        self._sync(self._iopub(opening["header"]["msg_id"], "status", STARTUP_TIMEOUT_S))
        self.uses = 0

    def _start_quietly(self) -> None:
        try:
            self._start()
        except Exception:  # the datum that needs this kernel will report why
            _LOG.debug("warm kernel %s did not start", self.kernel, exc_info=True)
            self._stop()

    def _stop(self) -> None:
        kc, km, out = self._kc, self._km, self._out
        self._kc = self._km = self._out = self.pid = None
        if kc is not None:
            kc.stop_channels()
        if km is not None:
            try:
                self._sync(km.shutdown_kernel(now=True))
            except Exception:
                _LOG.debug("could not shut down kernel %s", self.kernel, exc_info=True)
        if out is not None:
            out.close()

    async def _request(self, msg_id: str, timeout: float) -> dict[str, Any]:
        """The content of the shell reply to ``msg_id``; DeadKernelError, TimeoutError."""
        from nbclient.exceptions import DeadKernelError

        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await self._kc.get_shell_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not await self._km.is_alive():
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]  # type: ignore[no-any-return]
        raise TimeoutError(f"the kernel did not answer within {timeout:g} s")

    async def _iopub(self, msg_id: str, msg_type: str, timeout: float) -> dict[str, Any]:
        """The content of the first ``msg_type`` message on IOPub in reply to ``msg_id``
        (for ``status``: the ``idle`` one). Other messages are dropped: no cell is running."""
        from nbclient.exceptions import DeadKernelError

        end = time.monotonic() + timeout
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await self._kc.get_iopub_msg(timeout=min(left, 1.0))
            except queue.Empty:
                if not await self._km.is_alive():
                    raise DeadKernelError("Kernel died") from None
                continue
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == msg_type:
                content: dict[str, Any] = msg["content"]
                if msg_type != "status" or content["execution_state"] == "idle":
                    return content
        raise TimeoutError(f"the kernel did not answer within {timeout:g} s")

    def _ask(self, timeout: float, **data: str) -> dict[str, Any]:
        """Send ``data`` to the kernel's reset helper (over our comm); its reply, RuntimeError
        if it failed."""
        msg = self._kc.session.msg("comm_msg", {"comm_id": self._comm, "data": data})
        self._kc.shell_channel.send(msg)
        reply = self._sync(self._iopub(msg["header"]["msg_id"], "comm_msg", timeout))["data"]
        if not reply.get("ok"):
            raise RuntimeError(f"warm kernel: {reply.get('error')}")
        return reply  # type: ignore[no-any-return]

    def _tell(self, **data: str) -> None:
        """Send ``data`` to the kernel's reset helper without waiting for its reply."""
        self._kc.shell_channel.send(
            self._kc.session.msg("comm_msg", {"comm_id": self._comm, "data": data})
        )

    def _call(self, code: str, timeout: float) -> None:
        """Run our own code silently (no history, no execution count); RuntimeError if it fails."""
        msg_id = self._kc.execute(code, silent=True, store_history=False, allow_stdin=False)
        reply = self._sync(self._request(msg_id, timeout))
        if reply.get("status") != "ok":
            raise RuntimeError(f"warm kernel: {reply.get('ename')}: {reply.get('evalue')}")

    def _said(self) -> str:
        if self._out is None:
            return ""
        self._out.seek(0)
        return self._out.read()[-65536:].decode("utf-8", "replace")  # type: ignore[no-any-return]

    def _run(self, run: Prepared, timeout_s: float | None) -> CellError | None:
        from jupyter_client.kernelspec import NoSuchKernel

        from ..errors import InvalidArgument

        client = new_client(run.nb, run.kernel, run.deadline, timeout_s)
        client.nb_man.notebook_start()
        try:
            self._execute(client, run.cwd, run.deadline)
        except NoSuchKernel:
            raise InvalidArgument(f"no such kernel: {run.kernel!r}", kernel=run.kernel) from None
        except (TimeoutError, RuntimeError) as e:
            found = failure(e, client.current_index, run.deadline, timeout_s, self._said)
            if found is None:
                raise
            return mark_failure(run.nb, client.current_index, *found)
        finally:
            client.nb_man.notebook_complete()
        return None

    def _execute(self, client: Any, cwd: str, deadline: float | None) -> None:
        try:
            if self._kc is None:  # a previous start failed, or the kernel was replaced
                self._start()
            if self.killed:
                raise RuntimeError("the datum's job was cancelled")
            client.km, client.kc = self._km, self._kc
            # not waited for: the kernel handles it before the first cell's execute_request
            # (one shell channel, in order), and nbclient drops its reply (another parent)
            self._tell(op="enter", cwd=cwd)
            self.uses += 1
            client.reset_execution_trackers()
            client.papermill_execute_cells()
            client.nb.metadata["language_info"] = self._info["language_info"]
            client.set_widgets_metadata()
        except (TimeoutError, RuntimeError):
            self._stop()  # a timed-out cell may still be running: kill it now
            raise

    def _recycle(self, healthy: bool) -> None:
        if healthy and self._kc is not None and self.uses < self.max_uses:
            try:
                reply = self._ask(CALL_TIMEOUT_S, op="reset")
            except Exception:
                _LOG.warning("warm kernel %s: reset failed, restarting it", self.kernel)
            else:
                self.last_reset = reply
                if not reply.get("restart"):
                    return
                # state the reset cannot undo (a patched library, a thread still running)
                _LOG.info("warm kernel %s: restarting it: %s", self.kernel, reply["restart"])
        self._start_quietly()
