"""Live events: snapshot diffs, de-duplication, the bus, and the SSE endpoint (heartbeats,
replay after reconnecting, the end of streams at shutdown), plus the controller thread's
resilience."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.server import PipesApp
from jupyter_pipes.server.events import EventBus
from jupyter_pipes.server.poller import Poller, Snapshot, diff, take_snapshot
from jupyter_pipes.server.runner import ControllerThread

from .helpers import EventStream, Fetch


def job(id: str, state: str, processed: int = 0, total: int = 2) -> dict[str, Any]:
    return {
        "id": id,
        "state": state,
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


async def test_job_updates_are_published_once_and_never_backwards() -> None:
    bus = EventBus()
    queue = bus.subscribe()
    poller = Poller(None, bus, None)  # type: ignore[arg-type]
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
    published = []
    while not queue.empty():
        item = queue.get_nowait()
        assert item is not None
        published.append((item[1]["state"], item[1]["processed"]))
    assert published == [("created", 0), ("running", 0), ("running", 1), ("success", 2)]


async def test_bus_replays_after_last_id_and_drops_slow_readers() -> None:
    bus = EventBus(history=3, queue_size=2)
    for i in range(5):
        bus.publish({"type": "repo", "n": i})
    replay = bus.subscribe(last_id=3)
    assert replay.get_nowait() == (4, {"type": "repo", "n": 3})
    assert replay.get_nowait() == (5, {"type": "repo", "n": 4})
    slow = bus.subscribe()
    for i in range(3):
        bus.publish({"type": "repo", "n": i})
        assert replay.get_nowait() == (6 + i, {"type": "repo", "n": i})  # a reader keeping up
    assert bus.subscriber_count == 1  # `slow` overflowed: it is told to stop (and reconnect)
    assert slow.get_nowait() is None
    bus.close()
    assert replay.get_nowait() is None
    assert bus.subscribe().get_nowait() is None


@pytest.mark.parametrize("pipes_config", [{"run_controller": False, "heartbeat_interval": 0.1}])
async def test_sse_heartbeat_replay_and_shutdown(api: Fetch, pipes_app: PipesApp) -> None:
    pipes_app.bus.publish({"type": "repo", "action": "created", "repo": "x"})
    pipes_app.bus.publish({"type": "repo", "action": "deleted", "repo": "x"})
    stream = EventStream(lambda e: False)
    request = asyncio.ensure_future(
        api("events", headers={"Last-Event-ID": "1"}, streaming_callback=stream.feed)
    )
    while stream.comments.count("heartbeat") < 2:
        await asyncio.sleep(0.05)
    assert [(e["_id"], e["action"]) for e in stream.events] == [(2, "deleted")]
    await pipes_app.stop_extension()
    resp = await asyncio.wait_for(request, 10)  # the server ends the stream cleanly
    assert resp.code == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
    assert stream.comments[0] == "connected"


async def test_poller_publishes_changes_made_behind_its_back(
    api: Fetch, client: Client, pipes_app: PipesApp, store_path: Any
) -> None:
    stream = EventStream(lambda e: e["type"] == "commit")
    request = asyncio.ensure_future(api("events", streaming_callback=stream.feed))
    await stream.connected.wait()
    await asyncio.sleep(0.7)  # the baseline
    other = Client(str(store_path))  # another handle on the store: the server learns by polling
    other.create_repo("data")
    head = other.put_file("data@master", "/a", b"a").id
    other.close()
    await stream.wait(request, timeout=30)
    assert [e["type"] for e in stream.events] == ["repo", "branch", "commit"]
    assert stream.events[-1]["commit"] == head
    assert json.dumps(stream.events)  # plain JSON


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
