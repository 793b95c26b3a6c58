"""Routes of jobs and datums: lists (paginated), details, executed notebooks and logs."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import InvalidArgument
from ..views import job_dict
from .base import PipesHandler
from .files import RawContentMixin


class JobsHandler(PipesHandler):
    """``/jobs?pipeline=&state=``: jobs newest first, of one pipeline or all (``state``:
    repeat, or comma-separate, for several)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit, offset = self.page()
        raw = [self.decode_argument(v) for v in self.request.query_arguments.get("state", [])]
        states = [s for v in raw for s in v.split(",") if s] or None
        jobs = await self.call(
            self.client.list_job, self.arg("pipeline"), limit=limit + 1, offset=offset,
            state=states,
        )  # fmt: skip
        self.reply_page(jobs, limit, offset, job_dict)


class JobHandler(PipesHandler):
    """``/jobs/{job}``: one job with its state, datum counts, timings and error (``{job}``: an
    id, a unique prefix or ``pipeline@id``); DELETE deletes a finished job that made no output
    (``delete job``)."""

    @web.authenticated
    @authorized
    async def get(self, job: str) -> None:
        info = await self.call(self.client.inspect_job, job)
        self.reply(job_dict(info))

    @web.authenticated
    @authorized
    async def delete(self, job: str) -> None:
        await self.call(self.client.delete_job, job)
        self.set_status(204)
        self.finish()


class StopJobHandler(PipesHandler):
    """``/jobs/{job}/stop``: POST stops the job (``stop job``): it and the jobs of its global
    commit downstream of it become ``killed``; answers those jobs."""

    @web.authenticated
    @authorized
    async def post(self, job: str) -> None:
        killed = await self.call(self.client.stop_job, job)
        self.reply({"items": [job_dict(j) for j in killed]})


class RerunJobHandler(PipesHandler):
    """``/jobs/{job}/rerun``: POST ``{"reprocess": bool}`` queues a new job of a done job's
    pipeline on the input commits that job read (``rerun job``); 201 with the new job."""

    @web.authenticated
    @authorized
    @authorized("execute", resource="kernels")
    async def post(self, job: str) -> None:
        reprocess = self.json_body().get("reprocess", False)
        if not isinstance(reprocess, bool):
            raise InvalidArgument("reprocess: expected true or false", field="reprocess")
        info = await self.call(self.client.rerun_job, job, reprocess=reprocess)
        self.reply(job_dict(info), 201)


class RestartDatumHandler(PipesHandler):
    """``/jobs/{job}/datums/{datum}/restart``: POST restarts a datum of a running job
    (``restart datum``); 202: its controller restarts it within a second."""

    @web.authenticated
    @authorized
    async def post(self, job: str, datum: str) -> None:
        await self.call(self.client.restart_datum, job, datum)
        self.reply({"job": job, "datum": datum}, 202)


class JobLogsHandler(RawContentMixin, PipesHandler):
    """``/jobs/{job}/logs``: the logs of every processed datum, as text."""

    @web.authenticated
    @authorized
    async def get(self, job: str) -> None:
        text = await self.call(self.client.get_logs, job)
        self.finish(text.encode(), set_content_type="text/plain; charset=utf-8")


class DatumsHandler(PipesHandler):
    """``/jobs/{job}/datums``: a job's datums (processed, skipped and failed)."""

    @web.authenticated
    @authorized
    async def get(self, job: str) -> None:
        limit, offset = self.page()
        datums = await self.call(self.client.list_datum, job, limit=limit + 1, offset=offset)
        self.reply_page(datums, limit, offset)


class DatumHandler(PipesHandler):
    """``/jobs/{job}/datums/{datum}``: one datum."""

    @web.authenticated
    @authorized
    async def get(self, job: str, datum: str) -> None:
        info = await self.call(self.client.inspect_datum, job, datum)
        self.reply(info.to_dict())


class DatumNotebookHandler(RawContentMixin, PipesHandler):
    """``/jobs/{job}/datums/{datum}/notebook[?download=1]``: the executed notebook (JSON)."""

    @web.authenticated
    @authorized
    async def get(self, job: str, datum: str) -> None:
        data = await self.call(self.client.get_datum_notebook, job, datum)
        if self.flag("download"):
            self.attachment(f"{job}-{datum}.ipynb")
        self.finish(data, set_content_type="application/json")


class DatumLogHandler(RawContentMixin, PipesHandler):
    """``/jobs/{job}/datums/{datum}/log``: what the datum printed, as text."""

    @web.authenticated
    @authorized
    async def get(self, job: str, datum: str) -> None:
        text = await self.call(self.client.get_logs, job, datum)
        self.finish(text.encode(), set_content_type="text/plain; charset=utf-8")
