"""Request counts and latency histograms per time window and commit, kept in memory.

An endpoint records each request here (a dict update under a lock: no I/O), and writes the
finished windows to the serving log once per window. Latencies go into fixed, log-spaced
buckets (ratio 2^(1/8), about 9%), so windows of several replicas merge exactly and a
percentile read from the merged histogram is within half a bucket (about 4.5%) of the truth.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from dataclasses import dataclass, field

_MIN_MS = 0.01
_RATIO = 2 ** (1 / 8)
_N = int(math.log(600_000 / _MIN_MS, _RATIO)) + 2
BOUNDS: tuple[float, ...] = tuple(_MIN_MS * _RATIO**i for i in range(_N))
"""Upper bounds (ms) of the latency buckets: 10 µs to 10 minutes, then one overflow bucket."""


def bucket(ms: float) -> int:
    """The bucket of a latency in milliseconds."""
    return bisect.bisect_left(BOUNDS, ms)


@dataclass
class Histogram:
    """Sparse bucket counts of latencies (mergeable), plus their count, sum and maximum."""

    counts: dict[int, int] = field(default_factory=dict)
    n: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0

    def add(self, ms: float) -> None:
        """Count one latency."""
        b = bisect.bisect_left(BOUNDS, ms)
        self.counts[b] = self.counts.get(b, 0) + 1
        self.n += 1
        self.total_ms += ms
        if ms > self.max_ms:
            self.max_ms = ms

    def merge(self, other: Histogram) -> None:
        """Add another histogram's counts to this one."""
        for b, c in other.counts.items():
            self.counts[b] = self.counts.get(b, 0) + c
        self.n += other.n
        self.total_ms += other.total_ms
        self.max_ms = max(self.max_ms, other.max_ms)

    def percentile(self, q: float) -> float | None:
        """The ``q``-quantile (0–1) in ms: the geometric middle of its bucket, capped by the
        maximum seen (``None`` for an empty histogram)."""
        if self.n == 0:
            return None
        rank = max(1, math.ceil(q * self.n))
        seen = 0
        for b in sorted(self.counts):
            seen += self.counts[b]
            if seen >= rank:
                if b >= len(BOUNDS):
                    return self.max_ms
                low = BOUNDS[b - 1] if b > 0 else 0.0
                mid = math.sqrt(low * BOUNDS[b]) if low > 0 else BOUNDS[b] / 2
                return min(mid, self.max_ms)
        return self.max_ms  # pragma: no cover (the counts add up to n)

    def to_json(self) -> dict[str, int]:
        """The counts as ``{"bucket": count}`` (JSON object keys are strings)."""
        return {str(b): c for b, c in sorted(self.counts.items())}

    @classmethod
    def from_json(cls, counts: dict[str, int], total_ms: float, max_ms: float) -> Histogram:
        """Inverse of :meth:`to_json` (with the count's sum and maximum)."""
        h = cls({int(b): int(c) for b, c in counts.items()})
        h.n = sum(h.counts.values())
        h.total_ms, h.max_ms = total_ms, max_ms
        return h


@dataclass
class Window:
    """What one commit served in one time window."""

    start: float
    seconds: float
    commit: str | None
    requests: int = 0
    errors: int = 0
    latency: Histogram = field(default_factory=Histogram)
    error_sample: str | None = None


class Stats:
    """Per-window, per-commit counts of one endpoint replica (thread-safe)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = float(window_s)
        self._lock = threading.Lock()
        self._open: dict[tuple[float, str | None], Window] = {}
        self.requests = 0
        self.errors = 0
        self._seconds: dict[int, int] = {}

    def _start(self, now: float) -> float:
        return math.floor(now / self.window_s) * self.window_s

    def record(
        self,
        commit: str | None,
        ms: float,
        ok: bool,
        error: str | None = None,
        now: float | None = None,
    ) -> None:
        """Count one answered request (``ok`` false: an error response)."""
        now = time.time() if now is None else now
        key = (self._start(now), commit)
        with self._lock:
            w = self._open.get(key)
            if w is None:
                w = self._open[key] = Window(key[0], self.window_s, commit)
            w.requests += 1
            w.latency.add(ms)
            self.requests += 1
            if not ok:
                w.errors += 1
                self.errors += 1
                if w.error_sample is None and error:
                    w.error_sample = error[:500]
            sec = int(now)
            self._seconds[sec] = self._seconds.get(sec, 0) + 1
            if len(self._seconds) > 120:
                for s in sorted(self._seconds)[:-60]:
                    del self._seconds[s]

    def rate(self, now: float | None = None, span: int = 10) -> float:
        """Requests per second over the last ``span`` whole seconds."""
        now = int(time.time() if now is None else now)
        with self._lock:
            return sum(self._seconds.get(s, 0) for s in range(now - span, now)) / span

    def drain(self, now: float | None = None, *, everything: bool = False) -> list[Window]:
        """Remove and return the finished windows (all of them with ``everything``)."""
        now = time.time() if now is None else now
        current = self._start(now)
        with self._lock:
            done = [k for k in self._open if everything or k[0] < current]
            return [self._open.pop(k) for k in sorted(done, key=lambda k: (k[0], k[1] or ""))]

    def put_back(self, windows: list[Window]) -> None:
        """Return windows a failed write could not store (merged into any newer counts)."""
        with self._lock:
            for w in windows:
                key = (w.start, w.commit)
                cur = self._open.get(key)
                if cur is None:
                    self._open[key] = w
                else:
                    cur.requests += w.requests
                    cur.errors += w.errors
                    cur.latency.merge(w.latency)
                    cur.error_sample = cur.error_sample or w.error_sample
