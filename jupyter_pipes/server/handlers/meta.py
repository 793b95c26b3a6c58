"""Routes about the API itself: settings (versions, store) and the OpenAPI document."""

from __future__ import annotations

import functools
import json
import platform
from importlib import resources
from typing import Any

import jupyter_server
from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import __version__
from ..util import redact_url
from .base import PipesHandler

OPENAPI = "openapi.json"


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document shipped in the package."""
    text = resources.files("jupyter_pipes.server").joinpath(OPENAPI).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


class SettingsHandler(PipesHandler):
    """``/settings``: versions (so the sidebar can report a mismatch) and where the store is."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        app = self.pipes
        self.reply(
            {
                "version": __version__,
                "jupyter_server_version": jupyter_server.__version__,
                "python_version": platform.python_version(),
                "store": redact_url(self.client.store_url),
                "controller": app.run_controller,
                "dask_scheduler": redact_url(app.dask_scheduler),
                "max_upload_size": app.max_upload_size,
                "cluster": app.cluster_state,
            }
        )


class OpenAPIHandler(PipesHandler):
    """``/openapi.json``: the API's OpenAPI 3 document."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(openapi_document())
