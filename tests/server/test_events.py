"""Live events on jupyter_server's event system: snapshot diffs, de-duplication, the
jupyter_events schemas (registered on the server's event logger, every payload validated), the
event websocket with ``seq`` and ``instance``, the marker route a browser checks for missed
events, and the controller thread's resilience."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError
from jupyter_server.auth import Authorizer
from tornado.httpclient import HTTPClientError

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp
from jupyter_pipes.server.events import (
    EVENT_TYPES,
    SCHEMA_PREFIX,
    Emitter,
    register_schemas,
    schema_id,
)
from jupyter_pipes.server.poller import Poller, Snapshot, diff, take_snapshot
from jupyter_pipes.server.runner import ControllerThread

from .helpers import EventSocket, Fetch, get_json, listening_emitter

Subscribe = Callable[[], Awaitable[EventSocket]]


def job(id: str, state: str, processed: int = 0, total: int = 2) -> dict[str, Any]:
    return {
        "id": id,
        "pipeline": "p",
        "version": 1,
        "state": state,
        "done": state not in ("created", "running"),
        "total": total,
        "processed": processed,
        "skipped": 0,
        "failed": 0,
        "output_commit": None,
        "created": "2024-01-01",
    }


def test_diff_reports_repos_branches_commits_and_pipelines() -> None:
    old = Snapshot(
        repos={"a", "gone"},
        heads={("a", "master"): "c1", ("a", "old"): "c0", ("gone", "master"): "g"},
        pipelines={"p": 1, "q": 1},
    )
    new = Snapshot(
        repos={"a", "b"},
        heads={("a", "master"): "c2", ("a", "dev"): "c1", ("b", "master"): None},
        pipelines={"p": 2, "r": 1},
    )
    assert diff(old, new) == [
        {"type": "repo", "action": "created", "repo": "b"},
        {"type": "repo", "action": "deleted", "repo": "gone"},
        {"type": "branch", "action": "created", "repo": "a", "branch": "dev", "head": "c1"},
        {"type": "commit", "repo": "a", "branch": "dev", "commit": "c1", "previous": None},
        {"type": "commit", "repo": "a", "branch": "master", "commit": "c2", "previous": "c1"},
        {"type": "branch", "action": "created", "repo": "b", "branch": "master", "head": None},
        {"type": "branch", "action": "deleted", "repo": "a", "branch": "old", "head": "c0"},
        {"type": "pipeline", "action": "updated", "pipeline": "p", "version": 2},
        {"type": "pipeline", "action": "created", "pipeline": "r", "version": 1},
        {"type": "pipeline", "action": "deleted", "pipeline": "q"},
    ]
    assert diff(new, new) == []


def test_take_snapshot(client: Client) -> None:
    client.create_repo("data")
    head = client.put_file("data@master", "/a", b"a").id
    snap = take_snapshot(client)
    assert snap.repos == {"data"} and snap.heads == {("data", "master"): head}
    assert snap.pipelines == {} and snap.jobs == {}


async def settle() -> None:
    """Let the listener tasks jupyter_events started run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_job_updates_are_published_once_and_never_backwards() -> None:
    events, received = listening_emitter()
    poller = Poller(None, events, None)  # type: ignore[arg-type]
    for update in (
        job("j", "created"),
        job("j", "running"),
        job("j", "running", 1),
        job("j", "running", 1),  # the same again (controller and poller both saw it)
        job("j", "created"),  # a stale snapshot
        job("j", "running", 0),  # a stale snapshot
        job("j", "success", 2),
        job("j", "running", 1),  # stale
    ):
        poller.observe_job(update)
    await settle()
    published = [(e["state"], e["processed"], e["seq"]) for e in received]
    assert published == [("created", 0, 1), ("running", 0, 2), ("running", 1, 3), ("success", 2, 4)]


async def test_every_event_type_has_a_schema_and_payloads_are_validated() -> None:
    events, received = listening_emitter()
    assert events.logger is not None
    assert sorted(events.logger.schemas.schema_ids) == sorted(schema_id(t) for t in EVENT_TYPES)
    old = Snapshot(repos={"a"}, heads={("a", "master"): "c1"}, pipelines={"p": 1})
    new = Snapshot(repos={"b"}, heads={("b", "master"): None, ("b", "dev"): "x"}, pipelines={})
    for event in diff(old, new) + diff(new, old):
        events.publish(event)
    events.publish({"type": "cluster", "state": "starting"})
    await settle()
    kinds = {e["type"] for e in received}
    assert kinds == {"repo", "branch", "commit", "pipeline", "cluster"}
    assert [e["seq"] for e in received] == list(range(1, len(received) + 1))
    assert {e["instance"] for e in received} == {events.instance}
    with pytest.raises(ValidationError):  # jupyter_events checks each payload on its schema
        events.publish({"type": "cluster", "state": "exploded"})
    with pytest.raises(ValidationError):
        events.publish({"type": "commit", "repo": "a", "branch": "master"})


