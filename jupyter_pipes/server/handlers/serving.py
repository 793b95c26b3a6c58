"""Routes of services (HTTP endpoints on a branch): list, inspect, the serving log, events and
predict through the server (what the sidebar's "try it" box calls, with Jupyter's auth)."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import ServingCodeError
from .base import MAX_LIMIT, PipesHandler


class ServicesHandler(PipesHandler):
    """``/services``: services with a running replica (``?all=1``: also stopped ones)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        services = await self.call(self.client.list_service, all=self.flag("all"))
        self.reply({"items": [s.to_dict() for s in services]})


class ServiceHandler(PipesHandler):
    """``/services/{service}``: replicas, commits answering, branch head, totals."""

    @web.authenticated
    @authorized
    async def get(self, service: str) -> None:
        info = await self.call(self.client.inspect_service, service)
        self.reply(info.to_dict())


class ServiceLogHandler(PipesHandler):
    """``/services/{service}/log``: windows of the serving log (``since``, ``until``,
    ``limit``), or with ``at``, which model answered at that moment."""

    @web.authenticated
    @authorized
    async def get(self, service: str) -> None:
        at = self.arg("at")
        if at is not None:
            answer = await self.call(self.client.which_model, service, at)
            self.reply({**answer.to_dict(), "commits": list(answer.commits)})
            return
        windows = await self.call(
            self.client.serving_log, service, since=self.arg("since"), until=self.arg("until"),
            limit=self.int_arg("limit", 100, minimum=1, maximum=MAX_LIMIT),
        )  # fmt: skip
        self.reply({"items": [w.to_dict() for w in windows]})


class ServiceEventsHandler(PipesHandler):
    """``/services/{service}/events``: starts, loads, swaps, failed loads, stops; newest
    first."""

    @web.authenticated
    @authorized
    async def get(self, service: str) -> None:
        events = await self.call(
            self.client.service_events, service, since=self.arg("since"),
            until=self.arg("until"), limit=self.int_arg("limit", 50, minimum=1, maximum=MAX_LIMIT),
        )  # fmt: skip
        self.reply({"items": [e.to_dict() for e in events]})


class ServicePredictHandler(PipesHandler):
    """``/services/{service}/predict``: POST the body (JSON or CSV) to a running replica."""

    @web.authenticated
    @authorized
    async def post(self, service: str) -> None:
        ctype = self.request.headers.get("Content-Type") or "application/json"
        try:
            answer = await self.call(
                self.client.predict, service, self.request.body, content_type=ctype
            )
        except ServingCodeError as exc:  # the model's code failed: relayed, not our bug
            self.reply(exc.to_dict(), exc.http_status)
            return
        self.reply(answer.to_dict())
