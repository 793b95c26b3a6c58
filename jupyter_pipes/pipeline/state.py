"""Pipeline, job and datum tables: the pipeline layer's only SQL.

They live in the store's metadata database (same engine, same transactions) so that a branch
move and the jobs it triggers commit together, and an output commit and its job's success
commit together. The store itself never reads these tables. They are made and changed only by the
migrations in ``pipeline/migrations`` (their own chain; see docs/migrations.md); the definitions
here must equal what those build (a test compares them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
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
    sa.Column("root_commit", sa.String(32), nullable=True),
    sa.Column("reprocess", sa.Boolean, nullable=False, default=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires", sa.Float, nullable=True),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("processed", sa.Integer, nullable=False, default=0),
    sa.Column("skipped", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_jobs_pipeline", "pipeline", "created_at"),
    sa.Index("ix_jobs_state", "state"),
    sa.Index("ix_jobs_root", "root_commit"),
    sa.Index("ix_jobs_output", "output_commit"),
    sa.Index("ix_jobs_blocked", "blocked_on"),
)
datums = sa.Table(
    "datums",
    md,
    sa.Column("job", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
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
)

TERMINAL = ("success", "failure", "killed", "unrunnable")


def dumps(value: Any) -> str:
    """Compact JSON for a Text column."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loads(text: str | None) -> Any:
    """Inverse of :func:`dumps` (``None`` stays ``None``)."""
    return None if text is None else json.loads(text)


# -- pipelines ----------------------------------------------------------------------------------


def get_pipeline(conn: Connection, name: str) -> Row[Any] | None:
    return conn.execute(sa.select(pipelines).where(pipelines.c.name == name)).first()


def all_pipelines(conn: Connection) -> Sequence[Row[Any]]:
    return conn.execute(sa.select(pipelines).order_by(pipelines.c.name)).all()


def put_pipeline(conn: Connection, row: dict[str, Any], inputs: list[tuple[str, str]]) -> None:
    """Insert or replace a pipeline row and its input index."""
    conn.execute(sa.delete(pipelines).where(pipelines.c.name == row["name"]))
    conn.execute(sa.insert(pipelines).values(**row))
    conn.execute(sa.delete(pipeline_inputs).where(pipeline_inputs.c.pipeline == row["name"]))
    rows = [{"pipeline": row["name"], "repo": r, "branch": b} for r, b in dict.fromkeys(inputs)]
    if rows:
        conn.execute(sa.insert(pipeline_inputs), rows)


def delete_pipeline(conn: Connection, name: str) -> None:
    job_ids = sa.select(jobs.c.id).where(jobs.c.pipeline == name)
    conn.execute(sa.delete(datums).where(datums.c.job.in_(job_ids)))
    conn.execute(sa.delete(jobs).where(jobs.c.pipeline == name))
    conn.execute(sa.delete(pipeline_inputs).where(pipeline_inputs.c.pipeline == name))
    conn.execute(sa.delete(pipelines).where(pipelines.c.name == name))


def subscribers(conn: Connection, repo: str, branch: str) -> list[str]:
    """Pipelines with ``repo@branch`` among their inputs."""
    return list(
        conn.execute(
            sa.select(pipeline_inputs.c.pipeline)
            .where(pipeline_inputs.c.repo == repo, pipeline_inputs.c.branch == branch)
            .order_by(pipeline_inputs.c.pipeline)
        ).scalars()
    )


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


def insert_job(conn: Connection, **values: Any) -> None:
    values.setdefault("created_at", time.time())
    values.setdefault("state", "created")
    conn.execute(sa.insert(jobs).values(**values))


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


def update_job(conn: Connection, job_id: str, **values: Any) -> None:
    conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(**values))


def blocked_by(conn: Connection, job_id: str) -> Sequence[Row[Any]]:
    return conn.execute(
        sa.select(jobs).where(jobs.c.blocked_on == job_id, jobs.c.state == "created")
    ).all()


