"""Helpers of the server tests: JSON requests, expected errors, specs, waiting for jobs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

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


class StreamDone(Exception):
    """Raised from the streaming callback to end an event stream from the client side."""


class EventStream:
    """Reads a ``text/event-stream`` response chunk by chunk (``streaming_callback=feed``) until
    an event satisfies ``until``; then the request ends (the client closes the connection)."""

    def __init__(self, until: Callable[[dict[str, Any]], bool]) -> None:
        self.until = until
        self.events: list[dict[str, Any]] = []
        self.comments: list[str] = []
        self.connected = asyncio.Event()
        self.done = False
        self._buffer = b""

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            event_id, data = None, []
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    self.comments.append(line[1:].strip())
                    self.connected.set()
                elif line.startswith("id:"):
                    event_id = int(line[3:])
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
            if data:
                event = {**json.loads("\n".join(data)), "_id": event_id}
                self.events.append(event)
                if self.until(event):
                    self.done = True
                    raise StreamDone

    async def wait(self, request: Awaitable[Any], timeout: float) -> None:
        """Wait until ``until`` matched (raising in the callback closes the connection, and
        tornado then fails the request)."""
        try:
            await asyncio.wait_for(request, timeout)
        except Exception:
            if not self.done:
                raise
        assert self.done, f"the stream ended early; events: {self.events}"
