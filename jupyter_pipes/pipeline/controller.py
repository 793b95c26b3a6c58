"""The controller: claims jobs under a lease, runs their datums on Dask, commits the output.

Any process may run a controller (the server extension, or the Client/CLI while it waits);
they coordinate through the jobs table only. A job is claimed with a lease that the running
controller renews; a job whose lease expired (its controller died) is claimed again and re-run
from the start. Its output commit and its ``success`` are written in one transaction, and only
by the controller that still holds the lease, so a job never produces two output commits.

Incremental processing (see :mod:`.plan`): only datums whose hash differs from the current
datum of the pipeline's last successful job run. The output commit is that job's output tree,
less the outputs of the datums that changed or went, plus the new outputs — which is "the union
of every datum's outputs" at O(changed) cost; two datums writing one path fail the job, naming
both. Datum rows are written only for the datums that ran or went (see :mod:`.state`).

The per-datum work is kept off the hot path: results become compact rows as they arrive, and
job progress is written at most every :data:`PROGRESS_S` seconds.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from ..store import txn as txnmod
from ..store.datum_io import WrittenBlobs, build_output, commit_output
from ..store.records import CommitRef
from ..store.txn import Txn
from . import metrics, state
from .datums import Datum
from .executor import Executor
from .manager import Pipelines
from .plan import Plan, plan_job
from .records import JobInfo
from .resources import Unschedulable, dask_resources
from .spec import PipelineSpec
from .stage import datum_key, stage_key
from .task_spec import layouts, task_inputs, transform_of
from .worker import DatumResult, DatumTask

log = logging.getLogger(__name__)
LEASE_S = 30.0
PROGRESS_S = 0.25
"""Job progress (datum counts) is written and reported at most this often."""
EARLY_TOTALS = 32
WATCH_S = 0.5
"""How often a running job's row is read for a stop or a datum restart."""
"""A job with this many datums to run writes its totals when it starts (a shorter one writes
them with its result: one transaction less)."""


