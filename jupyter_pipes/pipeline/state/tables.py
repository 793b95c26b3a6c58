"""The pipeline tables, their migration chain, JSON columns and the change counter."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ...store.schema import Chain
from .. import migrations

md = sa.MetaData()
CHAIN = Chain("pipeline", migrations.__name__, migrations.VERSION_TABLE, "pipelines")
"""The pipeline layer's migration chain (``Metadata.ensure_schema`` runs it)."""

pipelines = sa.Table(
    "pipelines",
    md,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("spec_commit", sa.String(32), nullable=False),
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
