"""Routes of pipelines: create and update from a spec body, inspect, delete, run.

The body of a create or update is the spec, as JSON or YAML. A notebook path in it is relative
to the server's root directory and must stay inside it (after resolving symbolic links), as any
file the Jupyter server hands out does. Defining or running a pipeline runs code on the server,
so these requests also need the ``execute`` permission on ``kernels``.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import InvalidArgument
from ...pipeline.records import DownstreamInfo
from ...pipeline.spec import LoadedSpec, load_spec
from ..util import resolve_notebook
from ..views import job_dict
from .base import PipesHandler


class SpecBodyMixin(PipesHandler):
    """Reads and checks a spec from the request body."""

    async def spec_body(self) -> LoadedSpec:
        """The body's one spec, read and checked, with its ignored fields (``InvalidArgument``
        names the bad field)."""
        body = self.request.body
        if not body.strip():
            raise InvalidArgument("the request body must be a pipeline spec (JSON or YAML)")
        loaded = await self.call(load_spec, body)  # off the event loop; bytes are never a path
        spec = loaded.spec
        if spec.transform.notebook is not None:
            resolve_notebook(
                spec.transform.notebook,
                self.serverapp.root_dir,
                allow_hidden=self.serverapp.contents_manager.allow_hidden,
            )
        if spec.serve is not None:  # the serving notebook (#16) is read from the same root
            resolve_notebook(
                spec.serve.notebook,
                self.serverapp.root_dir,
                allow_hidden=self.serverapp.contents_manager.allow_hidden,
                field="serve.notebook",
            )
        return loaded


class PipelinesHandler(SpecBodyMixin):
    """``/pipelines``: list (``?history=N``: with up to N versions of each, ``-1``: all), and
    create from a spec."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        history = self.int_arg("history", 0, minimum=-1)  # ``list pipeline --history N``
        pipelines = await self.call(self.client.list_pipeline, history=history or None)
        self.reply({"items": [p.to_dict() for p in pipelines]})

    @web.authenticated
    @authorized
    @authorized("execute", resource="kernels")
    async def post(self) -> None:
        loaded = await self.spec_body()
        info = await self.call(
            self.client.create_pipeline, loaded, base_dir=self.serverapp.root_dir
        )
        self.reply(info.to_dict(), 201)


class PipelineHandler(SpecBodyMixin):
    """``/pipelines/{pipeline}``: inspect, update (PUT a spec; ``?reprocess=1``), delete
    (``?keep_repo=1`` keeps the output repo)."""

    @web.authenticated
    @authorized
    async def get(self, pipeline: str) -> None:
        info = await self.call(self.client.inspect_pipeline, pipeline)
        self.reply(info.to_dict())

    @web.authenticated
    @authorized
    @authorized("execute", resource="kernels")
    async def put(self, pipeline: str) -> None:
        loaded = await self.spec_body()
        if loaded.spec.name != pipeline:
            raise InvalidArgument(
                f"pipeline.name: the spec names {loaded.spec.name!r}, the URL {pipeline!r}",
                field="pipeline.name",
            )
        info = await self.call(
            self.client.update_pipeline,
            loaded,
            reprocess=self.flag("reprocess"),
            base_dir=self.serverapp.root_dir,
        )
        self.reply(info.to_dict())

    @web.authenticated
    @authorized
    async def delete(self, pipeline: str) -> None:
        await self.call(self.client.delete_pipeline, pipeline, keep_repo=self.flag("keep_repo"))
        self.set_status(204)
        self.finish()


class RunPipelineHandler(PipesHandler):
    """``/pipelines/{pipeline}/jobs``: POST queues a job on the inputs' current heads."""

    @web.authenticated
    @authorized
    @authorized("execute", resource="kernels")
    async def post(self, pipeline: str) -> None:
        reprocess = self.json_body().get("reprocess", False)
        if not isinstance(reprocess, bool):
            raise InvalidArgument("reprocess: expected true or false", field="reprocess")
        job = await self.call(self.client.run_pipeline, pipeline, reprocess=reprocess)
        self.reply(job_dict(job), 201)


class DownstreamHandler(PipesHandler):
    """``/repos/{repo}/branches/{branch}/downstream``: the pipelines a move of the branch runs
    (each once, upstream first) — what the sidebar shows before a revert — and the jobs of
    those pipelines that its head caused (see :func:`downstream_dict`)."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, branch: str) -> None:
        info = await self.call(self.client.inspect_downstream, f"{repo}@{branch}")
        self.reply(downstream_dict(info))


class CommitDownstreamHandler(PipesHandler):
    """``/repos/{repo}/commits/{ref}/downstream``: what re-runs downstream of a commit — the
    pipelines a move of its branch to it runs, and the jobs it caused among them."""

    @web.authenticated
    @authorized
    async def get(self, repo: str, ref: str) -> None:
        info = await self.call(self.client.inspect_downstream, f"{repo}@{ref}")
        self.reply(downstream_dict(info))


def downstream_dict(info: DownstreamInfo) -> dict[str, Any]:
    """``{repo, branch, commit, global_id, pipelines: [names], jobs: [job]}`` (jobs as the job
    routes show them)."""
    return {**info.to_dict(), "jobs": [job_dict(j) for j in info.jobs]}
