"""Propagation: the jobs a head move (or a rerun) creates downstream, in one global commit,
in the transaction that moves the head (Pachyderm's propagation; see docs/global-commits.md).

Used by :class:`~.manager.Pipelines` (head hooks, run pipeline) and by its job control
(``rerun job``)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from . import state
from .order import topological_order

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from ..store.txn import Txn


def propagate(
    txn: Txn,
    gid: str,
    start: list[str],
    *,
    pinned: dict[str, str | None],
    root: tuple[str | None, str | None, str | None],
    cause: str,
    reprocess: set[str] | frozenset[str] = frozenset(),
) -> dict[str, str]:
    """One job for every pipeline downstream of ``start`` (inclusive), in global commit
    ``gid``; pipeline -> job id.

    Inputs named in ``pinned`` read that commit; an input another job of ``gid`` (or a pending
    job) writes waits for that job; any other reads its branch's head in ``txn``. The global
    commit's record (``root``: repo, branch, commit; ``cause``) is written with its first job.
    """
    conn = txn.connection
    order, rows, inputs = _closure(conn, start)
    made = {r.pipeline: r.id for r in state.jobs_of_global(conn, gid)}
    produced = {f"{n}@{rows[n].output_branch}": n for n in order}
    outputs: dict[str, state.PipelineRow | None] = {}
    created = False
    for name in order:
        if name in made:
            continue
        pins: dict[str, str | None] = {}
        waits: dict[str, str] = {}
        for repo, branch in inputs[name]:
            key = f"{repo}@{branch}"
            upstream = produced.get(key)
            if key in pinned:
                pins[key] = pinned[key]
            elif upstream is not None and upstream in made:
                waits[key], pins[key] = made[upstream], None
            elif (pending := _pending_output(conn, outputs, repo, branch)) is not None:
                waits[key], pins[key] = pending, None
            else:
                pins[key] = txn.branch_head(repo, branch)
        job_id = uuid.uuid4().hex
        state.insert_job(
            conn,
            waits=waits,
            id=job_id,
            pipeline=name,
            version=rows[name].version,
            spec_commit=rows[name].spec_commit,
            inputs=state.dumps(pins),
            global_id=gid,
            reprocess=name in reprocess,
        )
        made[name] = job_id
        created = True
    if created and state.get_global_commit(conn, gid) is None:
        root_repo, root_branch, root_commit = root
        state.insert_global_commit(
            conn, id=gid, repo=root_repo, branch=root_branch, commit=root_commit, cause=cause
        )
    return made


def _closure(
    conn: Connection, start: list[str]
) -> tuple[list[str], dict[str, state.PipelineRow], dict[str, list[tuple[str, str]]]]:
    """The pipelines downstream of ``start`` (inclusive) in topological order (upstream first,
    then by name), their rows and their input branches."""
    rows: dict[str, state.PipelineRow] = {}
    readers: dict[str, list[str]] = {}
    frontier = list(dict.fromkeys(start))
    while frontier:
        nxt = []
        for name in frontier:
            if name in rows:
                continue
            row = state.get_pipeline(conn, name)
            if row is None:
                continue
            rows[name] = row
            readers[name] = state.subscribers(conn, name, row.output_branch)
            nxt += readers[name]
        frontier = nxt
    inputs = state.inputs_of(conn, rows)
    order = topological_order({n: set(down) for n, down in readers.items()})
    return order, rows, inputs


def _pending_output(
    conn: Connection, cache: dict[str, state.PipelineRow | None], repo: str, branch: str
) -> str | None:
    """The newest pending job whose output will be the next head of ``repo@branch``."""
    if repo not in cache:
        cache[repo] = state.get_pipeline(conn, repo)
    row = cache[repo]
    if row is None or row.output_branch != branch:
        return None
    job = state.newest_pending(conn, repo)
    return job.id if job is not None else None
