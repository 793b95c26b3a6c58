"""Reading jobs, datums and global commits (a part of :class:`~.manager.Pipelines`), and
deleting or squashing a global commit with its jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.engine import Connection

from ..errors import Conflict, InvalidArgument, NotFound
from ..store import global_commits as gc_mod
from ..store import txn as txnmod
from ..store.datum_io import blob_refs, read_blob
from ..store.objects import BlobRef
from ..store.records import CommitInfo, CommitRef, utc
from ..store.refs import parse_ref
from ..store.txn import Txn
from . import state
from .datums import Datum, compute_datums
from .records import DatumInfo, DatumItem, DatumState, GlobalCommitInfo, JobInfo

if TYPE_CHECKING:
    from ..store.datum_io import CommitTrees
    from ..store.store import Store


class QueriesMixin:
    """Jobs, datums and global commits of :class:`~.manager.Pipelines`."""

    store: Store
    trees: CommitTrees

    # -- jobs and datums -----------------------------------------------------------------------

    @staticmethod
    def _job_row(conn: Connection, job_id: str) -> state.JobRow:
        """A job by id, unique id prefix, or ``pipeline@id`` (pachctl's form: the id or
        prefix must then be a job of that pipeline)."""
        pipeline, at, rest = job_id.partition("@")
        if at:
            if not pipeline or not rest:
                raise InvalidArgument(
                    f"invalid job {job_id!r}: expected a job id or PIPELINE@JOB", job=job_id
                )
            row = QueriesMixin._job_row(conn, rest)
            if row.pipeline != pipeline:
                raise NotFound(f"job {rest!r} of pipeline {pipeline!r} not found", job=job_id)
            return row
        exact = state.get_job(conn, job_id)
        if exact is not None:
            return exact
        found = state.find_jobs(conn, job_id) if len(job_id) >= 4 else []
        if len(found) > 1:
            raise InvalidArgument(f"job prefix {job_id!r} is ambiguous", job=job_id)
        if not found:
            raise NotFound(f"job {job_id!r} not found", job=job_id)
        return found[0]

    def inspect_job(self, job_id: str) -> JobInfo:
        """One job (a unique id prefix is enough)."""
        with txnmod.read(self.store) as t:
            row = self._job_row(t.connection, job_id)
            return job_info(row, state.waits_of(t.connection, [row.id]).get(row.id, {}))

    def list_job(
        self,
        pipeline: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        states: list[str] | None = None,
    ) -> list[JobInfo]:
        """Jobs, newest first (of one pipeline, or all; in one of ``states``, or any)."""
        bad = sorted(set(states or ()) - set(state.TERMINAL + state.PENDING))
        if bad:
            raise InvalidArgument(
                f"unknown job state {bad[0]!r}: expected one of "
                + ", ".join(state.PENDING + state.TERMINAL),
                field="state",
            )
        with txnmod.read(self.store) as t:
            conn = t.connection
            if pipeline is not None and state.get_pipeline(conn, pipeline) is None:
                raise NotFound(f"pipeline {pipeline!r} not found", pipeline=pipeline)
            rows = state.list_jobs(conn, pipeline, limit, offset, states)
            waits = state.waits_of(conn, [r.id for r in rows if r.state == "created"])
            return [job_info(r, waits.get(r.id, {})) for r in rows]

    def list_datum(
        self, job_id: str, *, limit: int | None = None, offset: int = 0
    ) -> list[DatumInfo]:
        """Every datum of a job: those it processed or failed, and those it reused (state
        ``skipped``, ``reused_from`` naming the job that ran them)."""
        with txnmod.read(self.store) as t:
            job = self._job_row(t.connection, job_id)
            if job.state == "created":
                return []
            rows = state.job_datums(t.connection, job, limit, offset)  # running: so far
            return [datum_info(r, job.id) for r in rows]

    def inspect_datum(self, job_id: str, datum_id: str) -> DatumInfo:
        """One datum of a job (a unique id prefix is enough)."""
        with txnmod.read(self.store) as t:
            job = self._job_row(t.connection, job_id)
            row = state.get_datum(t.connection, job, datum_id) if datum_id else None
            if row is None or job.state == "created":
                raise NotFound(f"datum {datum_id!r} not found in job {job.id}", datum=datum_id)
            return datum_info(row, job.id)

    def datum_blob(self, job_id: str, datum_id: str, which: str) -> bytes:
        """A datum's executed notebook (``which='notebook'``) or log (``'log'``)."""
        info = self.inspect_datum(job_id, datum_id)
        with txnmod.read(self.store) as t:
            job = self._job_row(t.connection, job_id)
            row = state.get_datum(t.connection, job, info.id)
        tok = state.loads(getattr(row, which)) if row is not None else None
        if tok is None or info.state == "skipped":
            raise NotFound(f"datum {info.id} of job {job_id} has no {which}", datum=info.id)
        return read_blob(self.store, tok)

    def dry_run_datums(self, input_spec: dict[str, Any]) -> list[Datum]:
        """The datums an ``input`` spec would give on the current heads (nothing is run)."""
        from .spec import iter_pfs, parse_input

        inp = parse_input(input_spec)  # InvalidArgument naming the field, both spellings
        pins: dict[str, str | None] = {}
        with txnmod.read(self.store) as t:
            for _, p in iter_pfs(inp):
                if not t.repo_exists(p.repo):
                    raise NotFound(f"repo {p.repo!r} not found", repo=p.repo)
                pins[f"{p.repo}@{p.branch}"] = t.branch_head(p.repo, p.branch)

        def lister(pfs: Any) -> list[tuple[str, str, int]]:
            commit = pins.get(f"{pfs.repo}@{pfs.branch}")
            return [(m.path, m.hash, m.size) for m in self.trees.matches(commit, pfs.glob)]

        return compute_datums(inp, lister)

    def gc_roots(self) -> list[BlobRef]:
        """Executed notebooks and logs of every datum (kept by gc)."""
        with txnmod.read(self.store) as t:
            tokens = [
                state.loads(x) for nb, log in state.all_datum_refs(t.connection) for x in (nb, log)
            ]
        return blob_refs(tok for tok in tokens if tok)

    def change_marker(self) -> tuple[object, ...]:
        """A value that changes with anything live events report (repos, branches, heads,
        pipelines, jobs): two queries of one row each."""
        with txnmod.read(self.store) as t:
            return (state.change_count(t.connection), *t.change_marker())

    # -- global commits ------------------------------------------------------------------------

    def global_id_of(self, ref: str) -> str:
        """The global commit a ref names: ``<global id>`` (or a unique prefix), ``repo@<commit>``
        (that commit's global commit) or ``repo@branch`` (the newest global commit started by
        a move of that branch to its current head; else the head's own)."""
        if "@" not in ref:
            gid = self._full_global_id(ref)
            if gid is not None:
                return gid
        r = parse_ref(ref)
        commit = self.store.resolve(r)
        if r.explicit and not r.ancestors:
            with txnmod.read(self.store) as t:
                if t.branch_head(r.repo, r.base) == commit.id:
                    g = state.newest_global_commit(t.connection, r.repo, r.base)
                    if g is not None and g.commit == commit.id:
                        return str(g.id)
        return commit.global_id or commit.id

    def _full_global_id(self, gid: str) -> str | None:
        if not gid or len(gid) > 32 or any(c not in "0123456789abcdef" for c in gid):
            return None
        full, commits = gc_mod.global_commit(self.store, gid)
        if commits:
            return full
        with txnmod.read(self.store) as t:
            found = state.find_global_commits(t.connection, gid)
        if len(found) > 1:
            raise InvalidArgument(f"global commit prefix {gid!r} is ambiguous", commit=gid)
        return found[0] if found else None

    def is_global_id(self, text: str) -> bool:
        """Whether ``text`` (no ``@``, not a repo name) names a global commit."""
        return "@" not in text and self._full_global_id(text) is not None

    def inspect_global_commit(self, gid: str) -> GlobalCommitInfo:
        """A global commit: its commits (the change and every output it caused) and jobs."""
        full = self._full_global_id(gid)
        if full is None:
            raise NotFound(f"global commit {gid!r} not found", commit=gid)
        _, commits = gc_mod.global_commit(self.store, full)
        with txnmod.read(self.store) as t:
            conn = t.connection
            row = state.get_global_commit(conn, full)
            rows = state.jobs_of_global(conn, full)
            waits = state.waits_of(conn, [r.id for r in rows])
            jobs = tuple(job_info(r, waits.get(r.id, {})) for r in rows)
        if row is not None:
            cause, repo, branch, commit, created = (
                row.cause,
                row.repo,
                row.branch,
                row.commit,
                utc(row.created_at),
            )
        else:
            first = next((c for c in commits if c.id == full), commits[0] if commits else None)
            cause = "commit"
            repo, branch, commit = (first.repo, first.branch, first.id) if first else (None,) * 3
            created = first.started if first else None
        return GlobalCommitInfo(full, cause, repo, branch, commit, created, tuple(commits), jobs)

    def pending(self, global_id: str | None) -> bool:
        """Whether jobs (of global commit ``global_id``, or any) are still to run."""
        with txnmod.read(self.store) as t:
            return bool(state.pending_jobs(t.connection, global_id))

    def jobs_of(self, global_id: str) -> list[JobInfo]:
        """The jobs of a global commit, in creation (topological) order."""
        with txnmod.read(self.store) as t:
            rows = state.jobs_of_global(t.connection, global_id)
            waits = state.waits_of(t.connection, [r.id for r in rows])
            return [job_info(r, waits.get(r.id, {})) for r in rows]

    def drop_global_commit(self, gid: str, *, squash: bool = False) -> list[CommitInfo]:
        """Delete (or squash) every commit of a global commit, in one transaction; deleting
        also removes its jobs, so each pipeline reuses its previous result again."""
        full = self._full_global_id(gid)
        if full is None:
            raise NotFound(f"global commit {gid!r} not found", commit=gid)

        def check(t: Txn, full_id: str, commits: list[CommitInfo]) -> None:
            _check_droppable(t.connection, full_id, commits, squash)
            if not squash:
                _forget_jobs(t.connection, full_id)

        return gc_mod.drop_global_commit(self.store, full, squash=squash, check=check)


