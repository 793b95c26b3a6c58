"""Metrics across model versions: the numbers of a pipeline's metric files, per output commit.

A pipeline declares metric files in its spec (``metrics: [/metrics.json]``): JSON objects whose
numbers (nested objects flattened to ``a.b``) are its metrics. The controller indexes them in
the transaction that makes each output commit (:func:`record`, a row per number in the
``metrics`` table of the pipeline layer's migration chain), so listing them over a branch's
history is one query. Values that are not numbers (strings, lists, booleans) are left out, as
DVC does; a metric file that is missing or not a JSON object indexes nothing (the job still
succeeds, and the controller logs why).

Reading: a revert commit has the metrics of the commit it restores; an output commit with no
rows (made before the pipeline declared metrics, or before this table existed) is read from
its files when listed (``MetricsInfo.indexed`` is then false).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import NotFound
from ..store.datum_io import read_blob
from ..store.records import CommitInfo, _Record
from ..store.refs import parse_ref
from . import state

if TYPE_CHECKING:
    from ..store.datum_io import CommitTrees, Token
    from ..store.store import Store
    from .manager import Pipelines

log = logging.getLogger(__name__)
md = state.md  # the pipeline chain's tables (a test compares them with its migrations)

metrics = sa.Table(
    "metrics",
    md,
    sa.Column("commit", sa.String(32), primary_key=True),
    sa.Column("file", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("pipeline", sa.String(63), nullable=False),
    sa.Column("value", sa.Float, nullable=False),
    sa.Index("ix_metrics_pipeline", "pipeline"),
)
"""One row per number of a metric file of an output commit."""

MAX_VALUES = 1000
"""Numbers indexed per metric file (the rest are left out, and logged)."""
MAX_FILE_BYTES = 1024 * 1024
"""A metric file larger than this is not read."""

Row = tuple[str, str, float]
"""(file, name, value)."""


@dataclass(frozen=True, slots=True)
class MetricsInfo(_Record):
    """The metrics of one commit of a pipeline's output branch."""

    commit: str
    repo: str
    branch: str | None
    origin: str
    message: str
    time: datetime | None
    values: dict[str, float] = field(default_factory=dict)
    """Metric name -> value (``file:name`` when the pipeline declares several files)."""
    source: str | None = None
    """The commit the values were indexed for (for a revert: the commit it restores)."""
    indexed: bool = True
    """False when the values were read from the commit's files (no rows were indexed)."""
    global_id: str | None = None


