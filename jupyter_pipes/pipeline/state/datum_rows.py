"""Datum rows, versioned by intervals of success numbers (see :mod:`..state`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .rows import DatumRow, JobRow, records
from .tables import datums, jobs, loads

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
    """Insert datum rows (missing columns are NULL/default: executemany needs equal keys); a
    restart request of a datum whose result this is goes (its run ended first)."""
    if rows:
        clear_restart_requests(conn, rows[0]["job"], {r["id"] for r in rows})
        clear_running(conn, rows[0]["job"], [r["id"] for r in rows])
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
) -> dict[str, DatumRow]:
    """The current (reusable) row of each datum, of the given ids or all."""
    base = sa.select(datums).where(
        datums.c.pipeline == pipeline,
        datums.c.live_to.is_(None),
        datums.c.live_from.is_not(None),
    )
    if ids is None:
        return {r.id: r for r in records(DatumRow, conn.execute(base))}
    out: dict[str, DatumRow] = {}
    id_list = list(ids)
    for i in range(0, len(id_list), 500):
        for r in records(DatumRow, conn.execute(base.where(datums.c.id.in_(id_list[i : i + 500])))):
            out[r.id] = r
    return out


def _job_listing(job: JobRow) -> Any:
    """A query of every datum row of a job (see the module docstring), or None."""
    if job.success_seq is not None:
        return sa.select(datums).where(_live_at(job.pipeline, job.success_seq))
    hidden = ("removed", RESTART) if job.state == "running" else ("removed", RESTART, RUNNING)
    own = sa.select(datums).where(datums.c.job == job.id, datums.c.state.not_in(hidden))
    if job.base_seq is None:
        return own
    replaced = sa.select(datums.c.id).where(datums.c.job == job.id)
    inherited = sa.select(datums).where(
        _live_at(job.pipeline, job.base_seq), datums.c.id.not_in(replaced)
    )
    return sa.union_all(own, inherited)


def job_datums(
    conn: Connection, job: JobRow, limit: int | None = None, offset: int = 0
) -> list[DatumRow]:
    """Every datum of a job (those it reused included), by id."""
    q = _job_listing(job).subquery()
    stmt = sa.select(q).order_by(q.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return records(DatumRow, conn.execute(stmt))


def get_datum(conn: Connection, job: JobRow, datum_id: str) -> DatumRow | None:
    q = _job_listing(job).subquery()
    found = records(
        DatumRow,
        conn.execute(
            sa.select(q)
            .where(q.c.id.startswith(datum_id, autoescape=True))
            .order_by(q.c.id)
            .limit(1)
        ),
    )
    return found[0] if found else None


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


def all_datum_refs(conn: Connection) -> list[tuple[str | None, str | None]]:
    """Executed-notebook and log refs of every datum (gc keeps them): ``(notebook, log)``."""
    return [(n, log) for n, log in conn.execute(sa.select(datums.c.notebook, datums.c.log))]


# -- rows of a running job ----------------------------------------------------------------------

RESTART = "restart"
"""The state of a request row: ``restart datum`` asked for the datum's run to start again; the
job's controller takes (deletes) it. Never listed, never counted."""


def clear_job_datums(conn: Connection, job_id: str) -> None:
    """Delete a job's rows (a job taken over after its controller died runs again from the
    start, writing its rows again)."""
    conn.execute(sa.delete(datums).where(datums.c.job == job_id))


def make_live(conn: Connection, job_id: str, seq: int) -> None:
    """A successful job's rows become its pipeline's current datums from success ``seq``."""
    conn.execute(
        sa.update(datums)
        .where(datums.c.job == job_id, datums.c.state.not_in(("removed", RUNNING)))
        .values(live_from=seq)
    )


def request_restart(conn: Connection, job: JobRow, datum_id: str) -> None:
    """Ask the controller running ``job`` to restart datum ``datum_id`` (the request takes
    the place of its running mark: the controller marks it again)."""
    clear_running(conn, job.id, [datum_id])
    conn.execute(
        sa.insert(datums).values(
            **{**_BLANK, "job": job.id, "id": datum_id, "pipeline": job.pipeline, "hash": "",
               "state": RESTART, "inputs": "[]"}
        )
    )  # fmt: skip


def restart_requests(conn: Connection, job_id: str) -> list[str]:
    """The datums of ``job_id`` waiting for a restart."""
    return list(
        conn.execute(
            sa.select(datums.c.id).where(datums.c.job == job_id, datums.c.state == RESTART)
        ).scalars()
    )


def clear_restart_requests(conn: Connection, job_id: str, ids: Iterable[str] | None) -> None:
    """Take restart requests (of these datums, or all) of a job."""
    q = sa.delete(datums).where(datums.c.job == job_id, datums.c.state == RESTART)
    if ids is None:
        conn.execute(q)
        return
    if not restart_requests(conn, job_id):  # the usual case: one cheap query
        return
    id_list = list(ids)
    for i in range(0, len(id_list), 500):
        conn.execute(q.where(datums.c.id.in_(id_list[i : i + 500])))


RUNNING = "running"
"""The state of a running mark: the datum runs now. The controller of the job writes the marks
(:func:`mark_running`) while it runs; a datum's result takes the place of its mark, and the
job's end removes the rest. ``outputs`` holds ``{"started": epoch, "worker": address}``."""


def running_marks(conn: Connection, job_id: str) -> set[str]:
    """The datums of ``job_id`` marked running."""
    return set(
        conn.execute(
            sa.select(datums.c.id).where(datums.c.job == job_id, datums.c.state == RUNNING)
        ).scalars()
    )


def mark_running(conn: Connection, job_id: str, rows: dict[str, dict[str, Any]]) -> None:
    """Make the running marks of ``job_id`` those of ``rows`` (datum id -> its row: ``job``,
    ``id``, ``pipeline``, ``hash``, ``inputs``, ``outputs``); a datum with a row of the job
    already (its result, a restart request) is not marked."""
    marked = running_marks(conn, job_id)
    gone = marked - set(rows)
    if gone:
        clear_running(conn, job_id, gone)
    new = [i for i in rows if i not in marked]
    if not new:
        return
    have: set[str] = set()
    for i in range(0, len(new), 500):
        have.update(
            conn.execute(
                sa.select(datums.c.id).where(
                    datums.c.job == job_id, datums.c.id.in_(new[i : i + 500])
                )
            ).scalars()
        )
    insert = [{**_BLANK, **rows[i], "state": RUNNING} for i in new if i not in have]
    if insert:
        conn.execute(sa.insert(datums), insert)


def clear_running(conn: Connection, job_id: str, ids: Iterable[str] | None = None) -> None:
    """Remove running marks of a job (of these datums, or all)."""
    q = sa.delete(datums).where(datums.c.job == job_id, datums.c.state == RUNNING)
    if ids is None:
        conn.execute(q)
        return
    id_list = list(ids)
    for i in range(0, len(id_list), 500):
        conn.execute(q.where(datums.c.id.in_(id_list[i : i + 500])))
