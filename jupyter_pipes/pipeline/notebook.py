"""Run one notebook with papermill, and fingerprint notebooks (the one module importing papermill).

:func:`run_notebook` executes a notebook in a fresh kernel with injected parameters and always
returns a :class:`RunResult`: a failing cell, a timeout or a dead kernel is a result, not an
exception. :func:`fingerprint` hashes what a notebook *does* for incremental processing.

papermill (and nbformat) are imported lazily, so hashing notebooks costs no papermill import.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import math
import os
import signal
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import blake3

from jupyter_pipes.errors import InvalidArgument, NotFound
from jupyter_pipes.pipeline.cancel import running
from jupyter_pipes.pipeline.command import CellError, RunResult, strip_ansi

__all__ = ["CellError", "RunResult", "fingerprint", "run_notebook", "strip_ansi"]  # + WarmEngine

_FINGERPRINT_VERSION = 1
#: Cell tags that change what runs: papermill's injection point, nbclient's skip and allowed errors.
_BEHAVIOUR_TAGS = frozenset(
    {"parameters", "injected-parameters", "raises-exception", "skip-execution"}
)
# nbclient logs what the RunResult reports anyway; stay silent unless the app configures logging.
_LOG = logging.getLogger(__name__)
_LOG.addHandler(logging.NullHandler())
_T = TypeVar("_T")
_KERNEL_TAIL = 40  # lines of a dead kernel's own output kept in its error


def _as_dict(notebook: str | os.PathLike[str] | bytes | dict[str, Any]) -> dict[str, Any]:
    """The notebook as a v4 JSON dict; ``str`` and path-likes are file paths."""
    if isinstance(notebook, dict):
        raw = notebook
    else:
        if isinstance(notebook, bytes):
            data = notebook
        else:
            try:
                with open(notebook, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                raise NotFound(
                    f"notebook {os.fspath(notebook)!r} does not exist", path=os.fspath(notebook)
                ) from None
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise InvalidArgument(f"not a notebook (invalid JSON): {e}") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise InvalidArgument("not a notebook: no 'nbformat' field")
    if raw["nbformat"] < 4:  # v3 keeps cells in worksheets; let nbformat convert
        import nbformat

        raw = nbformat.convert(nbformat.from_dict(raw), 4)
    return raw


def fingerprint(notebook: str | os.PathLike[str] | bytes | dict[str, Any]) -> str:
    """BLAKE3 hex digest of what a notebook executes, for incremental processing.

    The digest covers, in order:

    * the kernel name (``metadata.kernelspec.name``);
    * for every code cell, in order: its source with line endings normalised to ``\\n``
      (nothing else: trailing spaces can matter inside string literals), and those of its tags
      that change execution (``parameters``, ``injected-parameters``, ``raises-exception``,
      ``skip-execution``). A cell tagged ``skip-execution`` contributes its tags only.
      Whitespace-only code cells without such tags are left out (nbclient never runs them).

    Everything else is ignored: outputs, execution counts, cell ids, other cell and notebook
    metadata, markdown and raw cells. So re-running or re-documenting a notebook keeps its
    fingerprint; editing code, moving the ``parameters`` tag or switching kernel changes it.

    Parameters
    ----------
    notebook:
        A path (``str`` or path-like), the file's bytes, or the parsed JSON dict / NotebookNode.

    Returns
    -------
    str
        64 hex characters.

    Raises
    ------
    NotFound
        The path does not exist.
    InvalidArgument
        The content is not a notebook.
    """
    nb = _as_dict(notebook)
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        tags = sorted(_BEHAVIOUR_TAGS.intersection(cell.get("metadata", {}).get("tags", [])))
        src = cell.get("source", "")
        src = ("".join(src) if isinstance(src, list) else src).replace("\r\n", "\n")
        src = src.replace("\r", "\n")
        if "skip-execution" in tags:
            src = ""
        elif not src.strip() and not tags:
            continue
        cells.append([tags, src])
    kernel = (nb.get("metadata", {}).get("kernelspec") or {}).get("name", "")
    payload = {"fingerprint": _FINGERPRINT_VERSION, "kernel": kernel, "cells": cells}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return blake3.blake3(text.encode("ascii")).hexdigest()


@functools.cache
def _kernel_config() -> dict[str, Any]:
    """Encrypt kernel traffic (CurveZMQ) where jupyter_client and the kernelspec support it.

    It also keeps ipykernel's "running over TCP without encryption" warning out of the way.
    """
    import zmq
    from jupyter_client import KernelManager

    if "transport_encryption" in KernelManager.class_trait_names() and zmq.has("curve"):
        return {"KernelManager": {"transport_encryption": "auto"}}
    return {}


@functools.cache
def _client_class() -> type:
    """papermill's notebook client, tracking the running cell and failing fast on timeout."""
    from nbclient.exceptions import CellTimeoutError
    from papermill.clientwrap import PapermillNotebookClient

    class _Client(PapermillNotebookClient):  # type: ignore[misc]
        current_index = -1  # index (in the executed notebook) of the cell being run
        cancelled = False  # set by kill(): run no further cell
        watch: str | None = None  # the datum's output folder (lineage: which cell wrote what)
        seen: dict[str, tuple[int, int, int]] | None = None

        def execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
            if self.cancelled:
                raise RuntimeError("the datum's job was cancelled")
            self.current_index = cell_index
            if self.watch is None:
                return super().execute_cell(cell, cell_index, *args, **kwargs)
            if self.seen is None:
                self.seen = _snapshot(self.watch)
            try:
                return super().execute_cell(cell, cell_index, *args, **kwargs)
            finally:
                self.seen = _record_writes(cell, self.watch, self.seen)

        def kill(self) -> None:
            """From any thread: run no further cell and kill the kernel if it started."""
            self.cancelled = True
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            pid = getattr(process, "pid", None)
            if pid is not None:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)

        async def _async_handle_timeout(self, timeout: float, cell: Any = None) -> None:
            # The kernel is busy: a graceful shutdown would wait seconds for it; kill it.
            self.shutdown_kernel = "immediate"
            # nbclient types the timeout as int, but formats it (it may be a float here)
            raise CellTimeoutError.error_from_timeout_and_cell(
                "Cell execution timed out",
                timeout,  # type: ignore[arg-type]
                cell,
            )

    return _Client