def test_the_schemas_are_registered_on_the_servers_event_logger(pipes_app: PipesApp) -> None:
    logger = pipes_app.serverapp.event_logger
    for event_type in EVENT_TYPES:
        assert schema_id(event_type) in logger.schemas
        assert schema_id(event_type).startswith(SCHEMA_PREFIX)
    assert pipes_app.events.logger is logger
    register_schemas(logger)  # a second registration (a reloaded extension) is harmless


async def test_a_commit_behind_the_servers_back_reaches_the_event_websocket(
    api: Fetch, pipes_app: PipesApp, store_path: Any, subscribe: Subscribe
) -> None:
    socket = await subscribe()
    await asyncio.sleep(0.7)  # the poller's baseline
    other = Client(str(store_path))  # another handle on the store: the server learns by polling
    other.create_repo("data")
    head = other.put_file("data@master", "/a", b"a").id
    other.close()
    await socket.wait(lambda e: e["type"] == "commit", timeout=30)
    assert [e["type"] for e in socket.events] == ["repo", "branch", "commit"]
    assert socket.events[-1]["commit"] == head
    seqs = [e["seq"] for e in socket.events]
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    marker = await get_json(api, "events", "marker")
    assert marker == {"instance": socket.events[0]["instance"], "seq": seqs[-1]}
    assert json.dumps(socket.events)  # plain JSON


@pytest.mark.parametrize("pipes_config", [{"run_controller": False}])
async def test_the_marker_shows_events_a_browser_missed(
    api: Fetch, pipes_app: PipesApp, subscribe: Subscribe
) -> None:
    assert await get_json(api, "events", "marker") == {
        "instance": pipes_app.events.instance,
        "seq": 0,
    }
    socket = await subscribe()
    pipes_app.events.publish({"type": "repo", "action": "created", "repo": "x"})
    await socket.wait(lambda e: True, timeout=10)
    seen = socket.events[-1]
    socket.close()  # the browser goes away; an event is sent meanwhile
    pipes_app.events.publish({"type": "repo", "action": "deleted", "repo": "x"})
    marker = await get_json(api, "events", "marker")
    assert marker["instance"] == seen["instance"] and marker["seq"] == seen["seq"] + 1  # missed
    again = await subscribe()  # back: the next event shows the gap too
    pipes_app.events.publish({"type": "repo", "action": "created", "repo": "y"})
    await again.wait(lambda e: True, timeout=10)
    assert again.events[-1]["seq"] == seen["seq"] + 2
    assert Emitter(None).instance != seen["instance"]  # a restarted server: a new instance


@pytest.mark.parametrize("pipes_config", [{"run_controller": False}])
async def test_no_events_after_shutdown(api: Fetch, pipes_app: PipesApp) -> None:
    pipes_app.events.publish({"type": "repo", "action": "created", "repo": "x"})
    await pipes_app.stop_extension()
    pipes_app.events.publish({"type": "repo", "action": "deleted", "repo": "x"})
    assert pipes_app.events.marker()["seq"] == 1


class NoEvents(Authorizer):
    """Grants everything but subscribing to the server's events."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "events" and action == "execute")


@pytest.mark.parametrize("server_config", [{"authorizer_class": NoEvents}])
@pytest.mark.parametrize("pipes_config", [{"run_controller": False}])
async def test_the_websocket_needs_execute_on_events_and_the_marker_does_not(
    api: Fetch, pipes_app: PipesApp, subscribe: Subscribe
) -> None:
    with pytest.raises(HTTPClientError) as refused:
        await subscribe()
    assert refused.value.code == 403
    pipes_app.events.publish({"type": "repo", "action": "created", "repo": "x"})
    assert (await get_json(api, "events", "marker"))["seq"] == 1  # the browser still catches up


class FlakyController:
    owner = "flaky-controller"

    def __init__(self) -> None:
        self.calls = 0
        self.ran = threading.Event()

    def run_once(self) -> None:
        self.calls += 1
        if self.calls <= 2:
            raise RuntimeError("database is locked")
        self.ran.set()


class FakeClient:
    """A real store (the thread registers its presence there, #12) with a controller whose
    first runs fail."""

    def __init__(self, store: Any) -> None:
        self.ctl = FlakyController()
        self.store = store

    def controller(self, progress: Any = None) -> FlakyController:
        return self.ctl


def test_controller_thread_survives_errors(caplog: pytest.LogCaptureFixture) -> None:
    real = Client("memory://controller-thread-survives")
    fake = FakeClient(real.store)
    thread = ControllerThread(fake, poll_interval=0.01)  # type: ignore[arg-type]
    thread.start()
    assert fake.ctl.ran.wait(10)
    thread.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert "the controller failed (1 in a row)" in caplog.text
    assert "database is locked" in caplog.text
    real.close()
