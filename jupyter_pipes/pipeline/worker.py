"""The body of one datum task, as it runs on a Dask worker.

A task materialises the datum's inputs into a scratch folder (``<scratch>/pfs/<input name>/...``,
like Pachyderm's ``/pfs/<name>``), runs the stage (a notebook through papermill, or a command)
with the parameters injected, uploads the files the stage wrote to ``out`` as blobs, stores the
executed notebook and the log as blobs too, and returns a :class:`DatumResult` manifest.

Workers write objects (packs) but never metadata: only the controller does, from the manifest.
They need no database: the task carries the root tree of every input commit.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

from ..store.backend import Backend
from ..store.local import export_entry, ingest_folder
from ..store.objects import BlobReader, BlobRef, PackWriter
from ..store.trees import Entry, Root, TreeStore

if TYPE_CHECKING:
    from .warm import KernelPool


@dataclass(frozen=True, slots=True)
class TaskInput:
    """One item of a datum: input ``name`` gets ``path`` of the commit whose tree is ``root``."""

    name: str
    path: str
    root: str


@dataclass(frozen=True, slots=True)
class Transform:
    """What to run: a notebook (its bytes) or a command.

    ``isolation``: ``"fresh"`` starts a kernel per datum; ``"warm"`` runs the datum in a kernel
    of the worker's pool, reset between datums (fresh when the task runs without a pool).
    """

    notebook: bytes | None = None
    kernel: str | None = None
    isolation: str = "fresh"
    parameters: dict[str, Any] = field(default_factory=dict)
    cmd: tuple[str, ...] = ()
    stdin: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DatumTask:
    """Everything a worker needs to process one datum (picklable)."""

    store_url: str
    job_id: str
    datum_id: str
    inputs: tuple[TaskInput, ...]
    transform: Transform
    tries: int = 3
    timeout_s: float | None = None
    scratch: str | None = None
    store_options: str = field(default="{}", repr=False)
    """fsspec options of the store as JSON (endpoint, credentials): never shown in reprs/logs."""


@dataclass(frozen=True, slots=True)
class DatumResult:
    """What a datum produced: output entries by path, and the blobs written for them."""

    datum_id: str
    ok: bool
    tries: int
    duration_s: float
    outputs: tuple[tuple[str, Entry], ...] = ()
    blobs: dict[str, BlobRef] = field(default_factory=dict)
    packs: dict[str, int] = field(default_factory=dict)
    notebook: BlobRef | None = None
    log: BlobRef | None = None
    error: dict[str, Any] | None = None


@lru_cache(maxsize=8)
def _backend(url: str, options: str = "{}") -> Backend:
    return Backend(url, **json.loads(options))


def run_datum(task: DatumTask, kernels: KernelPool | None = None) -> DatumResult:
    """Process one datum, retrying up to ``task.tries`` times. Never raises for stage errors.

    ``kernels``: the worker's warm kernels, for a notebook transform with ``isolation="warm"``
    (without a pool such a datum starts a fresh kernel).
    """
    backend = _backend(task.store_url, task.store_options)
    reader = BlobReader(backend)
    trees = TreeStore(reader, cache_size=256)
    writer = PackWriter(backend, lambda hashes: {})
    start = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix=f"pipes-{task.datum_id[:12]}-", dir=task.scratch)
    try:
        pfs = os.path.join(scratch, "pfs")
        folders = _materialise(task, trees, reader, pfs)
        result = None
        tries = 0
        for tries in range(1, max(task.tries, 1) + 1):  # noqa: B007 - tries is reported
            out = os.path.join(pfs, "out")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            result = _run_stage(task, folders, out, scratch, kernels)
            if result.ok:
                break
        assert result is not None
        outputs: tuple[tuple[str, Entry], ...] = ()
        error = None
        if result.ok:
            try:
                outputs = tuple(("/" + rel, e) for rel, e in ingest_folder(writer, out))
            except Exception as exc:  # e.g. a symlink written by the stage
                error = {"cell_index": -1, "ename": type(exc).__name__, "evalue": str(exc)}
        else:
            err = result.error
            error = {
                "cell_index": err.cell_index if err else -1,
                "ename": err.ename if err else "Error",
                "evalue": err.evalue if err else "",
                "traceback": err.traceback if err else "",
            }
        nb_ref = None
        if result.executed_path and os.path.exists(result.executed_path):
            with open(result.executed_path, "rb") as f:
                nb_ref = writer.add(f.read())
        log_ref = writer.add(result.log.encode())
        writer.flush()
        return DatumResult(
            datum_id=task.datum_id,
            ok=error is None,
            tries=tries,
            duration_s=time.perf_counter() - start,
            outputs=outputs if error is None else (),
            blobs=dict(writer.new_blobs),
            packs=dict(writer.new_packs),
            notebook=nb_ref,
            log=log_ref,
            error=error,
        )
    finally:
        writer.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _materialise(task: DatumTask, trees: TreeStore, reader: BlobReader, pfs: str) -> dict[str, str]:
    """Write each input's files under ``pfs/<name>/<path>``; the folder of each input name."""
    folders: dict[str, str] = {}
    for item in task.inputs:
        base = os.path.join(pfs, item.name)
        folders[item.name] = base
        os.makedirs(base, exist_ok=True)
        root = Root.from_json(item.root)
        path = item.path.rstrip("/") or "/"
        entry = trees.lookup(root, path)
        if entry is None:  # the commit changed under us: the controller will see the error
            raise FileNotFoundError(f"{item.name}: {item.path} is missing from its commit")
        dest = base if path == "/" else base + path
        export_entry(trees, reader, entry, path, dest)
    return folders


def _run_stage(
    task: DatumTask,
    folders: dict[str, str],
    out: str,
    scratch: str,
    kernels: KernelPool | None,
) -> Any:
    t = task.transform
    params: dict[str, Any] = {**t.parameters, **folders}
    params.update(out=out, datum_id=task.datum_id, job_id=task.job_id)
    if t.notebook is not None:
        src = os.path.join(scratch, "stage.ipynb")
        with open(src, "wb") as f:
            f.write(t.notebook)
        run: Callable[..., Any]
        if t.isolation == "warm" and kernels is not None:
            from .warm import run_warm

            run = partial(run_warm, kernels)
        else:
            from .notebook import run_notebook

            run = run_notebook
        return run(
            src,
            os.path.join(scratch, "executed.ipynb"),
            params,
            cwd=scratch,
            kernel_name=t.kernel,
            timeout_s=task.timeout_s,
            env=dict(t.env),
        )
    from .command import run_command

    env = {
        **t.env,
        **folders,
        "out": out,
        "PACH_DATUM_ID": task.datum_id,
        "PACH_JOB_ID": task.job_id,
        "PFS": os.path.dirname(out),
    }
    return run_command(
        list(t.cmd), list(t.stdin) or None, cwd=scratch, env=env, timeout_s=task.timeout_s
    )
