"""Global commits and datums versioned by intervals (#11).

* ``jobs.root_commit`` becomes ``jobs.global_id`` (the commit that started a chain of jobs was
  its global commit); ``success_seq`` numbers each pipeline's successful jobs in the order they
  finished; ``base_seq`` and ``datum_key`` are new. ``blocked_on`` stays: it names the upstream
  job of an ``unrunnable`` job; what a pending job still waits for moves to ``job_waits``.
* ``datums`` gain ``pipeline``, ``live_from`` and ``live_to``. Old jobs wrote a row for every
  datum, so each successful job's rows get an interval of their own (``[seq, seq + 1)``; the
  newest success's rows stay current), and every job lists exactly what it listed before.
* ``pipelines.output_branch`` (read from the spec), ``global_commits`` (filled from the old
  jobs' root commits), ``pipes_changes``. Old output commits keep their own id as global id
  (the store's object journal has them so; a rebuild from it must give the same records).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column(
        "pipelines",
        sa.Column("output_branch", sa.String(63), nullable=False, server_default="master"),
    )
    for name, spec in conn.execute(sa.text("SELECT name, spec FROM pipelines")).all():
        branch = json.loads(spec).get("output_branch") or "master"
        conn.execute(
            sa.text("UPDATE pipelines SET output_branch = :b WHERE name = :n"),
            {"b": branch, "n": name},
        )

    op.drop_index("ix_jobs_root", table_name="jobs")
    op.drop_index("ix_jobs_blocked", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("root_commit", new_column_name="global_id", existing_type=sa.String(32))
        batch.add_column(sa.Column("success_seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("base_seq", sa.Integer, nullable=True))
        batch.add_column(sa.Column("datum_key", sa.String(64), nullable=True))
    op.create_index("ix_jobs_global", "jobs", ["global_id"])
    op.create_index("ix_jobs_success", "jobs", ["pipeline", "success_seq"])

    op.create_table(
        "job_waits",
        sa.Column("job", sa.String(32), primary_key=True),
        sa.Column("input", sa.String(130), primary_key=True),
        sa.Column("upstream", sa.String(32), nullable=False),
    )
    op.create_index("ix_job_waits_upstream", "job_waits", ["upstream"])
    op.create_table(
        "global_commits",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("repo", sa.String(63), nullable=True),
        sa.Column("branch", sa.String(63), nullable=True),
        sa.Column("commit", sa.String(32), nullable=True),
        sa.Column("cause", sa.String(16), nullable=False),
    )
    op.create_index("ix_global_commits_branch", "global_commits", ["repo", "branch", "created_at"])
    op.create_table(
        "pipes_changes",
        sa.Column("key", sa.String(16), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )

    op.add_column("datums", sa.Column("pipeline", sa.String(63), nullable=False, server_default=""))
    op.add_column("datums", sa.Column("live_from", sa.Integer, nullable=True))
    op.add_column("datums", sa.Column("live_to", sa.Integer, nullable=True))
    _number_successes(conn)
    _waits_of_blocked_jobs(conn)
    _global_commits(conn)
    op.create_index("ix_datums_pipeline_id", "datums", ["pipeline", "id"])
    op.create_index("ix_datums_live", "datums", ["pipeline", "live_to", "live_from"])


def _number_successes(conn: sa.Connection) -> None:
    jobs = conn.execute(
        sa.text("SELECT id, pipeline, state FROM jobs ORDER BY pipeline, finished_at, created_at")
    ).all()
    by_pipeline: dict[str, list[str]] = {}
    for job_id, pipeline, job_state in jobs:
        conn.execute(
            sa.text("UPDATE datums SET pipeline = :p WHERE job = :j"), {"p": pipeline, "j": job_id}
        )
        if job_state == "success":
            by_pipeline.setdefault(pipeline, []).append(job_id)
    for successes in by_pipeline.values():
        for seq, job_id in enumerate(successes, 1):
            last = seq == len(successes)
            conn.execute(
                sa.text("UPDATE jobs SET success_seq = :s WHERE id = :j"), {"s": seq, "j": job_id}
            )
            conn.execute(
                sa.text("UPDATE datums SET live_from = :s, live_to = :t WHERE job = :j"),
                {"s": seq, "t": None if last else seq + 1, "j": job_id},
            )


def _waits_of_blocked_jobs(conn: sa.Connection) -> None:
    """A pending job blocked on an upstream job waits for its output; its other inputs are
    pinned now (the old code pinned them all when it released the job)."""
    blocked = conn.execute(
        sa.text(
            "SELECT j.id, j.pipeline, j.blocked_on, u.pipeline FROM jobs j "
            "JOIN jobs u ON u.id = j.blocked_on "
            "WHERE j.state = 'created' AND j.blocked_on IS NOT NULL"
        )
    ).all()
    for job_id, pipeline, upstream, upstream_pipeline in blocked:
        out = conn.execute(
            sa.text("SELECT output_branch FROM pipelines WHERE name = :n"),
            {"n": upstream_pipeline},
        ).scalar()
        waiting = f"{upstream_pipeline}@{out or 'master'}"
        pins = {}
        for repo, branch in conn.execute(
            sa.text("SELECT repo, branch FROM pipeline_inputs WHERE pipeline = :p"),
            {"p": pipeline},
        ).all():
            key = f"{repo}@{branch}"
            pins[key] = (
                None
                if key == waiting
                else conn.execute(
                    sa.text("SELECT head FROM branches WHERE repo = :r AND name = :b"),
                    {"r": repo, "b": branch},
                ).scalar()
            )
        conn.execute(
            sa.text("INSERT INTO job_waits (job, input, upstream) VALUES (:j, :i, :u)"),
            {"j": job_id, "i": waiting, "u": upstream},
        )
        conn.execute(
            sa.text("UPDATE jobs SET inputs = :i, blocked_on = NULL WHERE id = :j"),
            {"i": json.dumps(pins, separators=(",", ":"), sort_keys=True), "j": job_id},
        )


def _global_commits(conn: sa.Connection) -> None:
    # a job run by hand had no root commit: its output commit is its own global commit
    conn.execute(
        sa.text(
            "UPDATE jobs SET global_id = output_commit "
            "WHERE global_id IS NULL AND output_commit IS NOT NULL"
        )
    )
    roots = conn.execute(
        sa.text(
            "SELECT DISTINCT j.global_id, c.repo, c.branch, c.started_at FROM jobs j "
            "JOIN commits c ON c.id = j.global_id"
        )
    ).all()
    for gid, repo, branch, started in roots:
        conn.execute(
            sa.text(
                'INSERT INTO global_commits (id, created_at, repo, branch, "commit", cause) '
                "VALUES (:g, :t, :r, :b, :g, 'commit')"
            ),
            {"g": gid, "t": started or time.time(), "r": repo, "b": branch},
        )


def downgrade() -> None:
    raise NotImplementedError("jupyter_pipes migrations go forward only; restore a backup")
