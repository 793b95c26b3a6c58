"""Typed, frozen records of services (endpoints), their replicas and the serving log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from typing import Any, Literal

from ...errors import InvalidArgument
from ...store.records import _Record

ReplicaState = Literal["loading", "ready", "failing", "draining", "stopped", "lost"]
EventKind = Literal["start", "load", "swap", "load_failed", "stop"]


@dataclass(frozen=True, slots=True)
class ReplicaInfo(_Record):
    """One process serving a service (several replicas may serve one branch)."""

    service: str
    replica: str
    ref: str
    """``repo@branch`` it follows."""
    url: str
    state: ReplicaState
    """``lost``: no heartbeat for a while (the process died without stopping)."""
    commit: str | None
    """The commit answering now (``None``: no model loaded yet)."""
    loaded: datetime | None
    started: datetime
    heartbeat: datetime
    requests: int
    errors: int
    rate: float
    """Requests per second over the last 10 seconds."""
    hostname: str
    pid: int
    definition: str
    """The serving notebook's name."""
    pipeline: str | None = None
    """The pipeline whose ``serve:`` declared it (``None``: started by hand)."""
    token: bool = False
    """Whether requests need a token."""
    last_error: str | None = None
    """Why the newest load failed (the old model kept serving), if it did."""


@dataclass(frozen=True, slots=True)
class ServiceInfo(_Record):
    """A service: every replica serving one name, and what they serve now."""

    name: str
    ref: str
    state: ReplicaState
    """The best state among its replicas (``ready`` if one is ready)."""
    commits: tuple[str, ...]
    """Commits answering now (one, except during a swap or when a replica failed to load)."""
    head: str | None
    """The branch's head now (equal to ``commits`` once every replica swapped)."""
    replicas: tuple[ReplicaInfo, ...]
    requests: int
    errors: int
    rate: float
    urls: tuple[str, ...]
    pipeline: str | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class ServingWindow(_Record):
    """What one commit served in one time window (summed over replicas)."""

    service: str
    start: datetime
    end: datetime
    commit: str | None
    requests: int
    errors: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    replicas: int
    error_sample: str | None = None


@dataclass(frozen=True, slots=True)
class ServingEvent(_Record):
    """A change of what a replica serves: start, load or swap, a failed load, stop."""

    service: str
    replica: str
    at: datetime
    kind: EventKind
    commit: str | None
    previous: str | None
    detail: str
    seconds: float | None = None
    """For a swap: seconds from the head move's detection to the new model answering."""


@dataclass(frozen=True, slots=True)
class ReplicaAt(_Record):
    """The commit one replica had loaded at a moment."""

    replica: str
    commit: str | None
    since: datetime | None


@dataclass(frozen=True, slots=True)
class ServedAt(_Record):
    """Which model answered at a moment: what each replica had loaded, and the log's window
    around it (requests per commit)."""

    service: str
    at: datetime
    live: tuple[ReplicaAt, ...]
    windows: tuple[ServingWindow, ...]

    @property
    def commits(self) -> tuple[str, ...]:
        """Commits that answered requests in the window, else those loaded at that moment."""
        answered = tuple(dict.fromkeys(w.commit for w in self.windows if w.commit))
        return answered or tuple(dict.fromkeys(r.commit for r in self.live if r.commit))


@dataclass(frozen=True, slots=True)
class Prediction(_Record):
    """An endpoint's answer: the commit that answered and its result."""

    service: str
    commit: str | None
    result: Any
    url: str
    ms: float
    """Round-trip time of the request."""


def to_epoch(when: datetime | float | str) -> float:
    """Seconds since the epoch of a datetime (naive: local time), a number, or ISO 8601 text
    (``2024-05-01T10:00``, ``2024-05-01 10:00:00+00:00``; ``10:00`` alone is today, local;
    a number is epoch seconds)."""
    if isinstance(when, int | float):
        return float(when)
    if isinstance(when, str):
        text = when.strip()
        try:
            return float(text)  # epoch seconds as text
        except ValueError:
            pass
        try:
            if len(text) <= 8 and ":" in text and "-" not in text:
                when = datetime.combine(datetime.now().date(), time_of_day(text))
            else:
                when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidArgument(
                f"invalid time {text!r}: use ISO 8601 (2024-05-01T10:00, or 10:00 for today)",
                time=text,
            ) from None
    return when.timestamp()


def time_of_day(text: str) -> dtime:
    """``10:00`` or ``10:00:30`` as a time."""
    return dtime.fromisoformat(text)