def _read(path: str) -> Any:
    """Read a notebook as nbformat v4.5 with papermill's metadata slots, without warnings."""
    import nbformat
    from papermill import __version__

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise NotFound(f"notebook {path!r} does not exist", path=path) from None
    try:
        nb = nbformat.reader.reads(text)
    except (nbformat.reader.NotJSONError, ValueError) as e:
        raise InvalidArgument(f"{path!r} is not a notebook: {e}", path=path) from None
    if nb.nbformat != 4:
        nb = nbformat.convert(nb, 4)
    nb = nbformat.v4.upgrade(nb)
    slots: dict[str, dict[str, Any]] = {
        "default_parameters": {},
        "parameters": {},
        "environment_variables": {},
    }
    nb.metadata.setdefault("papermill", {**slots, "version": __version__})
    for cell in nb.cells:
        cell.setdefault("id", uuid.uuid4().hex[:8])  # missing ids warn on write
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    return nb


def _inject(nb: Any, parameters: dict[str, Any], kernel: str) -> tuple[int, bool]:
    """Inject papermill's parameters cell; return (its index, whether it replaced a cell)."""
    import nbformat
    from papermill.exceptions import PapermillException
    from papermill.translators import translate_parameters

    spec = nb.metadata.get("kernelspec") or {}
    language = spec.get("language") or (nb.metadata.get("language_info") or {}).get("name")
    try:
        code = translate_parameters(kernel, language, parameters, "Parameters")
    except PapermillException as e:
        raise InvalidArgument(str(e), kernel=kernel) from None
    cell = nbformat.from_dict(  # nbformat.v4.new_code_cell, without its validation (~0.5 ms)
        {
            "id": uuid.uuid4().hex[:8],
            "cell_type": "code",
            "metadata": {"tags": ["injected-parameters"], "papermill": {}},
            "execution_count": None,
            "source": code,
            "outputs": [],
        }
    )
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    injected = [i for i, t in enumerate(tags) if "injected-parameters" in t]
    params = [i for i, t in enumerate(tags) if "parameters" in t]
    if injected:
        nb.cells[injected[0]] = cell
        return injected[0], True
    index = params[0] + 1 if params else 0
    nb.cells.insert(index, cell)
    return index, False


def _log_text(nb: Any) -> str:
    parts = [
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    ]
    return "".join(parts)


def mark_failure(
    nb: Any, index: int, ename: str, evalue: str, lines: list[str]
) -> CellError | None:
    """Record a failure papermill cannot see (timeout, dead kernel) as the cell's error output.

    Returns the error itself when no cell was running (kernel start).
    """
    import nbformat

    traceback = [f"{ename}: {evalue}", *lines]
    if index < 0:
        return CellError(-1, ename, evalue, "\n".join(traceback))
    cell = nb.cells[index]
    output = nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)
    cell.outputs.append(output)
    cell.metadata["papermill"].update(exception=True, status="failed")
    nb.metadata["papermill"]["exception"] = True
    return None


