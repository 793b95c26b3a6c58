"""The serving log and the replica registry: the serving layer's only SQL.

Three tables in the store's metadata database (the pipeline layer's, like jobs and datums):

- ``serving_replicas``: one row per endpoint process (its URL, the commit answering now,
  totals), updated by a heartbeat every few seconds — never per request.
- ``serving_log``: append-only, one row per (replica, time window, commit) that served
  requests: counts, errors, latency percentiles and the mergeable histogram behind them.
  Written once per window from memory (:mod:`.stats`), so a busy endpoint costs the database
  one small insert per window.
- ``serving_events``: append-only, one row per start, load, swap, failed load and stop.

Bounded: rows older than the retention (30 days by default) are deleted by the endpoints as
they write. "Which model answered at 10:00" is :meth:`ServingLog.served_at`.

The tables belong to the pipeline layer's migration chain (``pipeline/migrations``, revision
0002): they are defined on its ``MetaData`` and made only by that migration.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa

from ...errors import NotFound
from ...store.metadata import Metadata
from ...store.records import utc
from .. import state
from .records import (
    EventKind,
    ReplicaAt,
    ReplicaInfo,
    ReplicaState,
    ServedAt,
    ServiceInfo,
    ServingEvent,
    ServingWindow,
)
from .stats import Histogram, Window

md = state.md  # the pipeline chain's tables (a test compares them with its migrations)

replicas = sa.Table(
    "serving_replicas",
    md,
    sa.Column("service", sa.String(63), primary_key=True),
    sa.Column("replica", sa.String(64), primary_key=True),
    sa.Column("ref", sa.String(200), nullable=False),
    sa.Column("pipeline", sa.String(63), nullable=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("hostname", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("token", sa.Boolean, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("commit", sa.String(32), nullable=True),
    sa.Column("loaded_at", sa.Float, nullable=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
    sa.Column("heartbeat_s", sa.Float, nullable=False),
    sa.Column("stopped_at", sa.Float, nullable=True),
    sa.Column("requests", sa.BigInteger, nullable=False, default=0),
    sa.Column("errors", sa.BigInteger, nullable=False, default=0),
    sa.Column("rate", sa.Float, nullable=False, default=0.0),
    sa.Column("last_error", sa.Text, nullable=True),
)
windows = sa.Table(
    "serving_log",
    md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(63), nullable=False),
    sa.Column("replica", sa.String(64), nullable=False),
    sa.Column("window_start", sa.Float, nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("commit", sa.String(32), nullable=True),
    sa.Column("requests", sa.BigInteger, nullable=False),
    sa.Column("errors", sa.BigInteger, nullable=False),
    sa.Column("p50_ms", sa.Float, nullable=True),
    sa.Column("p90_ms", sa.Float, nullable=True),
    sa.Column("p99_ms", sa.Float, nullable=True),
    sa.Column("max_ms", sa.Float, nullable=True),
    sa.Column("total_ms", sa.Float, nullable=False),
    sa.Column("histogram", sa.Text, nullable=False),
    sa.Column("error_sample", sa.Text, nullable=True),
    sa.Index("ix_serving_log_service_start", "service", "window_start"),
)
events = sa.Table(
    "serving_events",
    md,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service", sa.String(63), nullable=False),
    sa.Column("replica", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("commit", sa.String(32), nullable=True),
    sa.Column("previous", sa.String(32), nullable=True),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.Column("seconds", sa.Float, nullable=True),
    sa.Index("ix_serving_events_service_at", "service", "at"),
)


class ReplicaRow(NamedTuple):
    """A row of ``serving_replicas`` (from ``select(replicas)``, columns in order)."""

    service: str
    replica: str
    ref: str
    pipeline: str | None
    url: str
    hostname: str
    pid: int
    definition: str
    token: bool
    state: ReplicaState
    commit: str | None
    loaded_at: float | None
    started_at: float
    heartbeat_at: float
    heartbeat_s: float
    stopped_at: float | None
    requests: int
    errors: int
    rate: float
    last_error: str | None


class WindowRow(NamedTuple):
    """A row of ``serving_log`` (from ``select(windows)``, columns in order)."""

    id: int
    service: str
    replica: str
    window_start: float
    seconds: float
    commit: str | None
    requests: int
    errors: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    total_ms: float
    histogram: str
    error_sample: str | None


class EventRow(NamedTuple):
    """A row of ``serving_events`` (from ``select(events)``, columns in order)."""

    id: int
    service: str
    replica: str
    at: float
    kind: EventKind
    commit: str | None
    previous: str | None
    detail: str
    seconds: float | None


RETENTION_S = 30 * 86400.0
"""Default age after which log rows, events and stopped replicas are deleted."""
_STATE_RANK = {"ready": 0, "draining": 1, "loading": 2, "failing": 3, "lost": 4, "stopped": 5}
_MODEL_KINDS = ("load", "swap")


class ServingLog:
    """Writes (from endpoints) and queries (for the Client) of the serving tables."""

    def __init__(self, meta: Metadata) -> None:
        self.meta = meta
        meta.ensure_schema(state.CHAIN)  # one query when the database is current

    # -- writes --------------------------------------------------------------------------------

    def register(self, row: dict[str, Any]) -> None:
        """Insert (or replace) a replica's row."""
        with self.meta.write() as conn:
            conn.execute(
                sa.delete(replicas).where(
                    replicas.c.service == row["service"], replicas.c.replica == row["replica"]
                )
            )
            conn.execute(sa.insert(replicas).values(**row))

    def update_replica(
        self, service: str, replica: str, written: list[Window] | None = None, **values: Any
    ) -> None:
        """A heartbeat: update a replica's row, and append finished windows, in one
        transaction."""
        with self.meta.write() as conn:
            if values:
                conn.execute(
                    sa.update(replicas)
                    .where(replicas.c.service == service, replicas.c.replica == replica)
                    .values(**values)
                )
            if written:
                conn.execute(
                    sa.insert(windows), [_window_row(service, replica, w) for w in written]
                )

    def event(
        self,
        service: str,
        replica: str,
        kind: str,
        commit: str | None = None,
        previous: str | None = None,
        detail: str = "",
        seconds: float | None = None,
    ) -> None:
        """Append an event."""
        with self.meta.write() as conn:
            conn.execute(
                sa.insert(events).values(
                    service=service, replica=replica, at=time.time(), kind=kind, commit=commit,
                    previous=previous, detail=detail[:2000], seconds=seconds,
                )
            )  # fmt: skip

    def mark_exited(self, service: str, hostname: str, pid: int, detail: str) -> None:
        """A supervisor saw a replica's process end without stopping: mark it stopped (with a
        ``stop`` event) instead of waiting for its heartbeat to go stale."""
        now = time.time()
        with self.meta.write() as conn:
            rows = conn.execute(
                sa.select(replicas.c.replica, replicas.c.commit).where(
                    replicas.c.service == service, replicas.c.hostname == hostname,
                    replicas.c.pid == pid, replicas.c.stopped_at.is_(None),
                )
            ).all()  # fmt: skip
            for r in rows:
                conn.execute(
                    sa.update(replicas)
                    .where(replicas.c.service == service, replicas.c.replica == r.replica)
                    .values(state="stopped", stopped_at=now, last_error=detail)
                )
                conn.execute(
                    sa.insert(events).values(
                        service=service, replica=r.replica, at=now, kind="stop",
                        commit=r.commit, previous=None, detail=detail, seconds=None,
                    )
                )  # fmt: skip

    def prune(self, before: float) -> None:
        """Delete log rows and events older than ``before``, and replicas gone since then."""
        with self.meta.write() as conn:
            conn.execute(sa.delete(windows).where(windows.c.window_start < before))
            conn.execute(sa.delete(events).where(events.c.at < before))
            conn.execute(
                sa.delete(replicas).where(
                    sa.or_(replicas.c.stopped_at < before, replicas.c.heartbeat_at < before)
                )
            )

    # -- reads ---------------------------------------------------------------------------------

    def replicas(self, service: str | None = None, now: float | None = None) -> list[ReplicaInfo]:
        """Replicas (of one service or all), by service then start time."""
        q = sa.select(replicas).order_by(replicas.c.service, replicas.c.started_at)
        if service is not None:
            q = q.where(replicas.c.service == service)
        with self.meta.read() as conn:
            rows = [ReplicaRow._make(r) for r in conn.execute(q)]
        now = time.time() if now is None else now
        return [_replica_info(r, now) for r in rows]

    def services(
        self,
        heads: dict[str, str | None],
        name: str | None = None,
        *,
        include_stopped: bool = False,
    ) -> list[ServiceInfo]:
        """Services with their replicas; ``heads`` maps ``repo@branch`` to its head now."""
        groups: dict[str, list[ReplicaInfo]] = defaultdict(list)
        for r in self.replicas(name):
            groups[r.service].append(r)
        out = []
        for svc, reps in sorted(groups.items()):
            live = [r for r in reps if r.state not in ("stopped", "lost")]
            if not live and not include_stopped and name is None:
                continue
            shown = live or reps
            best = min(shown, key=lambda r: _STATE_RANK[r.state])
            newest = max(reps, key=lambda r: r.started)
            out.append(
                ServiceInfo(
                    name=svc, ref=newest.ref, state=best.state,
                    commits=tuple(dict.fromkeys(r.commit for r in live if r.commit)),
                    head=heads.get(newest.ref), replicas=tuple(reps),
                    requests=sum(r.requests for r in shown), errors=sum(r.errors for r in shown),
                    rate=round(sum(r.rate for r in live), 3),
                    urls=tuple(r.url for r in live), pipeline=newest.pipeline,
                    last_error=next((r.last_error for r in live if r.last_error), None),
                )
            )  # fmt: skip
        if name is not None and not out:
            raise NotFound(f"service {name!r} not found", service=name)
        return out

    def windows(
        self,
        service: str,
        since: float | None = None,
        until: float | None = None,
        limit: int = 1000,
    ) -> list[ServingWindow]:
        """Windows (merged over replicas) overlapping ``[since, until)``, oldest first; the
        newest ``limit`` of them."""
        q = sa.select(windows).where(windows.c.service == service)
        if since is not None:
            q = q.where(windows.c.window_start + windows.c.seconds > since)
        if until is not None:
            q = q.where(windows.c.window_start < until)
        with self.meta.read() as conn:
            rows = [WindowRow._make(r) for r in conn.execute(q.order_by(windows.c.window_start))]
        return _merge(service, rows)[-limit:] if limit else []

    def events(
        self,
        service: str,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[ServingEvent]:
        """Events newest first."""
        q = sa.select(events).where(events.c.service == service)
        if since is not None:
            q = q.where(events.c.at >= since)
        if until is not None:
            q = q.where(events.c.at < until)
        with self.meta.read() as conn:
            rows = conn.execute(q.order_by(events.c.at.desc(), events.c.id.desc()).limit(limit))
            return [_event(EventRow._make(r)) for r in rows]

    def require(self, service: str) -> None:
        """``NotFound`` unless the service has a replica or events on record."""
        with self.meta.read() as conn:
            known = (
                conn.execute(
                    sa.select(replicas.c.replica).where(replicas.c.service == service).limit(1)
                ).first()
                or conn.execute(
                    sa.select(events.c.id).where(events.c.service == service).limit(1)
                ).first()
            )
        if not known:
            raise NotFound(f"service {service!r} not found", service=service)

    def served_at(self, service: str, at: float) -> ServedAt:
        """Which model answered at ``at``: each replica's loaded commit then, and the log's
        windows containing ``at``."""
        self.require(service)
        with self.meta.read() as conn:
            evs = conn.execute(
                sa.select(events)
                .where(events.c.service == service, events.c.at <= at)
                .order_by(events.c.at, events.c.id)
            ).all()
            reps = {
                r.replica: r
                for r in conn.execute(sa.select(replicas).where(replicas.c.service == service))
            }
        state: dict[str, tuple[str | None, float | None, bool]] = {}
        for e in evs:
            if e.kind == "start":
                state[e.replica] = (None, None, True)
            elif e.kind in _MODEL_KINDS:
                state[e.replica] = (e.commit, e.at, True)
            elif e.kind == "stop":
                state[e.replica] = (None, None, False)
        for rid, r in reps.items():  # events pruned, or a replica that died without a stop
            if rid not in state and r.loaded_at is not None and r.loaded_at <= at:
                state[rid] = (r.commit, r.loaded_at, True)
            if rid in state and r.stopped_at is None and r.heartbeat_at + 3 * r.heartbeat_s < at:
                state[rid] = (None, None, False)
        live = tuple(
            ReplicaAt(rid, commit, utc(since))
            for rid, (commit, since, alive) in sorted(state.items())
            if alive
        )
        found = self.windows(service, since=at, until=at + 1e-6)
        return ServedAt(service, utc(at), live, tuple(found))  # type: ignore[arg-type]


def _window_row(service: str, replica: str, w: Window) -> dict[str, Any]:
    h = w.latency
    return {
        "service": service, "replica": replica, "window_start": w.start, "seconds": w.seconds,
        "commit": w.commit, "requests": w.requests, "errors": w.errors,
        "p50_ms": h.percentile(0.5), "p90_ms": h.percentile(0.9), "p99_ms": h.percentile(0.99),
        "max_ms": h.max_ms if h.n else None, "total_ms": h.total_ms,
        "histogram": json.dumps(h.to_json(), separators=(",", ":")),
        "error_sample": w.error_sample,
    }  # fmt: skip


def _merge(service: str, rows: Sequence[WindowRow]) -> list[ServingWindow]:
    groups: dict[tuple[float, float, str | None], list[WindowRow]] = defaultdict(list)
    for r in rows:
        groups[(r.window_start, r.seconds, r.commit)].append(r)
    out = []
    for (start, seconds, commit), rs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][2] or "")
    ):
        h = Histogram()
        for r in rs:
            h.merge(Histogram.from_json(json.loads(r.histogram), r.total_ms, r.max_ms or 0.0))
        p = h.percentile
        out.append(
            ServingWindow(
                service=service, start=utc(start), end=utc(start + seconds),  # type: ignore[arg-type]
                commit=commit, requests=sum(r.requests for r in rs),
                errors=sum(r.errors for r in rs), p50_ms=_ms(p(0.5)), p90_ms=_ms(p(0.9)),
                p99_ms=_ms(p(0.99)), max_ms=_ms(h.max_ms) if h.n else None,
                mean_ms=_ms(h.total_ms / h.n) if h.n else None,
                replicas=len({r.replica for r in rs}),
                error_sample=next((r.error_sample for r in rs if r.error_sample), None),
            )
        )  # fmt: skip
    return out


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _replica_info(r: ReplicaRow, now: float) -> ReplicaInfo:
    state = r.state
    if r.stopped_at is None and r.heartbeat_at + 3 * r.heartbeat_s + 2 < now:
        state = "lost"
    return ReplicaInfo(
        service=r.service, replica=r.replica, ref=r.ref, url=r.url, state=state,
        commit=r.commit, loaded=utc(r.loaded_at), started=utc(r.started_at),  # type: ignore[arg-type]
        heartbeat=utc(r.heartbeat_at), requests=r.requests, errors=r.errors,  # type: ignore[arg-type]
        rate=r.rate, hostname=r.hostname, pid=r.pid, definition=r.definition,
        pipeline=r.pipeline, token=bool(r.token), last_error=r.last_error,
    )  # fmt: skip


def _event(r: EventRow) -> ServingEvent:
    return ServingEvent(
        service=r.service, replica=r.replica, at=utc(r.at), kind=r.kind,  # type: ignore[arg-type]
        commit=r.commit, previous=r.previous, detail=r.detail, seconds=r.seconds,
    )  # fmt: skip
