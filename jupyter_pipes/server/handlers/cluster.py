"""``/cluster``: the Dask cluster the server's controller uses (the sidebar's cluster panel).

The answer is :meth:`Client.cluster_info <jupyter_pipes.Client.cluster_info>` as JSON, plus a
plain sentence about its state and what the server adds (is the controller on, when an idle
cluster stops). Looking never starts a cluster. Answers are shared for
:data:`CACHE_S`: several open sidebars polling cost one look at the cluster, and a request
that arrives while a look runs waits for it instead of starting another.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...pipeline.cluster_info import describe
from .base import PipesHandler

if TYPE_CHECKING:
    from ..app import PipesApp

CACHE_S = 1.0
"""How long one look at the cluster answers every request."""

_looks: weakref.WeakKeyDictionary[PipesApp, tuple[float, asyncio.Future[dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)


def cluster_view(app: PipesApp) -> dict[str, Any]:
    """The route's body (runs on the API thread pool: it may ask the Dask cluster)."""
    assert app.client is not None
    info = app.client.cluster_info()
    idle = getattr(app, "cluster_idle_timeout", None) or None  # where the server has one
    body = info.to_dict()
    body["controller"] = app.run_controller
    body["idle_timeout_s"] = idle
    body["message"] = describe(info, controller=app.run_controller, idle_timeout_s=idle)
    return body


class ClusterHandler(PipesHandler):
    """``GET /cluster``: workers, resources, warm kernels, datums in flight, dashboard."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        app = self.pipes
        now = time.monotonic()
        found = _looks.get(app)
        if found is None or (found[1].done() and now - found[0] > CACHE_S):
            found = (now, asyncio.ensure_future(app.run_blocking(cluster_view, app)))
            _looks[app] = found
        self.reply(await asyncio.shield(found[1]))
