"""``/events/marker``: the newest live event's number, for a browser that regained its socket.

The events themselves go out on jupyter_server's event websocket (see
:mod:`jupyter_pipes.server.events`); this answers ``{"instance": ..., "seq": ...}`` from memory
(no store query), so a browser can tell whether it missed events while it was away.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import PipesHandler


class EventsMarkerHandler(PipesHandler):
    """``GET``: the server's event ``instance`` and the ``seq`` of its newest event."""

    _track_activity = False  # a browser's periodic look is not user activity (culling works)

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(self.pipes.events.marker())
