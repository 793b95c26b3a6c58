"""Fixtures for the server extension: a real jupyter-server (pytest-jupyter) with only
``jupyter_pipes`` enabled, on a fresh local store.

pytest-jupyter registers no pytest11 entry point, and a ``pytest_plugins`` line is only allowed in
the root conftest; importing its fixtures here keeps them (and their autouse loop and cleanup
fixtures) to the tests of this folder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from tornado.httpclient import HTTPResponse
from tornado.websocket import WebSocketClientConnection
from traitlets.config import Config

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp

from .helpers import EventSocket, Fetch


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where the server's store lives (outside its root directory)."""
    return tmp_path / "store"


@pytest.fixture
def pipes_config(store_path: Path) -> dict[str, Any]:
    """The ``PipesApp`` configuration (override it in a module, or parametrize it): a store of
    its own, and the controller off (queued jobs stay queued)."""
    return {"store": str(store_path), "run_controller": False}


@pytest.fixture
def server_config() -> dict[str, Any]:
    """Extra ``ServerApp`` configuration (parametrize it to change the server)."""
    return {}


@pytest.fixture
def jp_server_config(pipes_config: dict[str, Any], server_config: dict[str, Any]) -> Config:
    """Only this extension (no terminals), failures to load it raised, the store above."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_pipes": True, "jupyter_server_terminals": False},
                "reraise_server_extension_failures": True,
                **server_config,
            },
            "PipesApp": pipes_config,
        }
    )


@pytest.fixture
def pipes_app(jp_serverapp: Any, jp_asyncio_loop: asyncio.AbstractEventLoop) -> PipesApp:
    """The extension app, started as a running server starts it (poller, controller)."""
    app = jp_serverapp.web_app.settings["jupyter_pipes"]
    assert isinstance(app, PipesApp)
    jp_asyncio_loop.run_until_complete(jp_serverapp.extension_manager.start_all_extensions())
    return app


@pytest.fixture
def client(pipes_app: PipesApp) -> Client:
    """The server's own Client (to arrange data without going through HTTP)."""
    return pipes_app.client


@pytest.fixture
def api(jp_fetch: Fetch, pipes_app: PipesApp) -> Fetch:
    """``await api("repos", "data", method=..., body=...)`` under ``/pipes/api/``."""

    def fetch(*parts: str, **kwargs: Any) -> Awaitable[HTTPResponse]:
        if kwargs.get("method") in ("POST", "PUT") and "body" not in kwargs:
            kwargs["body"] = b""
        if kwargs.get("method") == "DELETE":
            kwargs.setdefault("allow_nonstandard_methods", True)
        return jp_fetch("pipes", "api", *parts, **kwargs)

    return fetch


@pytest.fixture
def subscribe(
    jp_ws_fetch: Callable[..., Awaitable[WebSocketClientConnection]], pipes_app: PipesApp
) -> Iterator[Callable[[], Awaitable[EventSocket]]]:
    """``await subscribe()``: jupyter_server's event websocket, as the sidebar opens it."""
    sockets: list[EventSocket] = []

    async def open_socket() -> EventSocket:
        socket = EventSocket(await jp_ws_fetch("api", "events", "subscribe"))
        sockets.append(socket)
        return socket

    yield open_socket
    for socket in sockets:
        socket.close()
