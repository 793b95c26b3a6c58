"""The body of one datum task, as it runs on a Dask worker.

A task materialises the datum's inputs into a scratch folder (``<scratch>/pfs/<input name>/...``,
like Pachyderm's ``/pfs/<name>``), runs the stage (a notebook through papermill, or a command)
with the parameters injected, uploads the files the stage wrote to ``out`` as blobs, stores the
executed notebook and the log as blobs too, and returns a :class:`DatumResult` manifest.

Workers reach the store only through :mod:`jupyter_pipes.store.datum_io`: they write objects
(packs) but never metadata (only the controller does, from the manifest), and need no database:
the task carries a token for each input item (its chunk or tree references), so a datum costs
O(its own inputs). :func:`run_datums` runs several datums (a Dask batch) into shared packs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from ..store.datum_io import BlobSink, BlobToken, DatumIO, Token, WrittenBlobs, written
from .cancel import Restarted
from .contract import Item, command_env, notebook_parameters
from .datum_fs import lay_out, linked_outputs
from .lazy import Pipes
from .sandbox import Sandbox
from .task_input import TaskInput

if TYPE_CHECKING:
    from .warm import KernelPool

MAX_RESTARTS = 100
"""Restarts of one datum (``restart datum``) before it fails: a guard against a loop."""


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
    err_cmd: tuple[str, ...] = ()
    err_stdin: tuple[str, ...] = ()
    accept_return_code: tuple[int, ...] = ()
    working_dir: str | None = None
    network: bool = True
    read_only_inputs: bool = True
    image: str | None = None
    """Commands: Pachyderm's error handler, accepted exit codes, working directory, and the
    ``/pfs`` sandbox's options (see :mod:`.sandbox`)."""


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
    pipeline: str = ""
    output_commit: str = ""
    """The job's global commit id, which names its output commit (``PACH_OUTPUT_COMMIT_ID``)."""
    store_options: str = field(default="{}", repr=False)
    """fsspec options of the store as JSON (endpoint, credentials): never shown in reprs/logs."""


@dataclass(frozen=True, slots=True)
class DatumResult:
    """What a datum produced: output tokens by path, and the blobs written for them."""

    datum_id: str
    ok: bool
    tries: int
    duration_s: float
    outputs: tuple[tuple[str, Token], ...] = ()
    written: WrittenBlobs = field(default_factory=WrittenBlobs)
    notebook: BlobToken | None = None
    log: BlobToken | None = None
    error: dict[str, Any] | None = None
    recovered: bool = False
    """The command failed and its ``err_cmd`` succeeded: not a failure, and no outputs."""


def stage_variables(
    parameters: Mapping[str, Any], folders: Mapping[str, str], out: str, datum_id: str, job_id: str
) -> dict[str, Any]:
    """The variables a stage runs with: the spec's ``transform.parameters``, then one per input
    name (its folder), ``out``, ``datum_id`` and ``job_id`` (the engine's win over a parameter
    of the same name). ``%pipe datum`` sets exactly these too."""
    return {**parameters, **folders, "out": out, "datum_id": datum_id, "job_id": job_id}


def run_datum(
    task: DatumTask, kernels: KernelPool | None = None, sink: BlobSink | None = None
) -> DatumResult:
    """Process one datum, retrying up to ``task.tries`` times. Never raises for stage errors.

    ``kernels``: the worker's warm kernels, for a notebook transform with ``isolation="warm"``
    (without a pool such a datum starts a fresh kernel). ``sink``: where blobs go (shared by a
    batch; the caller flushes it); by default one of its own, flushed before returning.
    """
    if sink is None:
        with DatumIO.open(task.store_url, task.store_options).sink() as own:
            res = run_datum(task, kernels, own)
            packs = own.flush()
        return _with_packs(res, packs)
    io = DatumIO.open(task.store_url, task.store_options)
    start = time.perf_counter()
    scratch = tempfile.mkdtemp(prefix=f"pipes-{task.datum_id[:12]}-", dir=task.scratch)
    pipes = Pipes()
    try:
        pfs = os.path.join(scratch, "pfs")
        folders = lay_out(io, task.inputs, pfs, pipes)
        box = _sandbox(task, pfs)
        result = None
        tries = restarts = 0
        while tries < max(task.tries, 1):
            tries += 1
            out = os.path.join(pfs, "out")
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            try:
                result = _run_stage(task, folders, out, scratch, kernels, box)
            except Restarted:  # ``restart datum``: run it again; a restart is not a try
                restarts += 1
                tries -= 1
                if restarts > MAX_RESTARTS:
                    raise
                continue
            if result.ok or result.recovered:
                break
        assert result is not None
        pipes.close()
        outputs: tuple[tuple[str, Token], ...] = ()
        error = None
        if result.ok:
            try:
                root = box.root if box is not None else pfs
                links = linked_outputs(io, task.inputs, out, pfs, root)
                outputs = tuple(sorted([*sink.ingest_folder(out), *links]))
            except Exception as exc:  # e.g. a symlink to something else than an input file
                error = {"cell_index": -1, "ename": type(exc).__name__, "evalue": str(exc)}
        elif result.recovered:
            pass
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
                nb_ref = sink.add(f.read())
        log_ref = sink.add(result.log.encode())
        return DatumResult(
            datum_id=task.datum_id,
            ok=error is None and not result.recovered,
            recovered=error is None and result.recovered,
            tries=tries,
            duration_s=time.perf_counter() - start,
            outputs=outputs if error is None else (),
            written=WrittenBlobs(sink.take()),
            notebook=nb_ref,
            log=log_ref,
            error=error,
        )
    finally:
        pipes.close()
        shutil.rmtree(scratch, ignore_errors=True)


