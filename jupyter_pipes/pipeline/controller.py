"""The controller: claims jobs under a lease, runs their datums on Dask, commits the output.

Any process may run a controller (the server extension, or the Client/CLI while it waits);
they coordinate through the jobs table only. A job is claimed with a lease that the running
controller renews; a job whose lease expired (its controller died) is claimed again and re-run
from the start. Its output commit and its ``success`` are written in one transaction, so a job
never produces two output commits.

Incremental processing: a datum's hash covers its id, the content hashes of its inputs, the
stage fingerprint (notebook code, or command), the parameters and the salt. A datum whose hash
equals a succeeded datum of the pipeline's last successful job is skipped and its outputs reused.
The output commit is the union of every datum's outputs (reused and new), so outputs of
removed or changed datums disappear; two datums writing one path fail the job, naming both.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Row

from ..store.objects import BlobRef, hash_bytes
from ..store.records import CommitRef
from ..store.refs import Ref
from ..store.trees import EMPTY_ROOT, Entry
from . import state
from .datums import Datum, compute_datums
from .executor import Executor
from .manager import NOTEBOOK_FILE, SPEC_FILE, Pipelines, lister
from .records import JobInfo
from .spec import PipelineSpec, parse_spec
from .worker import DatumResult, DatumTask, TaskInput, Transform

log = logging.getLogger(__name__)
LEASE_S = 30.0


class JobFailed(Exception):
    """Internal: the job fails with this error record."""

    def __init__(self, error: dict[str, Any], reason: str) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason


class Controller:
    """Runs pending jobs of one store.

    Parameters
    ----------
    pipelines:
        The pipeline layer of the store.
    executor:
        Where datums run (a Dask cluster).
    progress:
        Called with the job after each datum completes (for progress bars and events).
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
        from .cron import CronTicker

        self.cron = CronTicker(self.store, pipelines.cron_specs)

    # -- the loop ------------------------------------------------------------------------------

    def run_once(self) -> JobInfo | None:
        """Claim and run one runnable job; the finished job, or None if none was runnable."""
        self.cron.run()  # commits due cron ticks; their head moves queue jobs as usual
        with self.store.meta.write() as conn:
            row = state.claim_job(conn, self.owner, self.lease_s)
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

    def _run_job(self, row: Row[Any]) -> None:
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(row.id, stop), daemon=True)
        beat.start()
        writing = self.store.write_lease("job")  # gc keeps the workers' packs until the commit
        try:
            self._execute(row)
        except JobFailed as f:
            self._finish_failed(row.id, f.error, f.reason, [])
        except Exception as exc:  # a bug or a storage error: record it, never leave it running
            log.exception("job %s crashed", row.id)
            self._finish_failed(
                row.id,
                {"ename": type(exc).__name__, "evalue": str(exc)},
                f"controller error: {exc}",
                [],
            )
        finally:
            writing.release()
            stop.set()
            beat.join()

    def _heartbeat(self, job_id: str, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3):
            with self.store.meta.write() as conn:
                if not state.renew_lease(conn, job_id, self.owner, self.lease_s):
                    return

    def _execute(self, row: Row[Any]) -> None:
        spec_ref = Ref(row.pipeline, row.spec_commit, explicit=True)
        spec = parse_spec(json.loads(self.store.get_file(spec_ref, SPEC_FILE)))
        notebook = self.store.get_file(spec_ref, NOTEBOOK_FILE) if spec.transform.notebook else None
        pins: dict[str, str | None] = state.loads(row.inputs) or {}
        datums = compute_datums(spec.input, lister(self.store, pins))
        base = _stage_key(spec, notebook)
        hashes = {d.id: hash_bytes(f"{d.content_key()}:{base}".encode()) for d in datums}
        reuse = {} if row.reprocess or spec.reprocess_spec == "every_job" else self._reusable(row)
        todo = [d for d in datums if reuse.get(d.id, (None,))[0] != hashes[d.id]]
        skipped = [d for d in datums if d not in todo]
        with self.store.meta.write() as conn:
            state.update_job(
                conn, row.id, total=len(datums), skipped=len(skipped), processed=0, failed=0
            )
        self._notify(row.id)
        roots = self._roots(pins)
        transform = Transform(
            notebook=notebook,
            kernel=spec.transform.kernel,
            isolation=spec.transform.isolation,
            parameters=dict(spec.transform.parameters),
            cmd=tuple(spec.transform.cmd or ()),
            stdin=tuple(spec.transform.stdin or ()),
            env=dict(spec.transform.env),
        )
        tasks = [
            DatumTask(
                store_url=self.store.url,
                store_options=json.dumps(self.store.storage_options, sort_keys=True),
                job_id=row.id,
                datum_id=d.id,
                inputs=tuple(
                    TaskInput(i.name, i.path, roots[f"{i.repo}@{i.branch}"]) for i in d.inputs
                ),
                transform=transform,
                tries=spec.datum_tries,
                timeout_s=spec.datum_timeout_seconds,
            )
            for d in todo
        ]
        counts = {"processed": 0, "failed": 0}

        def on_result(res: DatumResult) -> None:
            counts["processed" if res.ok else "failed"] += 1
            with self.store.meta.write() as conn:
                state.update_job(conn, row.id, **counts)
            self._notify(row.id)

        try:
            results = {
                r.datum_id: r
                for r in self.executor.run(tasks, on_result, timeout_s=spec.job_timeout_seconds)
            }
        except TimeoutError:
            raise JobFailed(
                {"ename": "TimeoutError", "evalue": f"job_timeout {spec.job_timeout} exceeded"},
                "job timed out",
            ) from None
        rows = self._datum_rows(row.id, datums, hashes, results, reuse, pins)
        failed = [r for r in results.values() if not r.ok]
        if failed:
            first = min(failed, key=lambda r: r.datum_id)
            error = {"datum": first.datum_id, **(first.error or {})}
            self._finish_failed(
                row.id,
                error,
                f"{len(failed)} datum(s) failed; first: {error.get('ename')}: "
                f"{error.get('evalue')}",
                rows,
                results,
            )
            return
        try:
            outputs = self._merge(datums, results, reuse)
        except JobFailed as f:
            self._finish_failed(row.id, f.error, f.reason, rows, results)
            return
        self._commit_output(row, spec, pins, outputs, results, rows)

    def _reusable(self, row: Row[Any]) -> dict[str, tuple[str, Any, str]]:
        """datum id -> (hash, outputs, job) of the last successful job's datums."""
        with self.store.meta.read() as conn:
            last = state.last_success(conn, row.pipeline)
            if last is None:
                return {}
            return {
                d.id: (d.hash, state.loads(d.outputs), d.reused_from or last.id)
                for d in state.job_datums(conn, last.id)
                if d.state in ("success", "skipped")
            }

    def _roots(self, pins: dict[str, str | None]) -> dict[str, str]:
        roots = {}
        with self.store.meta.read() as conn:
            for key, commit in pins.items():
                row = self.store.meta.get_commit(conn, commit) if commit else None
                roots[key] = row.root if row is not None and row.root else EMPTY_ROOT.to_json()
        return roots

    @staticmethod
    def _datum_rows(
        job_id: str,
        datums: list[Datum],
        hashes: dict[str, str],
        results: dict[str, DatumResult],
        reuse: dict[str, tuple[str, Any, str]],
        pins: dict[str, str | None],
    ) -> list[dict[str, Any]]:
        rows = []
        for d in datums:
            inputs = [
                {
                    "name": i.name,
                    "repo": i.repo,
                    "path": i.path,
                    "hash": i.hash,
                    "size_bytes": i.size,
                    "commit": pins.get(f"{i.repo}@{i.branch}"),
                }
                for i in d.inputs
            ]
            res = results.get(d.id)
            if res is None:
                h, outputs, src = reuse[d.id]
                rows.append(
                    {
                        "job": job_id,
                        "id": d.id,
                        "hash": h,
                        "state": "skipped",
                        "inputs": state.dumps(inputs),
                        "outputs": state.dumps(outputs),
                        "tries": 0,
                        "duration": 0.0,
                        "reused_from": src,
                    }
                )
                continue
            rows.append(
                {
                    "job": job_id,
                    "id": d.id,
                    "hash": hashes[d.id],
                    "state": "success" if res.ok else "failed",
                    "inputs": state.dumps(inputs),
                    "outputs": state.dumps([[p, _entry_json(e)] for p, e in res.outputs]),
                    "notebook": state.dumps(res.notebook.to_list()) if res.notebook else None,
                    "log": state.dumps(res.log.to_list()) if res.log else None,
                    "error": state.dumps(res.error) if res.error else None,
                    "tries": res.tries,
                    "duration": res.duration_s,
                }
            )
        return rows

    @staticmethod
    def _merge(
        datums: list[Datum],
        results: dict[str, DatumResult],
        reuse: dict[str, tuple[str, Any, str]],
    ) -> dict[str, Entry]:
        owner: dict[str, str] = {}
        merged: dict[str, Entry] = {}
        for d in sorted(datums, key=lambda d: d.id):
            res = results.get(d.id)
            outs = (
                [(p, e) for p, e in res.outputs]
                if res is not None
                else [(p, _entry_from_json(e)) for p, e in reuse[d.id][1]]
            )
            for path, entry in outs:
                if path in merged:
                    raise JobFailed(
                        {
                            "ename": "DuplicateOutput",
                            "evalue": f"datums {owner[path]} and {d.id} both wrote {path}",
                            "datums": [owner[path], d.id],
                            "path": path,
                        },
                        f"datums {owner[path]} and {d.id} both wrote {path}",
                    )
                owner[path] = d.id
                merged[path] = entry
        return merged

    def _commit_output(
        self,
        row: Row[Any],
        spec: PipelineSpec,
        pins: dict[str, str | None],
        outputs: dict[str, Entry],
        results: dict[str, DatumResult],
        rows: list[dict[str, Any]],
    ) -> None:
        inputs = [
            CommitRef(k.split("@")[0], v, k.split("@")[1]) for k, v in sorted(pins.items()) if v
        ]
        provenance = (*inputs, CommitRef(row.pipeline, row.spec_commit, "spec"))

        def on_finish(conn: Connection, commit_id: str) -> None:
            self._record_datums(conn, rows, results)
            state.update_job(
                conn,
                row.id,
                state="success",
                output_commit=commit_id,
                finished_at=time.time(),
                lease_owner=None,
            )

        oc = self.store.start_commit(
            row.pipeline,
            spec.output_branch,
            message=f"job {row.id}",
            origin="auto",
            provenance=provenance,
            on_finish=on_finish,
        )
        try:
            oc.patch.delete("/")
            for path, entry in outputs.items():
                oc.patch.put(path, entry)
        except BaseException:
            oc.abort()
            raise
        oc.finish()
        self._notify(row.id)

    def _record_datums(
        self, conn: Connection, rows: list[dict[str, Any]], results: dict[str, DatumResult]
    ) -> None:
        blobs: dict[str, BlobRef] = {}
        packs: dict[str, int] = {}
        for r in results.values():
            blobs.update(r.blobs)
            packs.update(r.packs)
        self.store.meta.record_blobs(conn, blobs, packs)
        state.insert_datums(conn, rows)

    def _finish_failed(
        self,
        job_id: str,
        error: dict[str, Any],
        reason: str,
        rows: list[dict[str, Any]],
        results: dict[str, DatumResult] | None = None,
    ) -> None:
        with self.store.meta.write() as conn:
            if rows:
                self._record_datums(conn, rows, results or {})
            state.update_job(
                conn,
                job_id,
                state="failure",
                reason=reason,
                error=state.dumps(error),
                finished_at=time.time(),
                lease_owner=None,
            )
            _cascade_unrunnable(conn, job_id)
        self._notify(job_id)

    def _notify(self, job_id: str) -> None:
        if self.progress is not None:
            self.progress(self.pipelines.inspect_job(job_id))


def _cascade_unrunnable(conn: Connection, job_id: str) -> None:
    for b in state.blocked_by(conn, job_id):
        state.update_job(
            conn,
            b.id,
            state="unrunnable",
            finished_at=time.time(),
            reason=f"upstream job {job_id} did not succeed",
        )
        _cascade_unrunnable(conn, b.id)


def _stage_key(spec: PipelineSpec, notebook: bytes | None) -> str:
    from .notebook import fingerprint

    t = spec.transform
    stage = fingerprint(notebook) if notebook is not None else json.dumps([t.cmd, t.stdin])
    return hash_bytes(
        json.dumps(
            [stage, t.parameters, t.env, t.kernel, spec.salt or ""], sort_keys=True, default=str
        ).encode()
    )


def _entry_json(e: Entry) -> list[Any]:
    return [e.size, e.hash, [r.to_list() for r in e.refs]]


def _entry_from_json(v: list[Any]) -> Entry:
    size, h, refs = v
    return Entry("", False, size, h, tuple(BlobRef.from_list(r) for r in refs))
