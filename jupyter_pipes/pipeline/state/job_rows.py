"""Pipelines, jobs, the inputs jobs wait for, and global commits."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .rows import GlobalCommitRow, JobRow, PipelineRow, record, records

if TYPE_CHECKING:
    from ..records import JobState
from .tables import (
    PENDING,
    TERMINAL,
    bump,
    datums,
    dumps,
    global_commits,
    job_waits,
    jobs,
    loads,
    pipeline_inputs,
    pipelines,
)

# -- pipelines ----------------------------------------------------------------------------------


def get_pipeline(conn: Connection, name: str) -> PipelineRow | None:
    return record(
        PipelineRow, conn.execute(sa.select(pipelines).where(pipelines.c.name == name)).first()
    )


def all_pipelines(conn: Connection) -> list[PipelineRow]:
    return records(PipelineRow, conn.execute(sa.select(pipelines).order_by(pipelines.c.name)))


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


def get_job(conn: Connection, job_id: str) -> JobRow | None:
    return record(JobRow, conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first())


def find_jobs(conn: Connection, prefix: str) -> list[JobRow]:
    return records(
        JobRow,
        conn.execute(sa.select(jobs).where(jobs.c.id.startswith(prefix, autoescape=True)).limit(3)),
    )


def list_jobs(
    conn: Connection,
    pipeline: str | None,
    limit: int | None,
    offset: int = 0,
    states: Sequence[str] | None = None,
) -> list[JobRow]:
    q = sa.select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).offset(offset)
    if pipeline is not None:
        q = q.where(jobs.c.pipeline == pipeline)
    if states:
        q = q.where(jobs.c.state.in_(list(states)))
    if limit is not None:
        q = q.limit(limit)
    return records(JobRow, conn.execute(q))


def newest_jobs(conn: Connection) -> dict[str, tuple[str, JobState]]:
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


def job_for_output(conn: Connection, commit: str) -> JobRow | None:
    return record(
        JobRow, conn.execute(sa.select(jobs).where(jobs.c.output_commit == commit)).first()
    )


def newest_pending(conn: Connection, pipeline: str) -> JobRow | None:
    """The newest job of ``pipeline`` not done yet (its output is the branch's next head)."""
    return record(
        JobRow,
        conn.execute(
            sa.select(jobs)
            .where(jobs.c.pipeline == pipeline, jobs.c.state.in_(PENDING))
            .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
            .limit(1)
        ).first(),
    )


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


def claim_job(conn: Connection, owner: str, lease_s: float) -> JobRow | None:
    """Take the oldest runnable job (created with nothing to wait for, or running with an
    expired lease) whose pipeline has no older job pending; returns it with the lease set."""
    settle_waits(conn)
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
    for row in records(JobRow, conn.execute(runnable)):
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


def pending_jobs(conn: Connection, global_id: str | None = None) -> list[JobRow]:
    q = sa.select(jobs).where(jobs.c.state.in_(PENDING))
    if global_id is not None:
        q = q.where(jobs.c.global_id == global_id)
    return records(JobRow, conn.execute(q.order_by(jobs.c.created_at)))


def jobs_of_global(conn: Connection, global_id: str) -> list[JobRow]:
    return records(
        JobRow,
        conn.execute(
            sa.select(jobs)
            .where(jobs.c.global_id == global_id)
            .order_by(jobs.c.created_at, jobs.c.id)
        ),
    )


def last_success(conn: Connection, pipeline: str) -> JobRow | None:
    return record(
        JobRow,
        conn.execute(
            sa.select(jobs)
            .where(jobs.c.pipeline == pipeline, jobs.c.success_seq.is_not(None))
            .order_by(jobs.c.success_seq.desc())
            .limit(1)
        ).first(),
    )


# -- global commits -----------------------------------------------------------------------------


def insert_global_commit(conn: Connection, **values: Any) -> None:
    values.setdefault("created_at", time.time())
    conn.execute(sa.insert(global_commits).values(**values))


def get_global_commit(conn: Connection, gid: str) -> GlobalCommitRow | None:
    return record(
        GlobalCommitRow,
        conn.execute(sa.select(global_commits).where(global_commits.c.id == gid)).first(),
    )


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


def forget_job(conn: Connection, job: JobRow) -> None:
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


def newest_global_commit(conn: Connection, repo: str, branch: str) -> GlobalCommitRow | None:
    """The newest global commit started by a move of ``repo@branch``."""
    return record(
        GlobalCommitRow,
        conn.execute(
            sa.select(global_commits)
            .where(global_commits.c.repo == repo, global_commits.c.branch == branch)
            .order_by(global_commits.c.created_at.desc())
            .limit(1)
        ).first(),
    )


def cascade_unrunnable(conn: Connection, job_id: str, reason: str) -> None:
    """Make every job waiting on ``job_id`` (transitively) ``unrunnable``, naming it."""
    for waiting in waiting_on(conn, job_id):
        row = get_job(conn, waiting)
        if row is None or row.state in TERMINAL:
            continue
        update_job(
            conn,
            waiting,
            state="unrunnable",
            finished_at=time.time(),
            reason=reason,
            blocked_on=job_id,
        )
        cascade_unrunnable(conn, waiting, f"upstream job {waiting} ({row.pipeline}) was unrunnable")
    drop_waits(conn, job_id)


def settle_waits(conn: Connection) -> None:
    """Settle waits on jobs that are already done: fill in a success's output commit, make the
    waiting jobs of a failure unrunnable. (A job created while its upstream finished, in two
    concurrent transactions on PostgreSQL, may wait on a job that will release nothing.)"""
    done = conn.execute(
        sa.select(jobs.c.id, jobs.c.pipeline, jobs.c.state, jobs.c.output_commit)
        .where(jobs.c.id.in_(sa.select(job_waits.c.upstream).distinct()))
        .where(jobs.c.state.in_(TERMINAL))
    ).all()
    for job_id, pipeline, job_state, output in done:
        if job_state == "success" and output:
            release(conn, job_id, output)
        else:
            cascade_unrunnable(conn, job_id, f"upstream job {job_id} ({pipeline}) {job_state}")


def kill_job(conn: Connection, job_id: str, reason: str) -> list[str]:
    """Make a pending job ``killed`` (its controller sees it is no longer its to finish, and
    cancels its datums), and every job waiting on it, transitively — the rest of its global
    commit downstream — ``killed`` too; the ids killed."""
    now = time.time()
    killed = [job_id]
    update_job(conn, job_id, state="killed", reason=reason, finished_at=now, lease_owner=None)
    frontier = [job_id]
    while frontier:
        upstream = frontier.pop()
        for waiting in waiting_on(conn, upstream):
            row = get_job(conn, waiting)
            if row is None or row.state in TERMINAL:
                continue
            update_job(
                conn, waiting, state="killed", finished_at=now, blocked_on=job_id,
                reason=f"upstream job {job_id} was stopped",
            )  # fmt: skip
            killed.append(waiting)
            frontier.append(waiting)
        drop_waits(conn, upstream)
    return killed
