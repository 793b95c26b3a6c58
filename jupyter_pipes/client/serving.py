"""Online serving: endpoints on a branch, the services running, and which model answered when."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument, NotFound, PipesError, ServingCodeError, Unavailable
from ..pipeline.serving.records import (
    Prediction,
    ServedAt,
    ServiceInfo,
    ServingEvent,
    ServingWindow,
    to_epoch,
)
from ..store.refs import parse_ref
from ._base import ClientBase

if TYPE_CHECKING:
    from ..pipeline.serving.endpoint import Endpoint
    from ..pipeline.serving.log import ServingLog

When = datetime | float | str


class ServingMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    @property
    def _serving(self) -> ServingLog:
        log = self.__dict__.get("_serving_log")
        if log is None:
            from ..pipeline.serving.log import ServingLog

            log = self.__dict__["_serving_log"] = ServingLog(self._store.meta)
        return log

    def serve(
        self,
        ref: str,
        notebook: str | os.PathLike[str] | None = None,
        *,
        name: str | None = None,
        host: str | None = None,
        port: int | None = None,
        token: str | None = None,
        threads: int | None = None,
        log_window: float | None = None,
        poll_interval: float = 0.2,
        wait: bool = True,
        timeout: float = 120.0,
    ) -> Endpoint:
        """Serve ``repo@branch`` over HTTP from this process (background threads).

        Parameters
        ----------
        ref:
            The branch to follow (``model@master``); the endpoint swaps to each new head.
        notebook:
            The serving definition (``.ipynb`` or ``.py``) defining ``load(model_dir)`` and
            ``predict(request)``. Without it, ``ref``'s repo must be a pipeline whose spec has
            ``serve:``: its snapshotted notebook and settings are used.
        name:
            The service's name (default: the repo's).
        host, port:
            Where to listen (default ``127.0.0.1``, any free port; see ``Endpoint.url``).
        token:
            Require ``Authorization: Bearer <token>`` on ``/predict``.
        threads:
            Threads running ``predict`` (default 4; 0 runs it on the event loop).
        log_window:
            Seconds per serving-log window (default 10).
        wait:
            Return once the first model is loaded (or failed to load).

        Returns
        -------
        Endpoint
            Running; ``endpoint.url``, ``endpoint.commit``, ``endpoint.stop()``.
        """
        from ..pipeline.serving.definition import Definition
        from ..pipeline.serving.endpoint import Endpoint, EndpointConfig
        from ..pipeline.spec import parse_duration

        repo = parse_ref(ref).repo
        definition, pipeline, declared = None, None, None
        if notebook is not None:
            definition = Definition.from_file(notebook)
        else:
            spec = self._pipelines.spec(repo) if self._pipelines.is_pipeline(repo) else None
            if spec is None or spec.serve is None:
                raise InvalidArgument(
                    f"give a serving notebook: {repo!r} is not a pipeline with serve: in its spec",
                    repo=repo,
                )
            pipeline, declared = repo, spec.serve
            if "@" not in ref:
                ref = f"{repo}@{declared.branch or spec.output_branch}"
        config = EndpointConfig(
            ref=ref if "@" in ref else f"{ref}@master", definition=definition, name=name,
            pipeline=pipeline,
            host=host or (declared.host if declared else "127.0.0.1"),
            port=port if port is not None else (declared.port if declared else 0),
            token=token,
            threads=threads if threads is not None else (declared.threads if declared else 4),
            log_window=log_window or (parse_duration(declared.log_window) if declared else 10.0),
            poll_interval=poll_interval,
        )  # fmt: skip
        return Endpoint(self._store, config).start(wait=wait, timeout=timeout)

    def list_service(self, *, all: bool = False) -> list[ServiceInfo]:
        """Services with a running replica (``all``: also those stopped or lost), by name."""
        return self._serving.services(self._heads(), include_stopped=all)

    def inspect_service(self, name: str) -> ServiceInfo:
        """One service: its replicas, the commits answering now, the branch head, totals."""
        return self._serving.services(self._heads(), name)[0]

    def serving_log(
        self, name: str, *, since: When | None = None, until: When | None = None,
        limit: int = 1000,
    ) -> list[ServingWindow]:  # fmt: skip
        """The serving log of a service: per time window and commit, the requests, errors and
        latency percentiles (summed over replicas), oldest first (the newest ``limit``)."""
        self._serving.require(name)
        return self._serving.windows(
            name, _epoch(since), _epoch(until), limit=max(1, min(limit, 100_000))
        )

    def service_events(
        self, name: str, *, since: When | None = None, until: When | None = None,
        limit: int = 100,
    ) -> list[ServingEvent]:  # fmt: skip
        """Starts, loads, swaps, failed loads and stops of a service's replicas, newest first."""
        self._serving.require(name)
        return self._serving.events(name, _epoch(since), _epoch(until), max(1, limit))

    def which_model(self, name: str, at: When) -> ServedAt:
        """Which model answered at ``at`` (a datetime, epoch seconds or ISO 8601 text; ``10:00``
        is today): the commit each replica had loaded then, and the serving log's windows
        containing that moment (requests per commit)."""
        return self._serving.served_at(name, to_epoch(at))

    def predict(
        self, name: str, request: Any, *, content_type: str | None = None,
        token: str | None = None, timeout: float = 30.0,
    ) -> Prediction:  # fmt: skip
        """Send one request to a running replica of a service (this host's first).

        ``request`` is JSON-encoded, unless it is ``str``/``bytes`` (sent as is, with
        ``content_type``, e.g. ``"text/csv"``). The token defaults to the one the pipeline's
        ``serve.token_env`` names, if that is set here.
        """
        info = self.inspect_service(name)
        replicas = [r for r in info.replicas if r.state in ("ready", "loading", "failing")]
        if not replicas:
            raise Unavailable(f"service {name!r} has no running replica", service=name)
        here = socket.gethostname()
        replicas.sort(key=lambda r: (r.hostname != here, r.state != "ready"))
        if isinstance(request, str | bytes):
            body = request.encode() if isinstance(request, str) else request
            ctype = content_type or "application/json"
        else:
            body, ctype = json.dumps(request).encode(), content_type or "application/json"
        token = token or self._service_token(info)
        headers = {"Content-Type": ctype, "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        last: PipesError | None = None
        for r in replicas:
            t0 = time.perf_counter()
            req = urllib.request.Request(r.url + "/predict", body, headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=timeout) as resp:
                    answer = json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                raise _http_error(name, exc) from None
            except (urllib.error.URLError, OSError) as exc:
                last = Unavailable(f"service {name!r}: {r.url} did not answer ({exc})")
                continue
            ms = (time.perf_counter() - t0) * 1000
            return Prediction(name, answer.get("commit"), answer.get("result"), r.url, ms)
        assert last is not None
        raise last

    def _heads(self) -> dict[str, str | None]:
        return {f"{b.repo}@{b.name}": b.head for b in self._store.list_branch()}

    def _service_token(self, info: ServiceInfo) -> str | None:
        if info.pipeline is None or not any(r.token for r in info.replicas):
            return None
        try:
            serve = self._pipelines.spec(info.pipeline).serve
        except NotFound:
            return None
        env = serve.token_env if serve is not None else None
        return os.environ.get(env) if env else None


def _epoch(when: When | None) -> float | None:
    return None if when is None else to_epoch(when)


def _http_error(name: str, exc: urllib.error.HTTPError) -> PipesError:
    try:
        body = json.loads(exc.read())
    except ValueError:
        body = {}
    message = body.get("message") or f"HTTP {exc.code}"
    fields = {k: v for k, v in body.items() if k not in ("error", "message")}
    if exc.code == 401:
        return InvalidArgument(
            f"service {name!r} needs a token (pass token=, or set the pipeline's serve.token_env)",
            service=name,
        )
    if exc.code == 503:
        return Unavailable(message, **fields)
    if exc.code < 500:
        return InvalidArgument(message, **fields)
    return ServingCodeError(message, **fields)