def run_datums(
    tasks: Sequence[DatumTask],
    kernels: KernelPool | None = None,
    on_error: Callable[[DatumTask, BaseException], DatumResult] | None = None,
    around: Callable[[DatumTask], AbstractContextManager[Any]] | None = None,
) -> list[DatumResult]:
    """Run datums one after the other into shared packs (made durable before returning); one
    result per datum. A datum that raises becomes ``on_error(task, exc)`` (default: raise).
    ``around(task)``: a context each datum runs in (the worker's cancellation scope)."""
    if not tasks:
        return []
    first = tasks[0]
    results = []
    with DatumIO.open(first.store_url, first.store_options).sink() as sink:
        for task in tasks:
            try:
                with around(task) if around is not None else contextlib.nullcontext():
                    results.append(run_datum(task, kernels, sink))
            except Exception as exc:
                if on_error is None:
                    raise
                sink.take()
                results.append(on_error(task, exc))
        packs = sink.flush()
    return [_with_packs(r, packs) for r in results]


def _with_packs(res: DatumResult, packs: dict[str, int]) -> DatumResult:
    return replace(res, written=written(res.written.blobs, packs))


def blobs_of(results: Iterable[DatumResult]) -> WrittenBlobs:
    """Everything these datums stored."""
    return WrittenBlobs.merge(r.written for r in results)


def _sandbox(task: DatumTask, pfs: str) -> Sandbox | None:
    """The ``/pfs`` sandbox of a command datum (None for notebooks)."""
    t = task.transform
    if t.notebook is not None:
        return None
    return Sandbox(
        pfs,
        inputs=sorted({i.name for i in task.inputs}),
        working_dir=t.working_dir,
        network=t.network,
        read_only_inputs=t.read_only_inputs,
        image=t.image,
    )


def _contract_items(task: DatumTask) -> list[Item]:
    return [Item(i.name, i.path, i.commit, i.join_on, i.group_by) for i in task.inputs]


def _run_stage(
    task: DatumTask,
    folders: dict[str, str],
    out: str,
    scratch: str,
    kernels: KernelPool | None,
    box: Sandbox | None = None,
) -> Any:
    t = task.transform
    ids = {"job_id": task.job_id, "datum_id": task.datum_id,
           "output_commit": task.output_commit, "pipeline": task.pipeline}  # fmt: skip
    if t.notebook is not None:
        contract = notebook_parameters(_contract_items(task), os.path.dirname(out), **ids)
        params = {**stage_variables(t.parameters, folders, out, task.datum_id, task.job_id),
                  **contract}  # fmt: skip
        src = os.path.join(scratch, "stage.ipynb")
        with open(src, "wb") as f:
            f.write(t.notebook)
        run: Callable[..., Any]
        env = dict(t.env)
        if t.isolation == "warm" and kernels is not None:
            from .warm import run_warm

            run = partial(run_warm, kernels)  # kernels are kept per env: the spec's env only
        else:
            from .notebook import run_notebook

            run = run_notebook
            env.update(contract)  # a fresh kernel also has the contract in os.environ
        return run(
            src,
            os.path.join(scratch, "executed.ipynb"),
            params,
            cwd=scratch,
            kernel_name=t.kernel,
            timeout_s=task.timeout_s,
            env=env,
        )
    from .command import run_command

    assert box is not None
    env = {**t.env, **command_env(_contract_items(task), box.root, **ids)}
    return run_command(
        list(t.cmd),
        list(t.stdin) or None,
        cwd=scratch,
        env=env,
        timeout_s=task.timeout_s,
        err_cmd=list(t.err_cmd) or None,
        err_stdin=list(t.err_stdin) or None,
        accept_return_code=t.accept_return_code,
        sandbox=box,
    )
