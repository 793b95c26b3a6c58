"""Typed records of the pipeline tables' rows: what the functions of :mod:`..state` return.

A SQLAlchemy ``Row`` carries no column types (``Row[Any]``), so the rows leave this package as
named tuples with one typed field per column, in the table's column order: each is made from a
``select(table)`` row by ``Record._make(row)`` here, in :mod:`.job_rows` and :mod:`.datum_rows`,
and nowhere else (``tests/test_state_rows.py`` checks the fields against the tables). Named
tuples keep the rows' attribute access and cost no more than the rows to build; text columns
holding JSON stay text (``loads`` reads them where they are used).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from sqlalchemy.engine import Row

if TYPE_CHECKING:
    from ..records import JobState

__all__ = ["DatumRow", "GlobalCommitRow", "JobRow", "PipelineRow", "record", "records"]


class PipelineRow(NamedTuple):
    """A row of ``pipelines``: the current version of a pipeline (``spec``: canonical JSON)."""

    name: str
    version: int
    spec: str
    spec_commit: str
    salt: str
    output_branch: str
    created_at: float
    updated_at: float


class JobRow(NamedTuple):
    """A row of ``jobs`` (``inputs`` and ``error`` are JSON text)."""

    id: str
    pipeline: str
    version: int
    spec_commit: str
    state: JobState
    reason: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    inputs: str | None
    output_commit: str | None
    blocked_on: str | None
    global_id: str | None
    reprocess: bool
    lease_owner: str | None
    lease_expires: float | None
    total: int
    processed: int
    skipped: int
    failed: int
    error: str | None
    success_seq: int | None
    base_seq: int | None
    datum_key: str | None


class DatumRow(NamedTuple):
    """A row of ``datums`` (``inputs``, ``outputs``, ``error``: JSON text; see :mod:`..state`
    for the ``live_from``/``live_to`` intervals)."""

    job: str
    id: str
    pipeline: str
    hash: str
    state: str
    inputs: str
    outputs: str | None
    notebook: str | None
    log: str | None
    error: str | None
    tries: int
    duration: float
    reused_from: str | None
    live_from: int | None
    live_to: int | None


class GlobalCommitRow(NamedTuple):
    """A row of ``global_commits``."""

    id: str
    created_at: float
    repo: str | None
    branch: str | None
    commit: str | None
    cause: str


R = TypeVar("R", PipelineRow, JobRow, DatumRow, GlobalCommitRow)


def record(kind: type[R], row: Row[Any] | None) -> R | None:
    """``row`` (of ``select(table)``) as a record of ``kind``; ``None`` stays ``None``."""
    return None if row is None else kind._make(row)


def records(kind: type[R], rows: Iterable[Row[Any]]) -> list[R]:
    """Every row (of ``select(table)``) as a record of ``kind``."""
    make = kind._make
    return [make(r) for r in rows]
