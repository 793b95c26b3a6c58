"""Running jobs: controllers and waits."""

from __future__ import annotations

from typing import Any

from ..pipeline.controller import Controller
from ..pipeline.executor import Executor
from ..pipeline.records import JobInfo
from ._base import ClientBase


class JobsMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    # -- running jobs -----------------------------------------------------------------------------

    def controller(self, progress: Any = None) -> Controller:
        """A controller that runs this store's jobs on this client's Dask cluster."""
        if self._executor is None:
            memory = self._store.url.startswith("memory://")
            self._executor = Executor(
                self._scheduler, n_workers=self._n_workers, processes=False if memory else None
            )
        return Controller(self._pipelines, self._executor, progress=progress)

    def wait_job(
        self, job_id: str, *, timeout: float | None = None, progress: Any = None
    ) -> JobInfo:
        """Run pending jobs here until ``job_id`` is done (another controller may run it)."""
        job = self.inspect_job(job_id)
        self.controller(progress).run_until(
            lambda: self.inspect_job(job.id).done, timeout_s=timeout
        )
        return self.inspect_job(job.id)

    def wait_commit(
        self, ref: str, *, timeout: float | None = None, progress: Any = None
    ) -> list[JobInfo]:
        """Run pending jobs until every job triggered (transitively) by this commit is done;
        those jobs, oldest first."""
        commit = self.inspect_commit(ref).id
        self.controller(progress).run_until(
            lambda: not self._pipelines.pending(commit), timeout_s=timeout
        )
        return self._pipelines.jobs_of(commit)

    def run_jobs(self, *, timeout: float | None = None, progress: Any = None) -> None:
        """Run every pending job (and those they trigger) until none is left."""
        self.controller(progress).run_until(
            lambda: not self._pipelines.pending(None), timeout_s=timeout
        )
