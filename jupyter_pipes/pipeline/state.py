"""Pipeline, job and datum tables: the pipeline layer's only SQL.

They live in the store's metadata database (same engine, same transactions) so that a branch
move and the jobs it triggers commit together, and an output commit and its job's success
commit together. The store itself never reads these tables. They are made and changed only by the
migrations in ``pipeline/migrations`` (their own chain; see docs/migrations.md); the definitions
here must equal what those build (a test compares them).

Datums are versioned by intervals, so a job writes rows only for the datums that ran or went:
a datum row carries ``live_from``, the *success sequence number* of the job that produced it
(every successful job of a pipeline gets the next number), and ``live_to``, the number of the
successful job that replaced or removed it (``NULL`` while it is current). The datums of
successful job ``s`` are the rows with ``live_from <= s < live_to``; rows of a job that did not
succeed have no ``live_from`` and never count for reuse. A failed job's listing is its own rows
plus the datums current at its base (``base_seq``), less those its own rows (``removed``
tombstones included) replace. (Jobs from before schema revision 0002 wrote a row for every
datum, skipped ones with ``reused_from``; the migration gave each successful one an interval of
its own, so they list as they did.)

``jobs.blocked_on`` names the upstream job that made a job ``unrunnable``; the jobs a job still
waits for are rows of ``job_waits``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from ..store.schema import Chain

md = sa.MetaData()
CHAIN = Chain(
    "pipeline", "jupyter_pipes.pipeline.migrations", "pipes_pipeline_version", "pipelines"
)
"""The pipeline layer's migration chain (``Metadata.ensure_schema`` runs it)."""