def job_for_output(conn: Connection, commit: str) -> Row[Any] | None:
    return conn.execute(sa.select(jobs).where(jobs.c.output_commit == commit)).first()


def claim_job(conn: Connection, owner: str, lease_s: float) -> Row[Any] | None:
    """Take the oldest runnable job (created, or running with an expired lease) whose pipeline
    has no other job running under a live lease; returns it with the lease set, or None."""
    now = time.time()
    busy = (
        sa.select(jobs.c.pipeline)
        .where(jobs.c.state == "running", jobs.c.lease_expires >= now)
        .scalar_subquery()
    )
    runnable = (
        sa.select(jobs)
        .where(
            jobs.c.blocked_on.is_(None),
            sa.or_(
                jobs.c.state == "created",
                sa.and_(jobs.c.state == "running", jobs.c.lease_expires < now),
            ),
            jobs.c.pipeline.not_in(busy),
        )
        .order_by(jobs.c.created_at, jobs.c.id)
    )
    for row in conn.execute(runnable).all():
        older = conn.execute(
            sa.select(jobs.c.id)
            .where(
                jobs.c.pipeline == row.pipeline,
                jobs.c.state.in_(("created", "running")),
                jobs.c.created_at < row.created_at,
            )
            .limit(1)
        ).first()
        if older is not None:  # jobs of one pipeline run in creation order
            continue
        res = conn.execute(
            sa.update(jobs)
            .where(
                jobs.c.id == row.id,
                jobs.c.state == row.state,
                jobs.c.lease_owner.is_(row.lease_owner)
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
            return get_job(conn, row.id)
    return None


def renew_lease(conn: Connection, job_id: str, owner: str, lease_s: float) -> bool:
    res = conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.lease_owner == owner, jobs.c.state == "running")
        .values(lease_expires=time.time() + lease_s)
    )
    return res.rowcount == 1


def pending_jobs(conn: Connection, root_commit: str | None = None) -> Sequence[Row[Any]]:
    q = sa.select(jobs).where(jobs.c.state.in_(("created", "running")))
    if root_commit is not None:
        q = q.where(jobs.c.root_commit == root_commit)
    return conn.execute(q.order_by(jobs.c.created_at)).all()


def jobs_by_root(conn: Connection, root_commit: str) -> Sequence[Row[Any]]:
    return conn.execute(
        sa.select(jobs).where(jobs.c.root_commit == root_commit).order_by(jobs.c.created_at)
    ).all()


# -- datums -------------------------------------------------------------------------------------


def insert_datums(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert datum rows (missing columns are NULL/default: executemany needs equal keys)."""
    if rows:
        blank = {
            "outputs": None,
            "notebook": None,
            "log": None,
            "error": None,
            "tries": 0,
            "duration": 0.0,
            "reused_from": None,
        }
        conn.execute(sa.insert(datums), [{**blank, **r} for r in rows])


def job_datums(
    conn: Connection, job_id: str, limit: int | None = None, offset: int = 0
) -> Sequence[Row[Any]]:
    q = sa.select(datums).where(datums.c.job == job_id).order_by(datums.c.id).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return conn.execute(q).all()


def get_datum(conn: Connection, job_id: str, datum_id: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(datums).where(datums.c.job == job_id, datums.c.id.startswith(datum_id))
    ).first()


def last_success(conn: Connection, pipeline: str) -> Row[Any] | None:
    return conn.execute(
        sa.select(jobs)
        .where(jobs.c.pipeline == pipeline, jobs.c.state == "success")
        .order_by(jobs.c.finished_at.desc())
        .limit(1)
    ).first()


def all_datum_refs(conn: Connection) -> Sequence[Row[Any]]:
    """Executed-notebook and log refs of every datum (gc keeps them)."""
    return conn.execute(sa.select(datums.c.notebook, datums.c.log)).all()
