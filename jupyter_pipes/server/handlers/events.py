"""``/events``: live events as a server-sent events stream (``text/event-stream``).

Each event is one ``id: <n>`` and one ``data: <json>`` line; the JSON has a ``type``
(``repo``, ``branch``, ``commit``, ``pipeline``, ``job``). An idle stream carries a comment every
``heartbeat_interval`` seconds so proxies keep it open. A browser's ``EventSource`` reconnects by
itself and sends ``Last-Event-ID``; the events it missed (if still kept) come first.
"""

from __future__ import annotations

import asyncio
import contextlib

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ..events import Item
from .base import PipesHandler, dumps


class EventsHandler(PipesHandler):
    """Streams :class:`~jupyter_pipes.server.events.EventBus` events to one client."""

    _track_activity = False  # an open stream is not user activity (culling still works)
    _queue: asyncio.Queue[Item] | None = None

    @web.authenticated
    @authorized
    async def get(self) -> None:
        bus = self.pipes.bus
        last = self.request.headers.get("Last-Event-ID", "")
        self._queue = bus.subscribe(int(last) if last.isdigit() else None)
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")  # nginx: do not buffer the stream
        try:
            self.write("retry: 2000\n: connected\n\n")
            await self.flush()
            while True:
                try:
                    item = await asyncio.wait_for(
                        self._queue.get(), timeout=self.pipes.heartbeat_interval
                    )
                except asyncio.TimeoutError:
                    self.write(": heartbeat\n\n")
                else:
                    if item is None:  # shutdown, a closed connection, or a slow reader
                        break
                    seq, event = item
                    self.write(f"id: {seq}\ndata: {dumps(event)}\n\n")
                await self.flush()
        except StreamClosedError:
            pass
        finally:
            bus.unsubscribe(self._queue)
        with contextlib.suppress(StreamClosedError):
            self.finish(set_content_type="text/event-stream; charset=utf-8")

    def on_connection_close(self) -> None:
        """Wake the loop so it ends and unsubscribes."""
        if self._queue is not None:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(None)
        super().on_connection_close()
