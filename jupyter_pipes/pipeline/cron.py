"""Cron inputs: the controller commits ticks to each cron repo on schedule, as Pachyderm does.

A tick is an empty file named by its time in RFC 3339 (``2024-05-01T02:00:00Z``) committed to
``master`` of the cron repo (``overwrite``: the only file there). Each tick file is a datum of
the pipeline (glob ``/*``), and the commit triggers the pipeline like any other. Schedules are
Pachyderm's (robfig/cron ``ParseStandard``): five fields (minute hour day-of-month month
day-of-week, names allowed), ``@yearly`` ``@monthly`` ``@weekly`` ``@daily`` ``@hourly``,
``@every <duration>`` and ``@never``; times are UTC.

The next tick follows the latest tick in the repo (or the input's ``start``). Pachyderm commits
every missed tick one after the other when it comes back; here ticks missed while no controller
ran are not replayed: the latest due tick is committed, once.

:class:`CronTicker` is what a controller calls each time round its loop: it rereads the
pipelines now and then, keeps the next due time of every cron input in memory, and touches the
store only when a tick is due.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..store.store import Store
    from .spec import CronInput, PipelineSpec

__all__ = ["CronTicker", "Schedule", "parse_time", "schedule", "tick_name"]

_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}  # fmt: skip
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


class Schedule(Protocol):
    """When ticks happen."""

    def next(self, after: datetime) -> datetime | None:
        """The first tick strictly after ``after`` (``None``: never again)."""


@dataclass(frozen=True)
class _Every:
    seconds: float

    def next(self, after: datetime) -> datetime | None:
        # robfig/cron's ConstantDelaySchedule: whole seconds after the previous tick
        return after.replace(microsecond=0) + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class _Never:
    def next(self, after: datetime) -> datetime | None:
        return None


@dataclass(frozen=True)
class _Cron:
    expression: str

    def next(self, after: datetime) -> datetime | None:
        from croniter import croniter

        nxt: datetime = croniter(self.expression, after).get_next(datetime)
        return nxt


def schedule(spec: str) -> Schedule:
    """The schedule of a cron input's ``spec``; raises ValueError naming the problem."""
    from croniter import croniter

    from .spec.units import parse_duration

    text = spec.strip()
    if text == "@never":
        return _Never()
    if text.startswith("@every"):
        seconds = parse_duration(text[len("@every") :].strip())
        if seconds < 1:
            raise ValueError(f"@every needs at least one second, got {spec!r}")
        return _Every(round(seconds))
    expression = _DESCRIPTORS.get(text, text)
    if len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ValueError(
            f"invalid cron schedule {spec!r}: use five fields (minute hour day month weekday), "
            "e.g. '0 2 * * *', or @daily, @hourly, '@every 10m', @never"
        )
    return _Cron(expression)


def parse_time(text: str) -> datetime:
    """A UTC time from RFC 3339 text (``2024-05-01T02:00:00Z``); ValueError otherwise."""
    if not _RFC3339.fullmatch(text):
        raise ValueError(f"invalid time {text!r}: use RFC 3339, e.g. '2024-05-01T02:00:00Z'")
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def tick_name(at: datetime) -> str:
    """The file name of a tick: its time in RFC 3339, UTC, whole seconds (Go's layout)."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def latest_tick(store: Store, repo: str) -> datetime | None:
    """The time of the newest tick file on ``repo@master`` (``None`` if it has none)."""
    from ..errors import NotFound
    from ..store.refs import Ref

    try:
        files = store.list_file(Ref(repo, "master"), "/")
    except NotFound:
        return None
    times = []
    for f in files:
        try:
            times.append(parse_time(f.path.strip("/")))
        except ValueError:
            continue  # a file put there by hand: not a tick
    return max(times, default=None)


def commit_tick(store: Store, cron: CronInput, at: datetime) -> str:
    """Commit the tick ``at`` to the cron repo; the commit id."""
    with store.start_commit(cron.repo, "master", message=f"cron tick {tick_name(at)}") as oc:
        if cron.overwrite:
            for f in store_files(store, cron.repo):
                oc.delete_file(f)
        oc.put_file("/" + tick_name(at), b"")
    return oc.id


def store_files(store: Store, repo: str) -> list[str]:
    """The top-level entries of ``repo@master`` (none if the branch has no commit)."""
    from ..errors import NotFound
    from ..store.refs import Ref

    try:
        return [f.path.rstrip("/") for f in store.list_file(Ref(repo, "master"), "/")]
    except NotFound:
        return []


@dataclass
class _Entry:
    cron: CronInput
    start: datetime
    due: datetime | None  # next tick time (None: never); filled lazily


class CronTicker:
    """Commits due ticks of every cron input of a store's pipelines.

    Parameters
    ----------
    store : Store
        The store.
    specs : callable
        Returns the current ``{name: PipelineSpec}`` of every pipeline.
    rescan_s : float
        How often the pipelines are reread (a new or updated pipeline waits at most that long).
    """

    def __init__(
        self, store: Store, specs: _Specs, *, rescan_s: float = 2.0, clock: _Clock = time.time
    ) -> None:
        self.store = store
        self.specs = specs
        self.rescan_s = rescan_s
        self.clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._scanned = float("-inf")

    def run(self) -> list[str]:
        """Commit the ticks that are due now; the ids of the commits made."""
        now_s = self.clock()
        if now_s - self._scanned >= self.rescan_s:
            self._rescan(now_s)
        now = datetime.fromtimestamp(now_s, timezone.utc)
        made = []
        for entry in self._entries.values():
            if entry.due is None or entry.due > now:
                continue
            # The latest tick due by now, once (missed ticks are not replayed).
            at = entry.due
            sched = schedule(entry.cron.spec)
            while (nxt := sched.next(at)) is not None and nxt <= now:
                at = nxt
            if (latest := latest_tick(self.store, entry.cron.repo)) is None or latest < at:
                made.append(commit_tick(self.store, entry.cron, at))  # else: another controller
            entry.due = sched.next(at)
        return made

    def _rescan(self, now_s: float) -> None:
        self._scanned = now_s
        found: dict[tuple[str, str], _Entry] = {}
        for name, spec in self.specs().items():
            for cron in spec.cron_inputs():
                key = (name, cron.repo)
                old = self._entries.get(key)
                if old is not None and old.cron == cron:
                    found[key] = old
                    continue
                start = parse_time(cron.start) if cron.start else _created(spec, now_s)
                latest = latest_tick(self.store, cron.repo)
                base = max(start, latest) if latest is not None else start
                found[key] = _Entry(cron, start, schedule(cron.spec).next(base))
        self._entries = found


def _created(spec: PipelineSpec, now_s: float) -> datetime:
    return datetime.fromtimestamp(now_s, timezone.utc)


class _Specs(Protocol):
    def __call__(self) -> dict[str, PipelineSpec]: ...


class _Clock(Protocol):
    def __call__(self) -> float: ...
