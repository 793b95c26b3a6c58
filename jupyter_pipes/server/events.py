"""Live events on jupyter_server's event system (``jupyter_events``).

Each event type (``repo``, ``branch``, ``commit``, ``pipeline``, ``job``, ``cluster``) has a
schema, ``https://events.jupyter.org/jupyter_pipes/<type>/v1``, shipped in ``event_schemas/``
and registered on the server's ``event_logger``; the browser receives the events on
jupyter_server's websocket (``/api/events/subscribe``, JupyterLab's ``EventManager``).

That websocket keeps no history: events sent while a browser was away are lost. So every
payload carries ``seq`` (1, 2, 3, ... for this server process) and ``instance`` (which process
numbered it). A browser that sees a gap in ``seq`` or a new ``instance`` reloads everything, and
:meth:`Emitter.marker` (``GET /pipes/api/events/marker``) tells a browser that regained its
socket whether it missed anything. See docs/events.md.

Every method runs on the server's event loop thread (jupyter_events starts each listener as an
asyncio task).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from jupyter_events import EventLogger

Event = dict[str, Any]

EVENT_TYPES = ("repo", "branch", "commit", "pipeline", "job", "cluster")
SCHEMA_PREFIX = "https://events.jupyter.org/jupyter_pipes/"
SCHEMA_DIR = Path(__file__).parent / "event_schemas"


def schema_id(event_type: str) -> str:
    """The jupyter_events schema ``$id`` of an event type."""
    return f"{SCHEMA_PREFIX}{event_type}/v1"


def register_schemas(logger: EventLogger) -> None:
    """Register every jupyter_pipes event schema on ``logger`` (once; again is a no-op)."""
    for event_type in EVENT_TYPES:
        if schema_id(event_type) not in logger.schemas:
            logger.register_event_schema(SCHEMA_DIR / f"{event_type}.yaml")


class Emitter:
    """Numbers events and emits them on a jupyter_events logger.

    Parameters
    ----------
    logger:
        The server's ``event_logger`` (its schemas must be registered, see
        :func:`register_schemas`); ``None`` numbers events and sends them nowhere.
    """

    def __init__(self, logger: EventLogger | None) -> None:
        self.logger = logger
        self.instance = uuid.uuid4().hex
        self.seq = 0
        self.closed = False

    def publish(self, event: Event) -> None:
        """Emit ``event`` (a JSON-able dict whose ``type`` names its schema)."""
        if self.closed:
            return
        fields = {k: v for k, v in event.items() if k != "type"}
        self.seq += 1
        data = {**fields, "seq": self.seq, "instance": self.instance}
        if self.logger is not None:
            self.logger.emit(schema_id=schema_id(event["type"]), data=data)

    def marker(self) -> dict[str, Any]:
        """What a browser compares with the last event it saw: ``instance`` and ``seq``."""
        return {"instance": self.instance, "seq": self.seq}

    def close(self) -> None:
        """Emit nothing more (server shutdown)."""
        self.closed = True
