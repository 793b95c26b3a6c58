"""An in-process publish/subscribe bus for live events (the server-sent events endpoint reads it).

Every method runs on the server's event loop thread. Each event gets a sequence number (the SSE
``id``); the last few are kept so that a reconnecting browser (``Last-Event-ID``) misses nothing
that happened while it was away. A subscriber that falls too far behind is dropped (its stream
ends and the browser reconnects).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

Event = dict[str, Any]
Item = tuple[int, Event] | None
"""A queued ``(sequence number, event)``; ``None`` tells the subscriber to stop."""

EVENT_TYPES = ("repo", "branch", "commit", "pipeline", "job", "cluster")


class EventBus:
    """Fan-out of events to subscriber queues.

    Parameters
    ----------
    history:
        How many recent events are kept for replay to reconnecting subscribers.
    queue_size:
        How many undelivered events a subscriber may hold before it is dropped.
    """

    def __init__(self, history: int = 256, queue_size: int = 1000) -> None:
        self._subscribers: set[asyncio.Queue[Item]] = set()
        self._recent: deque[tuple[int, Event]] = deque(maxlen=history)
        self._seq = 0
        self._queue_size = queue_size
        self.closed = False

    @property
    def subscriber_count(self) -> int:
        """How many streams are listening."""
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        """Send ``event`` (a JSON-able dict with a ``type``) to every subscriber."""
        if self.closed:
            return
        self._seq += 1
        item = (self._seq, event)
        self._recent.append(item)
        for q in list(self._subscribers):
            try:
                q.put_nowait(item)
            except asyncio.QueueFull:
                self._drop(q)

    def subscribe(self, last_id: int | None = None) -> asyncio.Queue[Item]:
        """A new queue of events; with ``last_id``, first the kept events that came after it."""
        q: asyncio.Queue[Item] = asyncio.Queue(self._queue_size)
        if self.closed:
            q.put_nowait(None)
            return q
        if last_id is not None:
            for item in self._recent:
                if item[0] > last_id and not q.full():
                    q.put_nowait(item)
        self._subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[Item]) -> None:
        """Stop delivering to ``q`` (safe to call twice)."""
        self._subscribers.discard(q)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        self.closed = True
        for q in list(self._subscribers):
            self._drop(q)

    def _drop(self, q: asyncio.Queue[Item]) -> None:
        self._subscribers.discard(q)
        while not q.empty():
            q.get_nowait()
        q.put_nowait(None)
