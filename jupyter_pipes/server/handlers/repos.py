"""Routes of repos, branches, revert and the DAG."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import InvalidArgument
from .base import PipesHandler


class ReposHandler(PipesHandler):
    """``/repos``: list and create repos."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        repos = await self.call(self.client.list_repo)
        self.reply({"items": [r.to_dict() for r in repos]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        name, description = body.get("name"), body.get("description", "")
        if not isinstance(description, str):
            raise InvalidArgument("description: expected a string", field="description")
        repo = await self.call(self.client.create_repo, name, description)
        self.reply(repo.to_dict(), 201)


class RepoHandler(PipesHandler):
    """``/repos/{repo}``: inspect and delete one repo."""

    @web.authenticated
    @authorized
    async def get(self, repo: str) -> None:
        info = await self.call(self.client.inspect_repo, repo)
        self.reply(info.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, repo: str) -> None:
        await self.call(self.client.delete_repo, repo, force=self.flag("force"))
        self.set_status(204)
        self.finish()


class BranchesHandler(PipesHandler):
    """``/repos/{repo}/branches``: a repo's branches."""

    @web.authenticated
    @authorized
    async def get(self, repo: str) -> None:
        branches = await self.call(self.client.list_branch, repo)
        self.reply({"items": [b.to_dict() for b in branches]})


class BranchHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}``: inspect, create or move (PUT), delete."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, branch: str) -> None:
        info = await self.call(self.client.inspect_branch, f"{repo}@{branch}")
        self.reply(info.to_dict())

    @web.authenticated
    @authorized
    async def put(self, repo: str, branch: str) -> None:
        head = self.json_body().get("head")
        if head is not None and not isinstance(head, str):
            raise InvalidArgument("head: expected a ref (a commit id or branch)", field="head")
        info = await self.call(self.client.create_branch, f"{repo}@{branch}", head=head)
        self.reply(info.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, repo: str, branch: str) -> None:
        await self.call(self.client.delete_branch, f"{repo}@{branch}")
        self.set_status(204)
        self.finish()


class RevertHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}/revert``: a new commit restoring an older one."""

    @web.authenticated
    @authorized
    async def post(self, repo: str, branch: str) -> None:
        body = self.json_body()
        to, message = body.get("to"), body.get("message")
        if not isinstance(to, str) or not to:
            raise InvalidArgument("to: give the ref to revert to", field="to")
        if message is not None and not isinstance(message, str):
            raise InvalidArgument("message: expected a string", field="message")
        commit = await self.call(self.client.revert, f"{repo}@{branch}", to, message=message)
        self.reply(commit.to_dict(), 201)


class DagHandler(PipesHandler):
    """``/dag``: repos and pipelines as one graph, each node with its current state."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.reply(await self.call(self.client.dag))
