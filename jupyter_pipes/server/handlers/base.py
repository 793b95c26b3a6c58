"""The base of every REST handler: auth context, JSON in and out, errors mapped in one place.

Handlers are thin: parse the request, call the :class:`~jupyter_pipes.Client` (on the
extension's thread pool, so a slow store never blocks the server), and ``finish`` with JSON.
Every :class:`~jupyter_pipes.errors.PipesError` becomes its ``http_status`` with
``err.to_dict()`` as the body; any other exception is a bug and answers 500.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.iostream import StreamClosedError

from ...client import Client
from ...errors import InvalidArgument, PipesError

if TYPE_CHECKING:
    from ..app import PipesApp

T = TypeVar("T")
RESOURCE = "pipes"
"""The authorization resource of every route (``read`` for GET, ``write`` otherwise)."""
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
STREAM_BATCH = 1000
"""Records read and written at a time by :meth:`PipesHandler.reply_items_streamed`."""
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def dumps(value: Any) -> str:
    """JSON text of a response body."""
    return json.dumps(value, default=str)


class PipesHandler(ExtensionHandlerMixin, APIHandler):  # type: ignore[misc]
    """Base class of the ``/pipes/api/`` handlers."""

    auth_resource = RESOURCE

    @property
    def pipes(self) -> PipesApp:
        """The extension app."""
        return self.extensionapp  # type: ignore[return-value]

    @property
    def client(self) -> Client:
        """The server's Client."""
        client = self.pipes.client
        assert client is not None, "the extension is not initialized"
        return client

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking Client call on the extension's thread pool."""
        return await self.pipes.run_blocking(fn, *args, **kwargs)

    # -- request parsing -----------------------------------------------------------------------

    def arg(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        """A query argument (``InvalidArgument`` when ``required`` and missing), exactly as
        sent: tornado's own getter turns control characters into spaces and strips, which
        would silently change a path (``/a%00b`` into ``/a b``); the library refuses them."""
        raw = self.request.query_arguments.get(name)
        value = self.decode_argument(raw[-1], name=name) if raw else None
        if value is None and required:
            raise InvalidArgument(f"the query argument {name!r} is required", field=name)
        return default if value is None else value

    def flag(self, name: str) -> bool:
        """A boolean query argument (``1``/``true``/``yes``; absent is false)."""
        value = (self.get_query_argument(name, "") or "").lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise InvalidArgument(f"{name}: expected true or false, got {value!r}", field=name)

    def int_arg(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        """An integer query argument within bounds."""
        text = self.get_query_argument(name, None)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise InvalidArgument(
                f"{name}: expected an integer, got {text!r}", field=name
            ) from None
        if value < minimum or (maximum is not None and value > maximum):
            upper = "" if maximum is None else f" and at most {maximum}"
            raise InvalidArgument(f"{name}: must be at least {minimum}{upper}", field=name)
        return value

    def page(self) -> tuple[int, int]:
        """``(limit, offset)`` from the query (``limit`` 1–1000, default 50)."""
        return (
            self.int_arg("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
            self.int_arg("offset", 0),
        )

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (an empty body is ``{}``)."""
        if not self.request.body.strip():
            return {}
        try:
            body = json.loads(self.request.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidArgument(f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidArgument("the request body must be a JSON object")
        return body

    # -- responses -----------------------------------------------------------------------------

    def reply(self, value: Any, status: int = 200) -> None:
        """Finish with ``value`` as JSON."""
        self.set_status(status)
        self.finish(dumps(value))

    def reply_page(
        self,
        items: list[Any],
        limit: int,
        offset: int,
        render: Callable[[Any], Any] = lambda record: record.to_dict(),
    ) -> None:
        """Finish with one page: ``items`` holds up to ``limit + 1`` records (one extra tells
        whether there is a next page)."""
        more = len(items) > limit
        self.reply(
            {
                "items": [render(i) for i in items[:limit]],
                "offset": offset,
                "limit": limit,
                "next_offset": offset + limit if more else None,
            }
        )

    async def reply_items_streamed(
        self,
        items: Iterator[Any],
        render: Callable[[Any], Any] = lambda record: record.to_dict(),
    ) -> None:
        """Finish with ``{"items": [...]}``, reading ``items`` on the thread pool and writing
        them STREAM_BATCH at a time: memory holds one batch, however long the list.

        A list that fits in one batch is sent whole (with a Content-Length, as :meth:`reply`
        sends it); a longer one goes out in chunks as it is read. An error after the first
        chunk cannot change the status any more: the body then stops short of its closing
        ``]}``, so it never parses as a complete (silently truncated) list.
        """
        batch = await self.call(_take, items, STREAM_BATCH)
        if len(batch) < STREAM_BATCH:
            self.reply({"items": [render(i) for i in batch]})
            return
        self.set_header("Content-Type", "application/json")
        self.write('{"items": [')
        sep = ""
        while batch:
            self.write(sep + ", ".join(dumps(render(i)) for i in batch))
            sep = ", "
            try:
                await self.flush()
            except StreamClosedError:  # the client went away: stop reading
                return
            batch = await self.call(_take, items, STREAM_BATCH)
        self.finish("]}")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A PipesError answers its own status with its structured fields."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, PipesError):
            self.set_status(exc.http_status)
            self.set_header("Content-Type", "application/json")
            self.finish(dumps(exc.to_dict()))
            return
        super().write_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected errors (bad input, missing, conflict) are not bugs: no traceback."""
        if isinstance(value, PipesError) and value.http_status < 500:
            self.log.info("%s %s: %s", self.request.method, self.request.path, value.message)
            return
        super().log_exception(typ, value, tb)


def _take(items: Iterator[T], n: int) -> list[T]:
    """The next ``n`` items (fewer at the end)."""
    return list(itertools.islice(items, n))