class JobFailed(Exception):
    """Internal: the job fails with this error record."""

    def __init__(self, error: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


class LeaseLost(Exception):
    """Internal: another controller took the job over; this one must not finish it."""


class Controller:
    """Runs pending jobs of one store.

    Parameters
    ----------
    pipelines:
        The pipeline layer of the store.
    executor:
        Where datums run (a Dask cluster).
    progress:
        Called with the job as it advances (for progress bars and events), at most every
        :data:`PROGRESS_S` seconds while datums complete, and at each change of state.
    """

    def __init__(
        self,
        pipelines: Pipelines,
        executor: Executor,
        *,
        lease_s: float = LEASE_S,
        progress: Callable[[JobInfo], None] | None = None,
    ) -> None:
        self.pipelines = pipelines
        self.store = pipelines.store
        self.executor = executor
        self.owner = uuid.uuid4().hex
        self.lease_s = lease_s
        self.progress = progress
        self._runs: dict[str, _Run] = {}  # job id -> its results so far, while it runs
        from .cron import CronTicker

        self.cron = CronTicker(self.store, pipelines.cron_specs)
        from .triggers import TriggerTicker

        self.triggers = TriggerTicker(self.store, pipelines.trigger_specs)

    # -- the loop ------------------------------------------------------------------------------

    def run_once(self) -> JobInfo | None:
        """Claim and run one runnable job; the finished job, or None if none was runnable."""
        self.cron.run()  # commits due cron ticks; their head moves queue jobs as usual
        self.triggers.run()  # moves input branches whose pfs.trigger fires (#13), likewise
        with txnmod.write(self.store) as t:
            row = state.claim_job(t.connection, self.owner, self.lease_s)
        if row is None:
            return None
        self._run_job(row)
        return self.pipelines.inspect_job(row.id)

    def run_until(
        self, done: Callable[[], bool], *, timeout_s: float | None = None, poll_s: float = 0.2
    ) -> None:
        """Run jobs until ``done()`` (jobs held by another controller are waited for)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not done():
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("timed out waiting for jobs")
            if self.run_once() is None:
                time.sleep(poll_s)

    # -- one job -------------------------------------------------------------------------------

    def _run_job(self, row: state.JobRow) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(row.id, stop), daemon=True)
        beat.start()
        writing = self.store.write_lease("job")  # gc keeps the workers' packs until the commit
        try:
            self._execute(row)
        except LeaseLost:
            log.warning("job %s was taken over by another controller", row.id)
        except JobFailed as f:
            self._finish_failed(row, f.error, f.reason)
        except Exception as exc:  # a bug or a storage error: record it, never leave it running
            log.exception("job %s crashed", row.id)
            self._finish_failed(
                row, {"ename": type(exc).__name__, "evalue": str(exc)}, f"controller error: {exc}"
            )
        finally:
            writing.release()
            stop.set()
            beat.join()
            run = self._runs.pop(row.id, None)
            if run is not None and run.marked:  # the heartbeat marked datums running
                with txnmod.write(self.store) as t:
                    state.clear_running(t.connection, row.id)

    def _heartbeat(self, job_id: str, stop: threading.Event) -> None:
        """Renew the job's lease every third of it and, every :data:`WATCH_S`, look at the
        job's row: stopped (``stop job``: no longer ours) → cancel its datums on the cluster;
        a datum restart asked for (``restart datum``) → restart it there; the datums running
        on the cluster → their running marks (what ``list datum`` shows of them)."""
        renewed = time.monotonic()
        marked: set[str] = set()
        while not stop.wait(WATCH_S):
            with txnmod.read(self.store) as t:
                held = state.holds_lease(t.connection, job_id, self.owner)
                restarts = state.restart_requests(t.connection, job_id) if held else []
            if not held:
                log.info("job %s was stopped or taken over: cancelling its datums", job_id)
                self._cancel_until_done(job_id, stop)
                return
            if restarts:
                with txnmod.write(self.store) as t:
                    state.clear_restart_requests(t.connection, job_id, restarts)
                for datum_id in restarts:
                    self.executor.restart_datum(job_id, datum_id)
            marks = self._running_rows(job_id)
            if marks is not None and (set(marks) != marked or restarts):
                with txnmod.write(self.store) as t:
                    state.mark_running(t.connection, job_id, marks)
                marked = set(marks)
            if time.monotonic() - renewed >= self.lease_s / 3:
                renewed = time.monotonic()
                with txnmod.write(self.store) as t:
                    lost = not state.renew_lease(t.connection, job_id, self.owner, self.lease_s)
                if lost:
                    self._cancel_until_done(job_id, stop)
                    return

    def _cancel_until_done(self, job_id: str, stop: threading.Event) -> None:
        """Cancel the job's datums, and again every :data:`WATCH_S` while any of its Dask
        tasks is still in flight, until the job's run has ended (``stop``): a stop that came
        while the job was planned or the cluster was starting, or a worker that joined after
        the first cancel, still ends the job's datums."""
        self.executor.cancel_job(job_id)
        while not stop.wait(WATCH_S):
            if self.executor.in_flight().get(job_id):
                self.executor.cancel_job(job_id)

    def _running_rows(self, job_id: str) -> dict[str, dict[str, Any]] | None:
        """The running marks of a job's datums running now (None before its datums run)."""
        run = self._runs.get(job_id)
        running = getattr(self.executor, "running_datums", None)
        if run is None or running is None:
            return None
        run.marked = True
        return {
            d: row
            for d, (started, worker) in running(job_id).items()
            if (row := run.running_row(d, started, worker)) is not None
        }

    def _execute(self, row: state.JobRow) -> None:
        spec, notebook = self.pipelines.spec_at(row.pipeline, row.spec_commit)
        pins: dict[str, str | None] = state.loads(row.inputs) or {}
        stage = stage_key(spec, notebook)
        dkey = datum_key(spec, stage)
        reuse = not (row.reprocess or spec.reprocess_spec == "every_job")
        plan = plan_job(self.store, self.pipelines.trees, row, spec, pins, stage, dkey, reuse=reuse)
        run = _Run(self, row, plan, pins, dkey)
        self._runs[row.id] = run
        totals = run.totals()
        with txnmod.write(self.store) as t:
            state.clear_job_datums(t.connection, row.id)  # a job taken over starts afresh
            if len(plan.run) >= EARLY_TOTALS:  # a long job: show its size at once
                state.update_job(t.connection, row.id, **totals)
        # listeners learn the job's size before its datums run, written or not (the server
        # tells the sidebar that the job waits for the cluster to start from it)
        self._notify(row.id, total=totals["total"], skipped=totals["skipped"])
        transform = transform_of(spec, notebook)
        options = json.dumps(self.store.storage_options, sort_keys=True)
        layout = layouts(spec)
        tasks = [
            DatumTask(
                store_url=self.store.url,
                store_options=options,
                job_id=row.id,
                datum_id=d.id,
                inputs=task_inputs(spec, d, plan.tokens, pins, layout),
                transform=transform,
                tries=spec.datum_tries,
                timeout_s=spec.datum_timeout_seconds,
                pipeline=row.pipeline,
                output_commit=row.global_id or "",
            )
            for d in plan.run
        ]
        limit = spec.parallelism_spec.constant if spec.parallelism_spec is not None else None
        needs = dask_resources(spec)
        try:
            self.executor.run(
                tasks, run.add, timeout_s=spec.job_timeout_seconds, parallelism=limit,
                resources=needs,
            )  # fmt: skip
        except Unschedulable as u:
            error = {"ename": "Unschedulable", "evalue": str(u)}
            self._finish_failed(row, error, str(u), run)
            return
        except TimeoutError:
            error = {"ename": "TimeoutError", "evalue": f"job_timeout {spec.job_timeout} exceeded"}
            self._finish_failed(row, error, "job timed out", run)
            return
        if run.failed:
            first = min(run.failed)
            error = {"datum": first, **(run.errors[first] or {})}
            reason = (
                f"{len(run.failed)} datum(s) failed; first: {error.get('ename')}: "
                f"{error.get('evalue')}"
            )
            self._finish_failed(row, error, reason, run)
            return
        try:
            self._commit_output(row, spec, pins, plan, run)
        except JobFailed as f:
            self._finish_failed(row, f.error, f.reason, run)

    def _commit_output(
        self,
        row: state.JobRow,
        spec: PipelineSpec,
        pins: dict[str, str | None],
        plan: Plan,
        run: _Run,
    ) -> None:
        trees = self.pipelines.trees
        puts: dict[str, str] = {}
        put_tokens = []
        for datum_id, outputs in sorted(run.outputs.items()):
            for path, tok in outputs:
                if path in puts:
                    raise _duplicate(puts[path], datum_id, path)
                puts[path] = datum_id
                put_tokens.append((path, tok))
        base_out = plan.base.output_commit if plan.base is not None else None
        if base_out is not None and not trees.exists(base_out):
            base_out = None  # the base's output commit was deleted: rebuild from the rows
        if plan.rebuild or (plan.base is not None and base_out is None):
            delete = ["/"]
            if not plan.rebuild:  # keep the outputs of the datums reused as they are
                with txnmod.read(self.store) as t:
                    current = state.current_datums(t.connection, row.pipeline)
                for datum_id, r in sorted(current.items()):
                    if datum_id in plan.replaced:
                        continue
                    for path, tok in state.loads(r.outputs) or []:
                        if path in puts:
                            raise _duplicate(datum_id, puts[path], path)
                        puts[path] = datum_id
                        put_tokens.append((path, tok))
            base_out = None
        else:
            delete = sorted(
                {p for r in plan.replaced.values() for p, _ in state.loads(r.outputs) or []}
            )
            gone = set(delete)
            clash = trees.existing(base_out, [p for p in puts if p not in gone])
            if clash:
                with txnmod.read(self.store) as t:
                    owner = state.datum_owner(t.connection, row.pipeline, clash[0], plan.replaced)
                raise _duplicate(owner or "?", puts[clash[0]], clash[0])
        tree = build_output(self.store, trees, base_out, delete, put_tokens)
        metric_rows = metrics.output_rows(  # #14: indexed with the commit (lineage's edit)
            self.store, trees, spec.metrics, dict(put_tokens), base_out, delete
        )
        inputs = [
            CommitRef(k.split("@")[0], v, k.split("@")[1]) for k, v in sorted(pins.items()) if v
        ]
        provenance = (*inputs, CommitRef(row.pipeline, row.spec_commit, "spec"))

        def on_finish(txn: Txn, commit_id: str) -> None:
            conn = txn.connection
            if not state.holds_lease(conn, row.id, self.owner):
                raise LeaseLost(row.id)
            seq = state.next_success_seq(conn, row.pipeline)
            if plan.rebuild:
                state.retire_all_datums(conn, row.pipeline, seq)
            else:
                state.retire_datums(conn, row.pipeline, plan.replaced, seq)
            state.insert_datums(conn, run.unwritten_rows())
            state.make_live(conn, row.id, seq)
            txn.record_blobs(run.blobs())
            metrics.record(conn, row.pipeline, commit_id, metric_rows)
            state.update_job(
                conn,
                row.id,
                state="success",
                output_commit=commit_id,
                finished_at=time.time(),
                lease_owner=None,
                success_seq=seq,
                **run.totals(),
            )

        commit_output(
            self.store,
            row.pipeline,
            spec.output_branch,
            tree,
            message=f"job {row.id}",
            provenance=provenance,
            on_finish=on_finish,
            **({"global_id": row.global_id} if row.global_id else {}),
        )
        self._notify(row.id)

    def _finish_failed(
        self, row: state.JobRow, error: dict[str, Any], reason: str, run: _Run | None = None
    ) -> None:
        with txnmod.write(self.store) as t:
            conn = t.connection
            if not state.holds_lease(conn, row.id, self.owner):
                log.warning("job %s was taken over by another controller", row.id)
                return
            counts: dict[str, Any] = {}
            if run is not None:
                state.insert_datums(conn, run.unwritten_rows() + run.tombstones())
                t.record_blobs(run.blobs())
                counts = run.totals()
            state.update_job(
                conn,
                row.id,
                **counts,
                state="failure",
                reason=reason,
                error=state.dumps(error),
                finished_at=time.time(),
                lease_owner=None,
            )
            state.cascade_unrunnable(conn, row.id, f"upstream job {row.id} ({row.pipeline}) failed")
        self._notify(row.id)

    def _notify(self, job_id: str, *, total: int | None = None, skipped: int | None = None) -> None:
        """Report the job to :attr:`progress`; ``total``, ``skipped``: counts newer than its
        row's."""
        if self.progress is not None:
            job = self.pipelines.inspect_job(job_id)
            if total is not None:
                job = dataclasses.replace(job, total=total)
            if skipped is not None:
                job = dataclasses.replace(job, skipped=skipped)
            self.progress(job)


class _Run:
    """The results of a job's datums, kept as compact rows as they arrive."""

    def __init__(
        self,
        controller: Controller,
        row: state.JobRow,
        plan: Plan,
        pins: dict[str, Any],
        datum_key: str,
    ) -> None:
        self._controller = controller
        self._job = row
        self._plan = plan
        self._pins = pins
        self._datum_key = datum_key
        self._datums: dict[str, Datum] = {d.id: d for d in plan.run}
        self._rows: list[dict[str, Any]] = []
        self._flushed = 0
        self._blobs: list[WrittenBlobs] = []
        self.outputs: dict[str, tuple[tuple[str, Any], ...]] = {}
        self.failed: list[str] = []
        self.errors: dict[str, dict[str, Any] | None] = {}
        self._counts = {"processed": 0, "failed": 0}
        self._written = dict(self._counts)
        self._last = time.monotonic()
        self._lock = threading.Lock()
        self.marked = False  # whether running marks may have been written

    def add(self, res: DatumResult) -> None:
        """Record one datum's result (called as each completes)."""
        d = self._datums[res.datum_id]
        row = {
            "job": self._job.id,
            "id": d.id,
            "pipeline": self._job.pipeline,
            "hash": self._plan.hashes[d.id],
            "state": "success" if res.ok else "recovered" if res.recovered else "failed",
            "inputs": state.dumps(self._items(d)),
            "outputs": state.dumps([[p, t] for p, t in res.outputs]),
            "notebook": state.dumps(res.notebook) if res.notebook else None,
            "log": state.dumps(res.log) if res.log else None,
            "error": state.dumps(res.error) if res.error else None,
            "tries": res.tries,
            "duration": res.duration_s,
        }
        with self._lock:
            self._rows.append(row)
            self._blobs.append(res.written)
            if res.ok or res.recovered:  # a recovered datum has no outputs (as Pachyderm)
                self.outputs[d.id] = res.outputs
                self._counts["processed"] += 1
            else:
                self.failed.append(d.id)
                self.errors[d.id] = res.error
                self._counts["failed"] += 1
        self.flush_progress()

    def running_row(self, datum_id: str, started: float, worker: str) -> dict[str, Any] | None:
        """The running mark of a datum of this job (None: not one of its datums)."""
        d = self._datums.get(datum_id)
        if d is None:
            return None
        return {
            "job": self._job.id,
            "id": d.id,
            "pipeline": self._job.pipeline,
            "hash": self._plan.hashes[d.id],
            "inputs": state.dumps(self._items(d)),
            "outputs": state.dumps({"started": started, "worker": worker}),
        }

    def _items(self, d: Datum) -> list[dict[str, Any]]:
        return [
            {
                "name": i.name,
                "repo": i.repo,
                "path": i.path,
                "hash": i.hash,
                "size_bytes": i.size,
                "commit": self._pins.get(f"{i.repo}@{i.branch}"),
            }
            for i in d.inputs
        ]

    def flush_progress(self, force: bool = False) -> None:
        """Write the datum counts if they changed and :data:`PROGRESS_S` has passed."""
        now = time.monotonic()
        with self._lock:
            if self._counts == self._written or (not force and now - self._last < PROGRESS_S):
                return
            self._written, self._last = dict(self._counts), now
        rows = self.unwritten_rows()  # visible while the job runs (``logs -f``)
        with txnmod.write(self._controller.store) as t:
            if not state.holds_lease(t.connection, self._job.id, self._controller.owner):
                return  # stopped or taken over: write nothing more
            state.insert_datums(t.connection, rows)
            state.update_job(t.connection, self._job.id, **self.totals())
        self.written(len(rows))
        self._controller._notify(self._job.id)

    def totals(self) -> dict[str, Any]:
        """The job's datum counts and plan, as its row holds them."""
        plan = self._plan
        with self._lock:
            counts = dict(self._counts)
        return {
            "total": plan.total,
            "skipped": plan.total - len(plan.run),
            "base_seq": plan.base.success_seq if plan.base is not None else None,
            "datum_key": self._datum_key,
            **counts,
        }

    def unwritten_rows(self) -> list[dict[str, Any]]:
        """The datum rows not written yet. Rows are written as results arrive, with progress,
        without ``live_from`` (so ``logs -f`` sees them); a success makes them live."""
        with self._lock:
            return self._rows[self._flushed :]

    def written(self, n: int) -> None:
        """Count ``n`` more rows as written (after their transaction committed)."""
        with self._lock:
            self._flushed += n

    def tombstones(self) -> list[dict[str, Any]]:
        """Rows marking the datums a failed job no longer had (so its listing leaves them out)."""
        return [
            {
                "job": self._job.id,
                "id": i,
                "pipeline": self._job.pipeline,
                "hash": "",
                "state": "removed",
                "inputs": "[]",
            }
            for i in self._plan.gone
        ]

    def blobs(self) -> WrittenBlobs:
        """Every blob the datums stored."""
        return WrittenBlobs.merge(self._blobs)


def _duplicate(first: str, second: str, path: str) -> JobFailed:
    return JobFailed(
        {
            "ename": "DuplicateOutput",
            "evalue": f"datums {first} and {second} both wrote {path}",
            "datums": [first, second],
            "path": path,
        },
        f"datums {first} and {second} both wrote {path}",
    )