def run_notebook(
    notebook: str | os.PathLike[str],
    executed_path: str | os.PathLike[str],
    parameters: dict[str, Any],
    *,
    cwd: str | os.PathLike[str],
    kernel_name: str | None = None,
    timeout_s: float | None = None,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Execute a notebook in a fresh kernel with papermill; never raise for notebook errors.

    Parameters are injected as papermill does: a cell tagged ``injected-parameters`` right after
    the first cell tagged ``parameters`` (replacing an existing injected cell; at the top when
    there is no ``parameters`` cell); nothing is injected when ``parameters`` is empty.

    Thread-safe: the working directory and environment go to the kernel process only (no
    ``os.chdir``, no ``os.environ`` change), so concurrent runs do not interfere.

    Parameters
    ----------
    notebook:
        The notebook file.
    executed_path:
        Where to write the executed notebook, always (on failure too: it holds the traceback and
        papermill's error markers). Written atomically; the parent folder is created.
    parameters:
        Values to inject (anything papermill can translate for the kernel's language).
    cwd:
        The kernel's working directory (must exist).
    kernel_name:
        Overrides the notebook's kernelspec; ``python3`` when neither names one.
    timeout_s:
        Limit for the run, kernel start included (nbclient rounds the start-up limit up to whole
        seconds; the final graceful kernel shutdown, ~0.2 s, is not counted). On expiry the
        kernel is killed and the error is a ``TimeoutError`` at the running cell.
    env:
        Variables added to (overriding) this process's environment, for the kernel.

    Returns
    -------
    RunResult
        ``error.cell_index`` counts cells of the original notebook file (see :class:`CellError`).
        A kernel that dies (``DeadKernelError``) or cannot start (``RuntimeError``, index -1)
        is a result too, its traceback ending with the kernel process's own last output lines.

    Raises
    ------
    NotFound
        The notebook or ``cwd`` does not exist.
    InvalidArgument
        No such kernel, bad timeout or env, or parameters the kernel's language cannot take.
    """
    run = prepare(notebook, executed_path, parameters, cwd, kernel_name, timeout_s, env)
    environ = {**os.environ, **(env or {})}
    early = _execute(run.nb, run.kernel, run.cwd, environ, run.deadline, timeout_s)
    return finish(run, early)


@dataclass
class Prepared:
    """A notebook read, validated and parameterised, ready to run (shared with ``warm.py``)."""

    nb: Any
    out: str
    cwd: str
    kernel: str
    injected: tuple[int, bool] | None
    start: float
    deadline: float | None


def prepare(
    notebook: str | os.PathLike[str],
    executed_path: str | os.PathLike[str],
    parameters: dict[str, Any],
    cwd: str | os.PathLike[str],
    kernel_name: str | None,
    timeout_s: float | None,
    env: dict[str, str] | None,
) -> Prepared:
    """Validate the arguments of :func:`run_notebook`, read the notebook, inject parameters."""
    start = time.monotonic()
    src, out = os.fspath(notebook), os.path.abspath(os.fspath(executed_path))
    workdir = os.path.abspath(os.fspath(cwd))
    if timeout_s is not None and not timeout_s > 0:
        raise InvalidArgument(f"timeout_s must be positive, got {timeout_s!r}", field="timeout_s")
    if env and not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InvalidArgument("env names and values must be strings", field="env")
    nb = _read(src)
    if not os.path.isdir(workdir):
        raise NotFound(f"working directory {workdir!r} does not exist", path=workdir)
    kernel = kernel_name or (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    injected = _inject(nb, parameters, kernel) if parameters else None
    recorded = json.loads(json.dumps(parameters, default=str))  # the notebook must stay JSON
    nb.metadata["papermill"].update(parameters=recorded, input_path=src, output_path=out)
    deadline = None if timeout_s is None else start + timeout_s
    return Prepared(nb, out, workdir, kernel, injected, start, deadline)


def _in_own_thread(fn: Callable[[], _T]) -> _T:
    """Call ``fn`` in a new thread and empty context, then close the loops nbclient used there.

    nbclient runs its coroutines on a per-thread event loop that it never closes, so a
    short-lived caller thread (a pool worker) would leak one. Our own thread also never finds a
    running loop (the caller may be inside one) and leaves the main thread's signal handlers
    alone. Costs well under a millisecond.
    """
    box: list[tuple[bool, Any]] = []

    def target() -> None:
        loop = asyncio.new_event_loop()  # what jupyter_core < 5.7 picks up
        asyncio.set_event_loop(loop)
        try:
            box.append((True, fn()))
        except BaseException as e:
            box.append((False, e))
        finally:
            try:  # jupyter_core >= 5.7 keeps its own loop in a context variable
                from jupyter_core.utils import ensure_event_loop
            except ImportError:
                pass
            else:
                ensure_event_loop().close()
            loop.close()
            asyncio.set_event_loop(None)

    thread = threading.Thread(target=contextvars.Context().run, args=(target,), daemon=True)
    thread.start()
    thread.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value  # type: ignore[no-any-return]


def new_client(nb: Any, kernel: str, deadline: float | None, timeout_s: Any, **kw: Any) -> Any:
    """papermill's client (and its execution manager) for ``nb``, limited by ``deadline``."""
    from papermill.engines import NotebookExecutionManager
    from traitlets.config import Config

    def remaining() -> float | None:
        return None if deadline is None else max(deadline - time.monotonic(), 0.001)

    nb_man = NotebookExecutionManager(nb, progress_bar=False, autosave_cell_every=0)
    whole = None if timeout_s is None else math.ceil(timeout_s)  # nbclient wants integers
    client = _client_class()(
        nb_man,
        kernel_name=kernel,
        timeout=whole,
        timeout_func=lambda _cell: remaining(),
        startup_timeout=min(60, whole or 60),
        log=_LOG,
        config=Config(_kernel_config()),
        **kw,
    )
    out = (nb.metadata.get("papermill") or {}).get("parameters", {}).get("out")
    if TRACK_WRITES and isinstance(out, str) and os.path.isabs(out) and os.path.isdir(out):
        client.watch = out
    return client


TRACK_WRITES = True
"""Record, in each code cell's metadata of the executed notebook, the files of the ``out``
folder that appeared or changed while the cell ran (``metadata.jupyter_pipes.wrote``): how
lineage names the cell that wrote a file. One ``stat`` walk of ``out`` per cell."""


def _snapshot(folder: str) -> dict[str, tuple[int, int, int]]:
    """Every file under ``folder``: relative path -> (mtime ns, size, inode)."""
    found: dict[str, tuple[int, int, int]] = {}
    todo = [("", folder)]
    while todo:
        rel, path = todo.pop()
        try:
            entries = list(os.scandir(path))
        except OSError:
            continue
        for e in entries:
            name = f"{rel}{e.name}"
            try:
                if e.is_dir(follow_symlinks=False):
                    todo.append((name + "/", e.path))
                else:
                    st = e.stat(follow_symlinks=False)
                    found[name] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                continue
    return found


def _record_writes(
    cell: Any, folder: str, before: dict[str, tuple[int, int, int]]
) -> dict[str, tuple[int, int, int]]:
    """Note in ``cell``'s metadata the files that appeared or changed since ``before``; the
    folder's state now."""
    now = _snapshot(folder)
    wrote = sorted("/" + p for p, v in now.items() if before.get(p) != v)
    if wrote:
        cell.metadata["jupyter_pipes"] = {"wrote": wrote}
    return now


def failure(
    e: BaseException,
    index: int,
    deadline: float | None,
    timeout_s: Any,
    kernel_out: Callable[[], str],
) -> tuple[str, str, list[str]] | None:
    """(ename, evalue, extra traceback lines) for a timeout or a dead or missing kernel.

    None when ``e`` is something else (a bug: re-raise it). ``index`` is the running cell (-1
    before the first); ``kernel_out`` gives the kernel process's own output.
    """
    from nbclient.exceptions import DeadKernelError

    if not isinstance(e, (TimeoutError, RuntimeError)):  # DeadKernelError is a RuntimeError
        return None
    if deadline is not None and time.monotonic() >= deadline - 0.01:
        return ("TimeoutError", f"notebook run exceeded {timeout_s:g} s", [])
    if isinstance(e, TimeoutError):
        return ("TimeoutError", str(e), [])
    if isinstance(e, DeadKernelError) or index < 0:
        # A kernel that died or never started: its own last words say why.
        return (type(e).__name__, str(e), kernel_out().splitlines()[-_KERNEL_TAIL:])
    return None


def _execute(
    nb: Any, kernel: str, cwd: str, env: dict[str, str], deadline: float | None, timeout_s: Any
) -> CellError | None:
    """Run ``nb`` in place; turn a timeout or dead kernel into an error output (or CellError)."""
    from jupyter_client.kernelspec import NoSuchKernel

    client = new_client(nb, kernel, deadline, timeout_s)
    nb_man = client.nb_man
    nb_man.notebook_start()
    # The kernel process's own stdout/stderr: noise, except for the last words of a dead kernel.
    with tempfile.TemporaryFile() as kernel_out:

        def said() -> str:
            kernel_out.seek(0)
            return kernel_out.read().decode("utf-8", "replace")

        try:
            with running(client.kill):  # a cancelled job kills the kernel
                _in_own_thread(
                    lambda: client.execute(cwd=cwd, env=env, stdout=kernel_out, stderr=kernel_out)
                )
        except NoSuchKernel:
            raise InvalidArgument(f"no such kernel: {kernel!r}", kernel=kernel) from None
        except (TimeoutError, RuntimeError) as e:
            found = failure(e, client.current_index, deadline, timeout_s, said)
            if found is None:
                raise
            return mark_failure(nb, client.current_index, *found)
        finally:
            nb_man.notebook_complete()
    return None


def _write(nb: Any, path: str) -> None:
    """``nbformat.write`` of a notebook nobody uses afterwards: the same file, without the
    schema validation (which only logs) and the defensive deep copy (~1 ms together)."""
    from nbformat.v4.nbjson import BytesEncoder
    from nbformat.v4.rwbase import split_lines, strip_transient

    text = json.dumps(
        strip_transient(split_lines(nb)),  # both edit in place
        cls=BytesEncoder,
        indent=1,
        sort_keys=True,
        separators=(",", ": "),
        ensure_ascii=False,
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def finish(run: Prepared, early: CellError | None) -> RunResult:
    """Write the executed notebook atomically and turn its first error into a CellError."""
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    nb, out, injected = run.nb, run.out, run.injected
    log = _log_text(nb)  # before _write splits the outputs' text into lines
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = os.path.join(os.path.dirname(out), f".{uuid.uuid4().hex}.tmp.ipynb")
    error = early
    try:
        try:  # papermill writes the notebook with its error markers, then raises
            raise_for_execution_errors(nb, tmp)
            _write(nb, tmp)
        except PapermillExecutionError as e:
            index = e.cell_index  # counts the injected cell: map back to the original notebook
            if injected is not None and not injected[1] and index >= injected[0]:
                index = -1 if index == injected[0] else index - 1
            tb = "\n".join(strip_ansi(line) for line in e.traceback)
            error = CellError(index, e.ename, strip_ansi(e.evalue), tb)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if error is not None:
        log += (error.traceback or f"{error.ename}: {error.evalue}") + "\n"
    return RunResult(error is None, time.monotonic() - run.start, out, log, error)


def __getattr__(name: str) -> Any:
    """``WarmEngine`` is built on first use, so that importing this module (or hashing a
    notebook) does not import papermill."""
    if name == "WarmEngine":
        return _engine_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _engine_class() -> type:
    """papermill's engine ``jupyter_pipes`` (entry point ``papermill.engine``): warm kernels."""
    from papermill.engines import Engine, NBClientEngine
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args
    from traitlets.config import Config

    class WarmEngine(Engine):  # type: ignore[misc]
        """Run notebooks in warm kernels: ``papermill --engine jupyter_pipes in.ipynb out.ipynb``.

        Same parameters, output notebook and errors as papermill's default (nbclient) engine,
        but the kernel is started once per process and reused: after each notebook it is
        reset (the pipeline's warm-kernel reset, see ``docs/notebooks.md``) or replaced (after
        a failure). Kernels other than IPython kernels for Python run as with the default engine.
        """

        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            **kwargs: Any,
        ) -> Any:
            from .warm import run_managed

            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            client = _client_class()(
                nb_man,
                **merge_kwargs(
                    kwargs,
                    timeout=execution_timeout,
                    startup_timeout=start_timeout,
                    kernel_name=kernel_name,
                    log=logger,
                    log_output=log_output,
                    stdout_file=stdout_file,
                    stderr_file=stderr_file,
                    config=Config(_kernel_config()),
                ),
            )
            if not run_managed(nb_man, kernel_name, client):
                return NBClientEngine.execute_managed_notebook(
                    nb_man,
                    kernel_name,
                    log_output=log_output,
                    stdout_file=stdout_file,
                    stderr_file=stderr_file,
                    start_timeout=start_timeout,
                    execution_timeout=execution_timeout,
                    **kwargs,
                )
            return nb_man.nb

    return WarmEngine