def _check_droppable(conn: Connection, gid: str, commits: list[CommitInfo], squash: bool) -> None:
    verb = "squash" if squash else "delete"
    rows = state.jobs_of_global(conn, gid)
    busy = [r for r in rows if r.state in state.PENDING]
    if busy:
        raise Conflict(
            f"cannot {verb} global commit {gid}: its job(s) "
            + ", ".join(f"{r.id} ({r.pipeline})" for r in busy)
            + f" are not done; wait for them (jupyter pipes wait commit {gid})",
            commit=gid,
        )
    ids = {c.id for c in commits}
    for c in commits:
        p = state.get_pipeline(conn, c.repo)
        if c.branch == "spec" and p is not None and p.spec_commit == c.id:
            raise Conflict(
                f"cannot {verb} global commit {gid}: it holds the current spec of pipeline "
                f"{c.repo!r} (update or delete the pipeline instead)",
                commit=gid,
            )
    for r in state.pending_jobs(conn):
        pins = state.loads(r.inputs) or {}
        if ids & {v for v in pins.values() if v}:
            raise Conflict(
                f"cannot {verb} global commit {gid}: job {r.id} ({r.pipeline}) is about to "
                "read it; wait for it first",
                commit=gid,
            )


def _forget_jobs(conn: Connection, gid: str) -> None:
    """Remove a deleted global commit's jobs; a successful one's datums stop being current and
    the ones it replaced are current again (each pipeline is back at its previous result)."""
    for r in state.jobs_of_global(conn, gid):
        state.forget_job(conn, r)
    state.delete_global_commit(conn, gid)


