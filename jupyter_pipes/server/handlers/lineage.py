"""Routes of lineage (#14): a file's lineage and "why did it change"."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .base import PipesHandler


class LineageHandler(PipesHandler):
    """``/repos/{repo}/commits/{ref}/lineage?path=/file[&cells=false]``: what made a file."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        path = self.arg("path", required=True)
        cells = self.get_query_argument("cells", None) is None or self.flag("cells")
        lineage = await self.call(self.client.lineage, f"{repo}@{ref}", path, cells=cells)
        self.reply(lineage.to_dict())


class ExplainHandler(PipesHandler):
    """``/explain?old=REPO@REF[:PATH]&new=REPO@REF[:PATH]``: why ``new`` differs from ``old``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        old = self.arg("old", required=True)
        new = self.arg("new", required=True)
        assert old is not None and new is not None
        explanation = await self.call(self.client.explain, old, new)
        self.reply(explanation.to_dict())
