"""Live events for changes made by any process: a poller that diffs snapshots of the store.

Commits, branch moves and jobs can come from other processes (the CLI, notebooks, another
controller), so the server cannot learn of them from its own calls. Every ``interval`` seconds
the poller reads :meth:`Client.change_marker <jupyter_pipes.Client.change_marker>` (a counter
that every head move, pipeline and job write bumps, and the count of repos and branches: two
one-row queries); only when it moved does it take a snapshot (repos, branch heads, pipeline
versions, recent and active jobs) on a worker thread and emit the differences on the
server's event logger (:mod:`jupyter_pipes.server.events`). An idle
server therefore does no work per pipeline. The controller thread also reports its
jobs at once through :meth:`Poller.observe_job`; both paths go through one de-duplication, so a
change is published once, and a stale snapshot never moves a job backwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..client import Client
from ..errors import NotFound
from .events import Emitter, Event
from .views import job_dict

log = logging.getLogger(__name__)
JOB_WINDOW = 100
"""How many of the newest jobs each snapshot looks at (plus every job still running)."""
_RANK = {"created": 0, "running": 1}  # every other state is final: rank 2


@dataclass
class Snapshot:
    """What the store looked like at one instant (as far as events are concerned)."""

    repos: set[str] = field(default_factory=set)
    heads: dict[tuple[str, str], str | None] = field(default_factory=dict)
    pipelines: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, Event] = field(default_factory=dict)


def take_snapshot(client: Client, active_jobs: Iterable[str] = ()) -> Snapshot:
    """Read a snapshot through the Client (blocking: run it on a worker thread).

    Three listings: every branch head, the pipelines, the newest ``JOB_WINDOW`` jobs (plus one
    query per job still running outside that window). Their cost grows with the number of
    branches and pipelines, not with commits or files; the poller takes a snapshot only when
    the change marker moved. The repos are those with a branch (every repo is created with
    ``master``).
    """
    snap = Snapshot()
    for b in client.list_branch():
        snap.repos.add(b.repo)
        snap.heads[(b.repo, b.name)] = b.head
    snap.pipelines = {p.name: p.version for p in client.list_pipeline()}
    snap.jobs = {j.id: job_dict(j) for j in client.list_job(limit=JOB_WINDOW)}
    for job_id in active_jobs:
        if job_id not in snap.jobs:
            with contextlib.suppress(NotFound):
                snap.jobs[job_id] = job_dict(client.inspect_job(job_id))
    return snap


def diff(old: Snapshot, new: Snapshot) -> list[Event]:
    """The repo, branch, commit and pipeline events that lead from ``old`` to ``new``."""
    events: list[Event] = []
    for name in sorted(new.repos - old.repos):
        events.append({"type": "repo", "action": "created", "repo": name})
    for name in sorted(old.repos - new.repos):
        events.append({"type": "repo", "action": "deleted", "repo": name})
    for (repo, branch), head in sorted(new.heads.items()):
        if (repo, branch) not in old.heads:
            events.append(
                {
                    "type": "branch",
                    "action": "created",
                    "repo": repo,
                    "branch": branch,
                    "head": head,
                }
            )
            previous = None
        else:
            previous = old.heads[(repo, branch)]
        if head != previous:
            events.append(
                {
                    "type": "commit",
                    "repo": repo,
                    "branch": branch,
                    "commit": head,
                    "previous": previous,
                }
            )
    for (repo, branch), head in sorted(old.heads.items()):
        if (repo, branch) not in new.heads and repo in new.repos:
            events.append(
                {
                    "type": "branch",
                    "action": "deleted",
                    "repo": repo,
                    "branch": branch,
                    "head": head,
                }
            )
    for name, version in sorted(new.pipelines.items()):
        before = old.pipelines.get(name)
        if before != version:
            action = "created" if before is None else "updated"
            events.append(
                {"type": "pipeline", "action": action, "pipeline": name, "version": version}
            )
    for name in sorted(old.pipelines.keys() - new.pipelines.keys()):
        events.append({"type": "pipeline", "action": "deleted", "pipeline": name})
    return events


def _job_key(job: Event) -> tuple[int, int, tuple[Any, ...]]:
    """(rank of the state, work done, everything an event reports) of a job dict."""
    done = job["processed"] + job["skipped"] + job["failed"]
    fields = (job["state"], job["total"], job["processed"], job["skipped"], job["failed"])
    return _RANK.get(job["state"], 2), done, (*fields, job.get("output_commit"))


class Poller:
    """Emits store changes as live events (runs on the server's event loop).

    Parameters
    ----------
    client:
        The server's Client.
    events:
        Where events go (the server's :class:`~jupyter_pipes.server.events.Emitter`).
    run_blocking:
        Runs a blocking call on a worker thread (the app's thread pool).
    interval:
        Seconds between two snapshots.
    """

    def __init__(
        self,
        client: Client,
        events: Emitter,
        run_blocking: Callable[..., Awaitable[Any]],
        interval: float = 0.5,
    ) -> None:
        self.client = client
        self.events = events
        self.interval = interval
        self._run_blocking = run_blocking
        self._jobs: dict[str, tuple[int, int, tuple[Any, ...]]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start polling (on the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop polling."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def observe_job(self, job: Event) -> None:
        """Publish a job's state if it is news (newer than what was last published)."""
        key = _job_key(job)
        old = self._jobs.get(job["id"])
        if old is not None and (key[:2] < old[:2] or key == old):
            return  # nothing new, or a stale look at a job that has moved on
        self._jobs[job["id"]] = key
        self.events.publish({"type": "job", **job})

    async def _run(self) -> None:
        last: Snapshot | None = None
        marker: tuple[object, ...] | None = None
        failing = False
        while True:
            try:
                now = await self._run_blocking(self.client.change_marker)
                if last is not None and now == marker:
                    await asyncio.sleep(self.interval)
                    continue
                marker = now
                active = [j for j, key in self._jobs.items() if key[0] < 2]
                snap = await self._run_blocking(take_snapshot, self.client, active)
                if last is None:  # the baseline: remember, publish nothing
                    self._jobs.update({j: _job_key(d) for j, d in snap.jobs.items()})
                else:
                    for event in diff(last, snap):
                        self.events.publish(event)
                    for job in sorted(snap.jobs.values(), key=lambda d: d["created"]):
                        self.observe_job(job)
                # forget jobs out of the window, and active ones that are gone (pipeline deleted)
                self._jobs = {
                    j: k
                    for j, k in self._jobs.items()
                    if j in snap.jobs or (k[0] < 2 and j not in active)
                }
                last, failing = snap, False
            except Exception:  # a storage hiccup must not end live events for good
                if not failing:
                    log.exception("jupyter_pipes: polling the store for events failed")
                failing = True
            await asyncio.sleep(self.interval)