def flatten_numbers(doc: Any, prefix: str = "") -> list[tuple[str, float]]:
    """The numbers of a JSON value as ``(dotted.name, value)``; booleans, strings, lists, NaN
    and infinities are left out."""
    out: list[tuple[str, float]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += flatten_numbers(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(doc, int | float) and not isinstance(doc, bool):
        value = float(doc)
        if math.isfinite(value) and prefix:
            out.append((prefix, value))
    return out


def parse(path: str, data: bytes | None) -> list[Row]:
    """The rows of one metric file's bytes (``[]`` with a log line when it is unusable)."""
    if data is None:
        log.info("metric file %s is missing from the output", path)
        return []
    if len(data) > MAX_FILE_BYTES:
        log.warning("metric file %s is larger than %d bytes: not indexed", path, MAX_FILE_BYTES)
        return []
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        log.warning("metric file %s is not JSON: not indexed", path)
        return []
    if not isinstance(doc, dict):
        log.warning("metric file %s is not a JSON object: not indexed", path)
        return []
    found = [(n, v) for n, v in flatten_numbers(doc) if len(n) <= 255]
    if len(found) > MAX_VALUES:
        log.warning(
            "metric file %s has %d numbers: the first %d indexed", path, len(found), MAX_VALUES
        )
    return [(path, n, v) for n, v in found[:MAX_VALUES]]


def collect(paths: Sequence[str] | None, read: Callable[[str], bytes | None]) -> list[Row]:
    """The metric rows of an output: ``read(path)`` gives a file's bytes (``None``: absent)."""
    rows: list[Row] = []
    for p in paths or ():
        rows += parse(p, read(p))
    return rows


def output_rows(
    store: Store,
    trees: CommitTrees,
    paths: Sequence[str] | None,
    puts: dict[str, Token],
    base: str | None,
    deleted: Iterable[str] = (),
) -> list[Row]:
    """The metric rows of an output commit about to be made: a metric file written by this job
    is in ``puts`` (path -> token); one kept from the ``base`` output commit (unless
    ``deleted``) is read from there. Never raises: a metric file that cannot be read indexes
    nothing (logged), and the job still succeeds."""
    if not paths:
        return []
    gone = set(deleted)

    def read(path: str) -> bytes | None:
        tok = puts.get(path)
        if tok is None and base is not None and path not in gone:
            m = trees.lookup(base, path)
            tok = m.token if m is not None and not m.path.endswith("/") else None
        if tok is None:
            return None
        size, refs = (tok[0], tok[2]) if len(tok) == 3 else (tok[1], tok[3])
        if len(tok) != 3 and tok[0]:
            return None  # a directory
        if size > MAX_FILE_BYTES:
            log.warning("metric file %s is larger than %d bytes: not indexed", path, MAX_FILE_BYTES)
            return None
        return b"".join(read_blob(store, r) for r in refs)

    try:
        return collect(paths, read)
    except Exception:  # metrics are an index: never fail the job for them
        log.warning("metric files %s could not be read: not indexed", list(paths), exc_info=True)
        return []


def record(conn: Connection, pipeline: str, commit: str, rows: Iterable[Row]) -> None:
    """Index ``rows`` for output commit ``commit`` (inside the transaction that makes it)."""
    values = [
        {"commit": commit, "file": f, "name": n, "pipeline": pipeline, "value": v}
        for f, n, v in rows
    ]
    if values:
        conn.execute(sa.insert(metrics), values)


def rows_of(conn: Connection, commits: Sequence[str]) -> dict[str, list[Row]]:
    """Indexed rows by commit."""
    out: dict[str, list[Row]] = {}
    for i in range(0, len(commits), 500):
        q = sa.select(metrics.c.commit, metrics.c.file, metrics.c.name, metrics.c.value).where(
            metrics.c.commit.in_(commits[i : i + 500])
        )
        for c, f, n, v in conn.execute(q):
            out.setdefault(c, []).append((f, n, v))
    return out


def _values(rows: list[Row], files: Sequence[str]) -> dict[str, float]:
    several = len({f for f, _, _ in rows} | set(files)) > 1
    return {(f"{f}:{n}" if several else n): v for f, n, v in sorted(rows)}


def list_metrics(
    store: Store, pipelines: Pipelines, branch_ref: str, *, limit: int | None = 50
) -> list[MetricsInfo]:
    """The metrics of each commit of ``repo@branch``, newest first (see the module docstring)."""
    ref = parse_ref(branch_ref)
    if not pipelines.is_pipeline(ref.repo):
        raise NotFound(
            f"repo {ref.repo!r} is not a pipeline's output: it has no metrics", repo=ref.repo
        )
    files = list(pipelines.spec(ref.repo).metrics or [])
    commits = store.list_commit(ref, limit=limit)
    by_id: dict[str, CommitInfo] = {c.id: c for c in commits}

    def source(c: CommitInfo) -> CommitInfo:
        hops = 0
        while c.origin == "revert" and c.restores and hops < 64:
            nxt = by_id.get(c.restores)
            if nxt is None:
                try:
                    nxt = store.inspect_commit_id(c.restores)
                except NotFound:
                    break
                by_id[nxt.id] = nxt
            c, hops = nxt, hops + 1
        return c

    sources = {c.id: source(c) for c in commits}
    with store.meta.read() as conn:
        indexed = rows_of(conn, sorted({s.id for s in sources.values()}))
    out = []
    for c in commits:
        src = sources[c.id]
        rows = indexed.get(src.id)
        was_indexed = rows is not None
        if rows is None and files and src.origin == "auto":
            rows = _read_rows(store, src, files)
        out.append(
            MetricsInfo(
                commit=c.id,
                repo=c.repo,
                branch=c.branch,
                origin=c.origin,
                message=c.message,
                time=c.finished or c.started,
                values=_values(rows or [], files),
                source=src.id,
                indexed=was_indexed,
                global_id=getattr(c, "global_id", None),
            )
        )
    return out


def commit_metrics(store: Store, pipelines: Pipelines, ref: str) -> MetricsInfo:
    """The metrics of one commit (what the revert dialog shows for its target and the head)."""
    c = store.resolve(parse_ref(ref))
    found = list_metrics(store, pipelines, f"{c.repo}@{c.id}", limit=1)
    if not found:  # pragma: no cover - list_commit of a commit always returns it
        raise NotFound(f"commit {c.repo}@{c.id} not found", commit=c.id)
    return found[0]


def _read_rows(store: Store, c: CommitInfo, files: Sequence[str]) -> list[Row]:
    ref = parse_ref(f"{c.repo}@{c.id}")

    def read(path: str) -> bytes | None:
        try:
            info = store.inspect_file(ref, path)
            if info.type != "file" or info.size_bytes > MAX_FILE_BYTES:
                return None
            return store.get_file(ref, path)
        except NotFound:
            return None

    return collect(files, read)


__all__ = [
    "MetricsInfo",
    "collect",
    "commit_metrics",
    "flatten_numbers",
    "list_metrics",
    "metrics",
    "output_rows",
    "parse",
    "record",
]