def job_info(r: state.JobRow, waits: dict[str, str]) -> JobInfo:
    """A job row as a record (``waits``: its inputs still waiting, key -> upstream job)."""
    pins = state.loads(r.inputs) or {}
    waiting = tuple(sorted(set(waits.values())))
    return JobInfo(
        id=r.id,
        pipeline=r.pipeline,
        version=r.version,
        state=r.state,
        reason=r.reason,
        created=utc(r.created_at),  # type: ignore[arg-type]
        started=utc(r.started_at),
        finished=utc(r.finished_at),
        inputs=tuple(
            CommitRef(k.split("@")[0], v, k.split("@")[1]) for k, v in sorted(pins.items()) if v
        ),
        spec_commit=r.spec_commit,
        output_commit=r.output_commit,
        total=r.total,
        processed=r.processed,
        skipped=r.skipped,
        failed=r.failed,
        error=state.loads(r.error),
        blocked_on=waiting[0] if waiting else r.blocked_on,
        global_id=r.global_id,
        waiting_on=waiting,
    )


def datum_info(r: state.DatumRow, job_id: str) -> DatumInfo:
    """A datum row, as seen from job ``job_id`` (a row of another job was reused)."""
    if r.state == state.RUNNING:  # a running mark: no result yet
        mark = state.loads(r.outputs) or {}
        return DatumInfo(
            id=r.id, job=job_id, state="running",
            inputs=tuple(DatumItem(**i) for i in state.loads(r.inputs)), outputs=(),
            tries=0, duration_s=0.0, hash=r.hash, started=utc(mark.get("started")),
            worker=mark.get("worker"),
        )  # fmt: skip
    outputs = state.loads(r.outputs) or []
    reused = r.job != job_id
    return DatumInfo(
        id=r.id,
        job=job_id,
        state="skipped" if reused else cast("DatumState", r.state),  # listings hold no
        # "removed" or "restart" rows (see state.job_datums)
        inputs=tuple(DatumItem(**i) for i in state.loads(r.inputs)),
        outputs=tuple(p for p, _ in outputs),
        tries=0 if reused else r.tries,
        duration_s=0.0 if reused else r.duration,
        hash=r.hash,
        error=None if reused else state.loads(r.error),
        has_notebook=r.notebook is not None and not reused,
        reused_from=r.job if reused else r.reused_from,
    )
