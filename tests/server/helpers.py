"""Helpers of the server tests: JSON requests, expected errors, specs, waiting for jobs, the
event websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from jupyter_events import EventLogger
from tornado.httpclient import HTTPClientError, HTTPResponse
from tornado.websocket import WebSocketClientConnection

from jupyter_pipes.server.events import Emitter, register_schemas

Fetch = Callable[..., Awaitable[HTTPResponse]]


async def get_json(api: Fetch, *parts: str, **kwargs: Any) -> Any:
    """The JSON body of a successful request."""
    resp = await api(*parts, **kwargs)
    return json.loads(resp.body)


async def error(api: Fetch, *parts: str, status: int, **kwargs: Any) -> dict[str, Any]:
    """The JSON body of a request that must fail with ``status``."""
    with pytest.raises(HTTPClientError) as info:
        await api(*parts, **kwargs)
    assert info.value.code == status, info.value.response.body if info.value.response else info
    assert info.value.response is not None
    body: dict[str, Any] = json.loads(info.value.response.body)
    return body


def cmd_spec(name: str, input: dict[str, Any], script: str, **extra: Any) -> dict[str, Any]:
    """A command pipeline spec (fast: no kernel)."""
    return {
        "pipeline": {"name": name},
        "input": input,
        "transform": {"cmd": ["bash", "-c", script]},
        **extra,
    }


async def wait_job(api: Fetch, job_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll a job over HTTP until it is done."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        job: dict[str, Any] = await get_json(api, "jobs", job_id)
        if job["done"]:
            return job
        assert loop.time() < deadline, f"job {job_id} not done: {job}"
        await asyncio.sleep(0.1)


SCHEMA_PREFIX = "https://events.jupyter.org/jupyter_pipes/"


def pipes_event(message: dict[str, Any]) -> dict[str, Any] | None:
    """A jupyter_pipes event of jupyter_server's event websocket as the sidebar reads it:
    ``{"type": <the schema's type>, **payload}``; ``None`` for another extension's event."""
    sid = message.pop("schema_id", "")
    if not sid.startswith(SCHEMA_PREFIX):
        return None
    return {"type": sid[len(SCHEMA_PREFIX) :].split("/")[0], **message}


class EventSocket:
    """jupyter_server's event websocket (``/api/events/subscribe``), read as the sidebar reads
    it: :attr:`events` keeps jupyter_pipes' events in arrival order (see :func:`pipes_event`)."""

    def __init__(self, ws: WebSocketClientConnection) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []

    async def wait(self, until: Callable[[dict[str, Any]], bool], timeout: float) -> None:
        """Read events until one satisfies ``until`` (fails after ``timeout`` seconds)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            assert remaining > 0, f"no matching event; events: {self.events}"
            try:
                message = await asyncio.wait_for(self.ws.read_message(), remaining)
            except asyncio.TimeoutError:
                raise AssertionError(f"no matching event; events: {self.events}") from None
            assert isinstance(message, str), f"the socket closed; events: {self.events}"
            event = pipes_event(json.loads(message))
            if event is not None:
                self.events.append(event)
                if until(event):
                    return

    def close(self) -> None:
        """Close the socket."""
        self.ws.close()


def listening_emitter() -> tuple[Emitter, list[dict[str, Any]]]:
    """An Emitter on a real jupyter_events logger with a listener, as the websocket listens."""
    logger = EventLogger()
    register_schemas(logger)
    received: list[dict[str, Any]] = []

    async def listener(logger: EventLogger, schema_id: str, data: dict[str, Any]) -> None:
        event = pipes_event({"schema_id": schema_id, **data})
        assert event is not None
        received.append(event)

    logger.add_listener(listener=listener)
    return Emitter(logger), received