pipelines = sa.Table(
    "pipelines",
    md,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("spec_commit", sa.String(32), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("output_branch", sa.String(63), nullable=False, default="master"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
pipeline_inputs = sa.Table(
    "pipeline_inputs",
    md,
    sa.Column("pipeline", sa.String(63), primary_key=True),
    sa.Column("repo", sa.String(63), primary_key=True),
    sa.Column("branch", sa.String(63), primary_key=True),
    sa.Index("ix_pipeline_inputs_repo", "repo", "branch"),
)
jobs = sa.Table(
    "jobs",
    md,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("pipeline", sa.String(63), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec_commit", sa.String(32), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("inputs", sa.Text, nullable=True),
    sa.Column("output_commit", sa.String(32), nullable=True),
    sa.Column("blocked_on", sa.String(32), nullable=True),
    sa.Column("global_id", sa.String(32), nullable=True),
    sa.Column("reprocess", sa.Boolean, nullable=False, default=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires", sa.Float, nullable=True),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("processed", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("success_seq", sa.Integer, nullable=True),
    sa.Column("base_seq", sa.Integer, nullable=True),
    sa.Column("datum_key", sa.String(64), nullable=True),
    sa.Index("ix_jobs_pipeline", "pipeline", "created_at"),
    sa.Index("ix_jobs_state", "state"),
    sa.Index("ix_jobs_global", "global_id"),
    sa.Index("ix_jobs_output", "output_commit"),
    sa.Index("ix_jobs_success", "pipeline", "success_seq"),
)
job_waits = sa.Table(
    "job_waits",
    md,
    sa.Column("job", sa.String(32), primary_key=True),
    sa.Column("input", sa.String(130), primary_key=True),
    sa.Column("upstream", sa.String(32), nullable=False),
    sa.Index("ix_job_waits_upstream", "upstream"),
)
"""An input of a job pinned to "the output commit of job ``upstream``": filled in (and the
row deleted) when that job succeeds."""
datums = sa.Table(
    "datums",
    md,
    sa.Column("job", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("pipeline", sa.String(63), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("inputs", sa.Text, nullable=False),
    sa.Column("outputs", sa.Text, nullable=True),
    sa.Column("notebook", sa.Text, nullable=True),
    sa.Column("log", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("tries", sa.Integer, nullable=False, default=0),
    sa.Column("duration", sa.Float, nullable=False, default=0.0),
    sa.Column("reused_from", sa.String(32), nullable=True),
    sa.Column("live_from", sa.Integer, nullable=True),
    sa.Column("live_to", sa.Integer, nullable=True),
    sa.Index("ix_datums_pipeline_id", "pipeline", "id"),
    sa.Index("ix_datums_live", "pipeline", "live_to", "live_from"),
)
global_commits = sa.Table(
    "global_commits",
    md,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("repo", sa.String(63), nullable=True),
    sa.Column("branch", sa.String(63), nullable=True),
    sa.Column("commit", sa.String(32), nullable=True),
    sa.Column("cause", sa.String(16), nullable=False),
    sa.Index("ix_global_commits_branch", "repo", "branch", "created_at"),
)
"""Every global commit that created jobs: the change it started from (a head move to
``repo@branch`` = ``commit``, or a pipeline created, updated or run)."""
changes = sa.Table(
    "pipes_changes",
    md,
    sa.Column("key", sa.String(16), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)
"""One counter, bumped by every write that the live-event poller reports (head moves,
pipelines, jobs): an idle poller reads one row."""

TERMINAL = ("success", "failure", "killed", "unrunnable")
PENDING = ("created", "running")


def dumps(value: Any) -> str:
    """Compact JSON for a Text column."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps` (``None`` stays ``None``)."""
    return None if text is None else json.loads(text)


# -- the change counter -------------------------------------------------------------------------


def bump(conn: Connection) -> None:
    """Count a change (once per transaction: the poller only needs to see that one happened)."""
    tx = conn.get_transaction()
    if tx is not None and conn.info.get("pipes_bumped") is tx:
        return
    conn.info["pipes_bumped"] = tx
    res = conn.execute(
        sa.update(changes).where(changes.c.key == "all").values(value=changes.c.value + 1)
    )
    if res.rowcount == 0:
        conn.execute(sa.insert(changes).values(key="all", value=1))


def change_count(conn: Connection) -> int:
    return conn.execute(sa.select(changes.c.value).where(changes.c.key == "all")).scalar() or 0


# -- pipelines ----------------------------------------------------------------------------------


def get_pipeline(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(sa.select(pipelines).where(pipelines.c.name == name)).first()


def all_pipelines(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(sa.select(pipelines).order_by(pipelines.c.name)).all()


def pipeline_versions(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(sa.select(pipelines.c.name, pipelines.c.version)).all())


def put_pipeline(conn: Connection, row: dict[str, Any], inputs: list[tuple[str, str]]) -> None:
    """Insert or replace a pipeline row and its input index."""
    conn.execute(sa.delete(pipelines).where(pipelines.c.name == row["name"]))
    conn.execute(sa.insert(pipelines).values(**row))
    conn.execute(sa.delete(pipeline_inputs).where(pipeline_inputs.c.pipeline == row["name"]))
    rows = [{"pipeline": row["name"], "repo": r, "branch": b} for r, b in dict.fromkeys(inputs)]
    if rows:
        conn.execute(sa.insert(pipeline_inputs), rows)
    bump(conn)


def delete_pipeline(conn: Connection, name: str) -> list[str]:
    """Delete a pipeline with its jobs and datums; the ids of its jobs still pending."""
    pending = list(
        conn.execute(
            sa.select(jobs.c.id).where(jobs.c.pipeline == name, jobs.c.state.in_(PENDING))
        ).scalars()
    )
    job_ids = sa.select(jobs.c.id).where(jobs.c.pipeline == name)
    conn.execute(sa.delete(datums).where(datums.c.pipeline == name))
    conn.execute(sa.delete(job_waits).where(job_waits.c.job.in_(job_ids)))
    conn.execute(sa.delete(jobs).where(jobs.c.pipeline == name))
    conn.execute(sa.delete(pipeline_inputs).where(pipeline_inputs.c.pipeline == name))
    conn.execute(sa.delete(pipelines).where(pipelines.c.name == name))
    bump(conn)
    return pending


def subscribers(conn: Connection, repo: str, branch: str) -> list[str]:
    """Pipelines with ``repo@branch`` among their inputs."""
    return list(
        conn.execute(
            sa.select(pipeline_inputs.c.pipeline)
            .where(pipeline_inputs.c.repo == repo, pipeline_inputs.c.branch == branch)
            .order_by(pipeline_inputs.c.pipeline)
        ).scalars()
    )


def inputs_of(conn: Connection, names: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """The input branches of each pipeline in ``names``."""
    out: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    if out:
        for p, r, b in conn.execute(
            sa.select(pipeline_inputs).where(pipeline_inputs.c.pipeline.in_(list(out)))
        ):
            out[p].append((r, b))
    return out


def all_inputs(conn: Connection) -> dict[str, list[str]]:
    """Every pipeline's input repos (the pipeline graph, without parsing a spec)."""
    out: dict[str, list[str]] = {}
    for p, r in conn.execute(sa.select(pipeline_inputs.c.pipeline, pipeline_inputs.c.repo)):
        out.setdefault(p, []).append(r)
    return out


def users_of_repo(conn: Connection, repo: str) -> list[str]:
    """Pipelines reading any branch of ``repo``."""
    return sorted(
        set(
            conn.execute(
                sa.select(pipeline_inputs.c.pipeline).where(pipeline_inputs.c.repo == repo)
            ).scalars()
        )
    )


# -- jobs ---------------------------------------------------------------------------------------


def insert_job(conn: Connection, waits: dict[str, str] | None = None, **values: Any) -> None:
    """Insert a job; ``waits``: input key -> the job whose output that input will be."""
    values.setdefault("created_at", time.time())
    values.setdefault("state", "created")
    conn.execute(sa.insert(jobs).values(**values))
    if waits:
        conn.execute(
            sa.insert(job_waits),
            [{"job": values["id"], "input": k, "upstream": u} for k, u in waits.items()],
        )
    bump(conn)


def get_job(conn: Connection, job_id: str) -> Row[Any] | None:
    return conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()


def find_jobs(conn: Connection, prefix: str) -> Sequence[Row[Any]]:
    return conn.execute(
        sa.select(jobs).where(jobs.c.id.startswith(prefix, autoescape=True)).limit(3)
    ).all()


def list_jobs(
    conn: Connection, pipeline: str | None, limit: int | None, offset: int = 0
) -> Sequence[Row[Any]]:
    q = sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).offset(offset)
    if pipeline is not None:
        q = q.where(jobs.c.pipeline == pipeline)
    if limit is not None:
        q = q.limit(limit)
    return conn.execute(q).all()


def newest_jobs(conn: Connection) -> dict[str, tuple[str, str]]:
    """pipeline -> (id, state) of its newest job, for every pipeline, in one query."""
    newest = (
        sa.select(jobs.c.pipeline, sa.func.max(jobs.c.created_at).label("at"))
        .group_by(jobs.c.pipeline)
        .subquery()
    )
    rows = conn.execute(
        sa.select(jobs.c.pipeline, jobs.c.id, jobs.c.state)
        .join(
            newest, sa.and_(newest.c.pipeline == jobs.c.pipeline, newest.c.at == jobs.c.created_at)
        )
        .order_by(jobs.c.id)
    )
    return {p: (i, s) for p, i, s in rows}


def update_job(conn: Connection, job_id: str, **values: Any) -> None:
    conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(**values))
    bump(conn)


def job_for_output(conn: Connection, commit: str) -> Row[Any] | None:
    return conn.execute(sa.select(jobs).where(jobs.c.output_commit == commit)).first()


def newest_pending(conn: Connection, pipeline: str) -> Row[Any] | None:
    """The newest job of ``pipeline`` not done yet (its output is the branch's next head)."""
    return conn.execute(
        sa.select(jobs)
        .where(jobs.c.pipeline == pipeline, jobs.c.state.in_(PENDING))
        .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        .limit(1)
    ).first()


def waits_of(conn: Connection, job_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """job -> {input key: upstream job} of the inputs still waiting."""
    out: dict[str, dict[str, str]] = {}
    ids = list(job_ids)
    for i in range(0, len(ids), 500):
        for j, k, u in conn.execute(
            sa.select(job_waits.c.job, job_waits.c.input, job_waits.c.upstream).where(
                job_waits.c.job.in_(ids[i : i + 500])
            )
        ):
            out.setdefault(j, {})[k] = u
    return out


def waiting_on(conn: Connection, upstream: str) -> dict[str, dict[str, str]]:
    """job -> {input key: upstream} of the jobs waiting on ``upstream``."""
    out: dict[str, dict[str, str]] = {}
    for j, k, u in conn.execute(
        sa.select(job_waits.c.job, job_waits.c.input, job_waits.c.upstream).where(
            job_waits.c.upstream == upstream
        )
    ):
        out.setdefault(j, {})[k] = u
    return out


def release(conn: Connection, upstream: str, output_commit: str) -> list[str]:
    """Fill in ``upstream``'s output commit in the inputs of the jobs waiting on it; the jobs
    released."""
    waiting = waiting_on(conn, upstream)
    for job_id, keys in waiting.items():
        row = get_job(conn, job_id)
        if row is None:
            continue
        pins = loads(row.inputs) or {}
        pins.update(dict.fromkeys(keys, output_commit))
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(inputs=dumps(pins)))
    conn.execute(sa.delete(job_waits).where(job_waits.c.upstream == upstream))
    if waiting:
        bump(conn)
    return list(waiting)


def drop_waits(conn: Connection, upstream: str) -> None:
    conn.execute(sa.delete(job_waits).where(job_waits.c.upstream == upstream))


def claim_job(conn: Connection, owner: str, lease_s: float) -> Row[Any] | None:
    """Take the oldest runnable job (created with nothing to wait for, or running with an
    expired lease) whose pipeline has no older job pending; returns it with the lease set."""
    now = time.time()
    older = jobs.alias("older")
    runnable = (
        sa.select(jobs)
        .where(
            sa.or_(
                jobs.c.state == "created",
                sa.and_(jobs.c.state == "running", jobs.c.lease_expires < now),
            ),
            ~sa.exists().where(job_waits.c.job == jobs.c.id),
            ~sa.exists().where(
                older.c.pipeline == jobs.c.pipeline,
                older.c.state.in_(PENDING),
                sa.or_(
                    older.c.created_at < jobs.c.created_at,
                    sa.and_(older.c.created_at == jobs.c.created_at, older.c.id < jobs.c.id),
                ),
            ),
        )
        .order_by(jobs.c.created_at, jobs.c.id)
        .limit(20)
    )
    for row in conn.execute(runnable).all():
        res = conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.id == row.id,
                jobs.c.state == row.state,
                jobs.c.lease_owner.is_(None)
                if row.lease_owner is None
                else jobs.c.lease_owner == row.lease_owner,
            )
            .values(
                state="running",
                lease_owner=owner,
                lease_expires=now + lease_s,
                started_at=row.started_at or now,
            )
        )
        if res.rowcount == 1:
            bump(conn)
            return get_job(conn, row.id)
    return None


def renew_lease(conn: Connection, job_id: str, owner: str, lease_s: float) -> bool:
    res = conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.state == "running")
        .values(lease_expires=time.time() + lease_s)
    )
    return res.rowcount == 1


def holds_lease(conn: Connection, job_id: str, owner: str) -> bool:
    """Whether ``owner`` still runs ``job_id`` (a controller whose lease was taken over must
    not finish the job)."""
    row = conn.execute(
        sa.select(jobs.c.state, jobs.c.lease_owner).where(jobs.c.id == job_id)
    ).first()
    return row is not None and row.state == "running" and row.lease_owner == owner


def pending_jobs(conn: Connection, global_id: str | None = None) -> Sequence[Row[Any]]:
    q = sa.select(jobs).where(jobs.c.state.in_(PENDING))
    if global_id is not None:
        q = q.where(jobs.c.global_id == global_id)
    return conn.execute(q.order_by(jobs.c.created_at)).all()


def jobs_of_global(conn: Connection, global_id: str) -> Sequence[Row[Any]]:
    return conn.execute(
        sa.select(jobs).where(jobs.c.global_id == global_id).order_by(jobs.c.created_at, jobs.c.id)
    ).all()


def last_success(conn: Connection, pipeline: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(jobs)
        .where(jobs.c.pipeline == pipeline, jobs.c.success_seq.is_not(None))
        .order_by(jobs.c.success_seq.desc())
        .limit(1)
    ).first()


# -- global commits -----------------------------------------------------------------------------


def insert_global_commit(conn: Connection, **values: Any) -> None:
    values.setdefault("created_at", time.time())
    conn.execute(sa.insert(global_commits).values(**values))


def get_global_commit(conn: Connection, gid: str) -> Row[Any] | None:
    return conn.execute(sa.select(global_commits).where(global_commits.c.id == gid)).first()


def find_global_commits(conn: Connection, prefix: str) -> list[str]:
    """Global ids starting with ``prefix`` (of global commits with jobs)."""
    ids = set(
        conn.execute(
            sa.select(global_commits.c.id)
            .where(global_commits.c.id.startswith(prefix, autoescape=True))
            .limit(3)
        ).scalars()
    )
    return sorted(ids)


def delete_global_commit(conn: Connection, gid: str) -> None:
    conn.execute(sa.delete(global_commits).where(global_commits.c.id == gid))


def forget_job(conn: Connection, job: Row[Any]) -> None:
    """Delete a job; if it succeeded, the datums it made current are forgotten and those it
    replaced are current again (only for the pipeline's newest success)."""
    if job.success_seq is not None:
        conn.execute(
            sa.delete(datums).where(
                datums.c.pipeline == job.pipeline, datums.c.live_from == job.success_seq
            )
        )
        conn.execute(
            sa.update(datums)
            .where(datums.c.pipeline == job.pipeline, datums.c.live_to == job.success_seq)
            .values(live_to=None)
        )
    conn.execute(sa.delete(datums).where(datums.c.job == job.id))
    conn.execute(sa.delete(job_waits).where(job_waits.c.job == job.id))
    conn.execute(sa.delete(jobs).where(jobs.c.id == job.id))
    bump(conn)


def newest_global_commit(conn: Connection, repo: str, branch: str) -> Row[Any] | None:
    """The newest global commit started by a move of ``repo@branch``."""
    return conn.execute(
        sa.select(global_commits)
        .where(global_commits.c.repo == repo, global_commits.c.branch == branch)
        .order_by(global_commits.c.created_at.desc())
        .limit(1)
    ).first()


# -- datums -------------------------------------------------------------------------------------

_BLANK = {
    "outputs": None,
    "notebook": None,
    "log": None,
    "error": None,
    "tries": 0,
    "duration": 0.0,
    "reused_from": None,
    "live_from": None,
    "live_to": None,
}


def insert_datums(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert datum rows (missing columns are NULL/default: executemany needs equal keys)."""
    for i in range(0, len(rows), 1000):
        conn.execute(sa.insert(datums), [{**_BLANK, **r} for r in rows[i : i + 1000]])


def retire_datums(conn: Connection, pipeline: str, ids: Iterable[str], seq: int) -> None:
    """End the current rows of these datums at success number ``seq`` (``ids=None``: all)."""
    ids = list(ids)
    for i in range(0, len(ids), 500):
        conn.execute(
            sa.update(datums)
            .where(
                datums.c.pipeline == pipeline,
                datums.c.live_to.is_(None),
                datums.c.live_from.is_not(None),
                datums.c.id.in_(ids[i : i + 500]),
            )
            .values(live_to=seq)
        )


def retire_all_datums(conn: Connection, pipeline: str, seq: int) -> None:
    conn.execute(
        sa.update(datums)
        .where(
            datums.c.pipeline == pipeline,
            datums.c.live_to.is_(None),
            datums.c.live_from.is_not(None),
        )
        .values(live_to=seq)
    )


def _live_at(pipeline: str, seq: int) -> Any:
    return sa.and_(
        datums.c.pipeline == pipeline,
        datums.c.live_from <= seq,
        sa.or_(datums.c.live_to.is_(None), datums.c.live_to > seq),
    )


def current_datums(
    conn: Connection, pipeline: str, ids: Iterable[str] | None = None
) -> dict[str, Row[Any]]:
    """The current (reusable) row of each datum, of the given ids or all."""
    base = sa.select(datums).where(
        datums.c.pipeline == pipeline,
        datums.c.live_to.is_(None),
        datums.c.live_from.is_not(None),
    )
    if ids is None:
        return {r.id: r for r in conn.execute(base)}
    out: dict[str, Row[Any]] = {}
    id_list = list(ids)
    for i in range(0, len(id_list), 500):
        for r in conn.execute(base.where(datums.c.id.in_(id_list[i : i + 500]))):
            out[r.id] = r
    return out


def _job_listing(job: Row[Any]) -> Any:
    """A query of every datum row of a job (see the module docstring), or None."""
    if job.success_seq is not None:
        return sa.select(datums).where(_live_at(job.pipeline, job.success_seq))
    own = sa.select(datums).where(datums.c.job == job.id, datums.c.state != "removed")
    if job.base_seq is None:
        return own
    replaced = sa.select(datums.c.id).where(datums.c.job == job.id)
    inherited = sa.select(datums).where(
        _live_at(job.pipeline, job.base_seq), datums.c.id.not_in(replaced)
    )
    return sa.union_all(own, inherited)


def job_datums(
    conn: Connection, job: Row[Any], limit: int | None = None, offset: int = 0
) -> Sequence[Row[Any]]:
    """Every datum of a job (those it reused included), by id."""
    q = _job_listing(job).subquery()
    stmt = sa.select(q).order_by(q.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return conn.execute(stmt).all()


def get_datum(conn: Connection, job: Row[Any], datum_id: str) -> Row[Any] | None:
    q = _job_listing(job).subquery()
    return conn.execute(
        sa.select(q).where(q.c.id.startswith(datum_id, autoescape=True)).order_by(q.c.id).limit(1)
    ).first()


def next_success_seq(conn: Connection, pipeline: str) -> int:
    top = conn.execute(
        sa.select(sa.func.max(jobs.c.success_seq)).where(jobs.c.pipeline == pipeline)
    ).scalar()
    return (top or 0) + 1


def datum_owner(conn: Connection, pipeline: str, path: str, exclude: Iterable[str]) -> str | None:
    """Which current datum wrote output ``path`` (a slow scan: only to name a clash)."""
    skip = set(exclude)
    for r in conn.execute(
        sa.select(datums.c.id, datums.c.outputs).where(
            datums.c.pipeline == pipeline,
            datums.c.live_to.is_(None),
            datums.c.live_from.is_not(None),
        )
    ):
        if r.id not in skip and any(p == path for p, _ in loads(r.outputs) or []):
            return str(r.id)
    return None


def all_datum_refs(conn: Connection) -> Sequence[Row[Any]]:
    """Executed-notebook and log refs of every datum (gc keeps them)."""
    return conn.execute(sa.select(datums.c.notebook, datums.c.log)).all()
