"""Routes of commits: history (paginated), detail with lineage, and diffs (file listings
live in :mod:`.files`).

``{ref}`` in a path is anything the Client reads after ``repo@``: a commit id or unique
prefix, a global commit id (the repo's commit of that global commit), a branch, or an ancestor
(``master^2``, ``master~3``), url-encoded. ``/global-commits/{commit}`` shows a global commit.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...pipeline.records import GlobalCommitInfo
from ..views import job_dict
from .base import PipesHandler

MAX_WAIT_S = 600
WAIT_POLL_S = 0.2


class CommitsHandler(PipesHandler):
    """``/repos/{repo}/commits``: newest first, every commit or one branch's history."""

    @web.authenticated
    @authorized
    async def get(self, repo: str) -> None:
        limit, offset = self.page()
        branch = self.arg("branch")
        ref = f"{repo}@{branch}" if branch else repo
        commits = await self.call(self.client.list_commit, ref, limit=limit + 1, offset=offset)
        self.reply_page(commits, limit, offset)


class CommitHandler(PipesHandler):
    """``/repos/{repo}/commits/{ref}``: one commit, its provenance and its subvenance."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        commit = await self.call(self.client.inspect_commit, f"{repo}@{ref}")
        downstream = await self.call(self.client.list_subvenance, f"{repo}@{commit.id}")
        self.reply({**commit.to_dict(), "subvenance": [c.to_dict() for c in downstream]})


class DiffHandler(PipesHandler):
    """``/repos/{repo}/commits/{ref}/diff?old=<ref>&path=/``: what changed since ``old``
    (default: the parent)."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        old = self.arg("old")
        if old and "@" not in old:
            old = f"{repo}@{old}"
        entries = await self.call(
            self.client.diff_file, f"{repo}@{ref}", self.arg("path", "/"), old=old
        )
        self.reply({"items": [e.to_dict() for e in entries]})


class GlobalCommitHandler(PipesHandler):
    """``/global-commits/{commit}``: a global commit (Pachyderm's commit set) — the change and
    every output commit it caused, and its jobs (GET; ``?wait=SECONDS`` answers once every job
    is done, or when the time is up: ``pachctl wait commit <id>``, the server's controller
    runs the jobs); DELETE deletes all its commits and jobs at once (each branch goes back;
    nothing re-runs)."""

    @web.authenticated
    @authorized
    async def get(self, commit: str) -> None:
        wait = self.int_arg("wait", 0, maximum=MAX_WAIT_S)
        deadline = time.monotonic() + wait
        info = await self.call(self.client.inspect_global_commit, commit)
        while not info.done and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL_S)
            info = await self.call(self.client.inspect_global_commit, info.id)
        self.reply(global_commit_dict(info))

    @web.authenticated
    @authorized
    async def delete(self, commit: str) -> None:
        await self.call(self.client.delete_global_commit, commit)
        self.set_status(204)
        self.finish()


class SquashGlobalCommitHandler(PipesHandler):
    """``/global-commits/{commit}/squash``: POST removes every commit of a global commit from
    history (their children keep their files)."""

    @web.authenticated
    @authorized
    async def post(self, commit: str) -> None:
        squashed = await self.call(self.client.squash_global_commit, commit)
        self.reply({"items": [c.to_dict() for c in squashed]})


def global_commit_dict(info: GlobalCommitInfo) -> dict[str, Any]:
    """A global commit's record, with each job as the job routes show it, and ``done``."""
    return {**info.to_dict(), "jobs": [job_dict(j) for j in info.jobs], "done": info.done}
