"""The HTTP side of an endpoint (tornado): predict, health, readiness and info routes.

``POST /predict``
    The request body (JSON, or CSV with ``Content-Type: text/csv``) goes to ``predict``; the
    answer is ``{"service", "ref", "commit", "result"}`` (or CSV with ``Accept: text/csv``),
    with the header ``X-Pipes-Commit``. The model version is taken once, when the request
    starts: a swap during the request does not change who answers it.
``GET /healthz``
    200 while the process runs (liveness).
``GET /readyz``
    200 when a model is loaded and the endpoint is not shutting down, else 503 (readiness:
    what a load balancer asks).
``GET /``
    The endpoint: its service, ref, the commit answering, totals.

With a token, ``/predict`` and ``/`` need ``Authorization: Bearer <token>`` (or ``token
<token>``); health and readiness stay open for load balancers.
"""

from __future__ import annotations

import hmac
import time
from typing import TYPE_CHECKING, Any

import tornado.web

from ...errors import InvalidArgument, PipesError, ServingCodeError, Unavailable
from .codec import COMMIT_HEADER, CSV_TYPE, JSON_TYPE, decode_request, dumps, to_csv, wants_csv
from .definition import user_frame

if TYPE_CHECKING:
    from .endpoint import Endpoint


class _Base(tornado.web.RequestHandler):
    ep: Endpoint

    def initialize(self, endpoint: Endpoint) -> None:
        self.ep = endpoint

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", f"{JSON_TYPE}; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def reply(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(dumps(value))

    def fail(self, exc: PipesError, commit: str | None = None) -> None:
        if commit:
            self.set_header(COMMIT_HEADER, commit)
        if isinstance(exc, Unavailable):
            self.set_header("Retry-After", "1")
        status = 500 if isinstance(exc, ServingCodeError) else exc.http_status
        self.reply({**exc.to_dict(), "service": self.ep.name, "commit": commit}, status)

    def allowed(self) -> bool:
        """Whether the request carries the endpoint's token (always, without one)."""
        token = self.ep.config.token
        if not token:
            return True
        scheme, _, given = (self.request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() in ("bearer", "token") and hmac.compare_digest(
            given.strip().encode(), token.encode()
        ):
            return True
        self.set_header("WWW-Authenticate", 'Bearer realm="jupyter-pipes"')
        self.reply({"error": "Unauthorized", "message": "a valid token is required"}, 401)
        return False

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(dumps({"error": self._reason, "message": self._reason}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):
            return
        super().log_exception(typ, value, tb)


class PredictHandler(_Base):
    """``POST /predict``."""

    async def post(self) -> None:
        if not self.allowed():
            return
        ep = self.ep
        t0 = time.perf_counter()
        version = ep.current
        if version is None or ep.draining:
            reason = "shutting down" if ep.draining else ep.unready_reason()
            ep.stats.record(None, (time.perf_counter() - t0) * 1000, False, reason)
            self.fail(Unavailable(f"service {ep.name} cannot answer: {reason}"))
            return
        version.inflight += 1
        ep.inflight += 1
        failure: PipesError | None = None
        try:
            request = decode_request(self.request.body, self.request.headers.get("Content-Type"))
            result = await ep.call(version.predict, request)
            body = to_csv(result) if wants_csv(self.request.headers.get("Accept")) else None
            if body is None:
                envelope = {"service": ep.name, "ref": ep.ref, "commit": version.commit,
                            "result": result}  # fmt: skip
                body = dumps(envelope)
            else:
                self.set_header("Content-Type", f"{CSV_TYPE}; charset=utf-8")
        except InvalidArgument as exc:
            failure = exc
        except Exception as exc:
            where = user_frame(exc, version.definition.name)
            failure = ServingCodeError(
                f"predict failed{' in ' + where if where else ''}: {type(exc).__name__}: {exc}",
                stage="predict", ename=type(exc).__name__, evalue=str(exc), where=where,
            )  # fmt: skip
            ep.logger.warning("service %s: %s", ep.name, failure.message)
        finally:
            version.inflight -= 1
            ep.inflight -= 1
            if version.retired and version.inflight == 0:
                ep.retire(version)
        # counted before the answer leaves: whoever has the answer finds it in the counts
        ep.stats.record(
            version.commit, (time.perf_counter() - t0) * 1000, failure is None,
            failure.message if failure else None,
        )  # fmt: skip
        if failure is not None:
            self.fail(failure, version.commit)
            return
        self.set_header(COMMIT_HEADER, version.commit or "")
        self.finish(body)


class HealthHandler(_Base):
    """``GET /healthz``: the process is up."""

    def get(self) -> None:
        self.reply({"status": "ok", "service": self.ep.name})


class ReadyHandler(_Base):
    """``GET /readyz``: a model is loaded and the endpoint takes requests."""

    def get(self) -> None:
        version = self.ep.current
        if version is None or self.ep.draining:
            reason = "shutting down" if self.ep.draining else self.ep.unready_reason()
            self.reply({"ready": False, "reason": reason, "service": self.ep.name}, 503)
            return
        self.set_header(COMMIT_HEADER, version.commit or "")
        self.reply({"ready": True, "service": self.ep.name, "commit": version.commit})


class InfoHandler(_Base):
    """``GET /``: what this endpoint serves."""

    def get(self) -> None:
        if self.allowed():
            self.reply(self.ep.describe())


def make_app(endpoint: Endpoint) -> tornado.web.Application:
    """The endpoint's tornado application."""
    args = {"endpoint": endpoint}
    return tornado.web.Application(
        [
            (r"/predict", PredictHandler, args),
            (r"/healthz", HealthHandler, args),
            (r"/readyz", ReadyHandler, args),
            (r"/", InfoHandler, args),
        ],
        log_function=_quiet,
    )


def _quiet(handler: tornado.web.RequestHandler) -> None:
    """Access logs off (a log line per request would cost more than the request)."""


__all__ = ["make_app"]
