"""Routes of lineage (#14): a file's lineage, "why did it change", metrics across commits, and the
branch timeline."""

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


class BranchLogHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}/log?since=&until=&limit=``: the branch's head moves,
    newest first."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, branch: str) -> None:
        limit = self.int_arg("limit", 100, minimum=1, maximum=10_000)
        moves = await self.call(
            self.client.branch_log,
            f"{repo}@{branch}",
            since=self.arg("since"),
            until=self.arg("until"),
            limit=limit,
        )
        self.reply({"items": [m.to_dict() for m in moves]})


class HeadAtHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}/at?time=``: the commit that was live at ``time``."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, branch: str) -> None:
        when = self.arg("time", required=True)
        assert when is not None
        found = await self.call(self.client.head_at, f"{repo}@{branch}", when)
        self.reply(found.to_dict())


class BranchMetricsHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}/metrics?limit=``: metrics of the branch's commits,
    newest first."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, branch: str) -> None:
        limit = self.int_arg("limit", 50, minimum=1, maximum=1000)
        found = await self.call(self.client.list_metrics, f"{repo}@{branch}", limit=limit)
        self.reply({"items": [m.to_dict() for m in found]})


class CommitMetricsHandler(PipesHandler):
    """``/repos/{repo}/commits/{ref}/metrics``: the metrics of one output commit."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        found = await self.call(self.client.inspect_metrics, f"{repo}@{ref}")
        self.reply(found.to_dict())


class MetricsDiffHandler(PipesHandler):
    """``/metrics/diff?old=REPO@REF&new=REPO@REF[&why=false]``: the metrics of two commits and
    why they differ."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        old = self.arg("old", required=True)
        new = self.arg("new", required=True)
        assert old is not None and new is not None
        why = self.get_query_argument("why", None) is None or self.flag("why")
        found = await self.call(self.client.diff_metrics, old, new, why=why)
        self.reply(found.to_dict())
