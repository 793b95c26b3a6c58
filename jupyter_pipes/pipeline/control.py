"""Job control (a part of :class:`~.manager.Pipelines`): stop a job, delete one, rerun one,
restart a datum of a running job, and a pipeline's past versions — pachctl's ``stop job``,
``delete job``, ``restart datum`` and ``list pipeline --history``.

Every verb only writes the database; the controller running a job (in any process) watches its
row (``controller.WATCH_S``): a job that is no longer its to finish has its datums cancelled on
the Dask cluster at once, and a restart request restarts that datum there. A stopped job never
commits: its output branch stays where it was.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..errors import Conflict, NotFound
from ..store import txn as txnmod
from ..store.refs import Ref
from ..store.txn import new_global_id
from . import state
from .propagate import propagate
from .records import JobInfo, PipelineInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..store.store import Store
    from .state import JobRow


class ControlMixin:
    """``stop job``, ``delete job``, ``restart datum``, ``list pipeline --history``."""

    store: Store

    if TYPE_CHECKING:

        @staticmethod
        def _job_row(conn: Connection, job_id: str) -> JobRow: ...

        def inspect_job(self, job_id: str) -> JobInfo: ...

        def inspect_pipeline(self, name: str) -> PipelineInfo: ...

    def stop_job(self, job_id: str) -> list[JobInfo]:
        """Stop a job that is not done: it becomes ``killed``, its running datums are cancelled
        by its controller, its output commit is never made; the jobs of its global commit
        waiting on it (transitively) are ``killed`` too. The jobs killed, this one first."""
        with txnmod.write(self.store) as t:
            row = self._job_row(t.connection, job_id)
            if row.state in state.TERMINAL:
                raise Conflict(
                    f"job {row.id} ({row.pipeline}) is already done ({row.state})", job=row.id
                )
            killed = state.kill_job(t.connection, row.id, "stopped by the user (stop job)")
        return [self.inspect_job(k) for k in killed]

    def delete_job(self, job_id: str) -> None:
        """Delete a finished job that made no output commit (failed, killed or unrunnable) with
        its datum rows. A successful job's output is history: delete its global commit instead
        (``delete commit <global id>``); a job not done must be stopped first."""
        with txnmod.write(self.store) as t:
            row = self._job_row(t.connection, job_id)
            if row.state in state.PENDING:
                raise Conflict(
                    f"job {row.id} ({row.pipeline}) is {row.state}: stop it first "
                    f"(jupyter pipes stop job {row.id})",
                    job=row.id,
                )
            if row.state == "success":
                raise Conflict(
                    f"job {row.id} ({row.pipeline}) succeeded and its output commit is history: "
                    f"delete its global commit instead (jupyter pipes delete commit "
                    f"{row.global_id or row.id})",
                    job=row.id,
                )
            state.forget_job(t.connection, row)

    def rerun_job(self, job_id: str, *, reprocess: bool = False) -> JobInfo:
        """A new job of a done job's pipeline, with the pipeline's current spec, on the very
        input commits that job read (not the inputs' current heads: that is ``run_pipeline``),
        as a global commit of its own; the pipelines downstream run on its output as after
        any new output. Datums that succeeded before are reused unless ``reprocess``.

        Its output commit becomes the head of the output branch, even where newer inputs
        have been committed since (as a revert would). Refused (``Conflict``) for a job not
        done, for one whose inputs were never all made (an upstream job failed or was
        stopped: rerun that one), and when the pipeline now reads other branches than the
        job did (``update pipeline`` changed its input: use ``run pipeline``)."""
        with txnmod.write(self.store) as t:
            conn = t.connection
            row = self._job_row(conn, job_id)
            if row.state not in state.TERMINAL:
                raise Conflict(
                    f"job {row.id} ({row.pipeline}) is {row.state}: wait for it, or stop it "
                    f"first (jupyter pipes stop job {row.id})",
                    job=row.id,
                )
            pipeline = state.get_pipeline(conn, row.pipeline)
            if pipeline is None:
                raise NotFound(f"pipeline {row.pipeline!r} not found", pipeline=row.pipeline)
            pins: dict[str, str | None] = state.loads(row.inputs) or {}
            missing = sorted(k for k, v in pins.items() if v is None)
            if missing:
                raise Conflict(
                    f"job {row.id} ({row.pipeline}) never had its input {', '.join(missing)} "
                    "(the job that was to make it did not succeed): rerun that job instead",
                    job=row.id,
                )
            now = {f"{r}@{b}" for r, b in state.inputs_of(conn, [row.pipeline])[row.pipeline]}
            if now != set(pins):
                raise Conflict(
                    f"pipeline {row.pipeline} now reads {', '.join(sorted(now)) or 'nothing'}, "
                    f"job {row.id} read {', '.join(sorted(pins)) or 'nothing'}: run the "
                    f"pipeline on its current inputs instead (jupyter pipes run pipeline "
                    f"{row.pipeline})",
                    job=row.id,
                )
            made = propagate(
                t,
                new_global_id(),
                [row.pipeline],
                pinned=pins,
                root=(row.pipeline, None, None),
                cause="rerun",
                reprocess={row.pipeline} if reprocess else set(),
            )
        return self.inspect_job(made[row.pipeline])

    def restart_datum(self, job_id: str, datum_id: str) -> None:
        """Restart a datum of a running job: its current run is stopped and it runs again from
        the start (the restart is not counted as a try). Refused for a job that is not
        running, or a datum that has finished already. A running datum (listed ``running``)
        may be named by a unique prefix of its id."""
        with txnmod.write(self.store) as t:
            conn = t.connection
            row = self._job_row(conn, job_id)
            if row.state != "running":
                raise Conflict(
                    f"job {row.id} ({row.pipeline}) is {row.state}: only a running job's datums "
                    "can be restarted",
                    job=row.id,
                )
            done = state.get_datum(conn, row, datum_id)
            if done is not None and done.state == state.RUNNING:
                datum_id = done.id  # a unique prefix names it too
                done = None
            if done is not None and done.job == row.id:
                raise Conflict(
                    f"datum {done.id} of job {row.id} has finished ({done.state})",
                    job=row.id, datum=done.id,
                )  # fmt: skip
            if done is not None:
                raise Conflict(
                    f"datum {done.id} of job {row.id} is reused from job {done.job}: it does "
                    "not run",
                    job=row.id, datum=done.id,
                )  # fmt: skip
            if datum_id in state.restart_requests(conn, row.id):
                return
            state.request_restart(conn, row, datum_id)

    def pipeline_history(self, name: str, versions: int | None = None) -> list[PipelineInfo]:
        """A pipeline's versions, newest first (the current one, then up to ``versions - 1``
        older ones; all when ``None``), each read from its spec commit."""
        from .spec import parse_spec

        current = self.inspect_pipeline(name)
        limit = None if versions is None else max(versions, 1)
        commits = self.store.list_commit(Ref(name, "spec", explicit=True), limit=limit)
        out = []
        for k, c in enumerate(commits):
            if c.id == current.spec_commit:
                out.append(current)
                continue
            try:
                raw = json.loads(self.store.get_file(Ref(name, c.id, explicit=True), "/spec.json"))
                spec = parse_spec(raw)
            except NotFound:  # a spec commit without a spec (never made by this code)
                continue
            out.append(
                PipelineInfo(
                    name=name,
                    version=max(current.version - k, 1),
                    spec=raw,
                    spec_commit=c.id,
                    description=spec.description or "",
                    inputs=tuple(f"{r}@{b}" for r, b in spec.input_repos()),
                    output_branch=spec.output_branch,
                    created=current.created,
                    updated=c.finished or c.started or current.created,
                )
            )
        return out
