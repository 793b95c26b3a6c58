"""Running jobs (controllers and waits) and global commits."""

from __future__ import annotations

from typing import Any

from ..pipeline.controller import Controller
from ..pipeline.executor import Executor
from ..pipeline.records import GlobalCommitInfo, JobInfo
from ..store.records import CommitInfo
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

    def stop_cluster(self) -> None:
        """Stop this client's Dask client and the local cluster it started, if any (the next
        job starts them again). The server does this when it has been idle for a while."""
        if self._executor is not None:
            self._executor.close()

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
        """Run pending jobs until every job of a global commit is done; those jobs, upstream
        first.

        ``ref`` is a global commit id (or a unique prefix), ``repo@<commit>`` (that commit's
        global commit: for a commit made by a user, the jobs it caused, transitively) or
        ``repo@branch`` (the global commit that moved the branch to its current head).
        """
        gid = self._pipelines.global_id_of(ref)
        self.controller(progress).run_until(
            lambda: not self._pipelines.pending(gid), timeout_s=timeout
        )
        return self._pipelines.jobs_of(gid)

    def run_jobs(self, *, timeout: float | None = None, progress: Any = None) -> None:
        """Run every pending job (and those they trigger) until none is left."""
        self.controller(progress).run_until(
            lambda: not self._pipelines.pending(None), timeout_s=timeout
        )

    # -- global commits ---------------------------------------------------------------------------

    def inspect_global_commit(self, ref: str) -> GlobalCommitInfo:
        """A global commit (Pachyderm's commit set): the change and every output commit it
        caused, and its jobs. ``ref``: a global id or unique prefix, or a commit ref (its
        global commit; see :meth:`wait_commit`)."""
        return self._pipelines.inspect_global_commit(self._pipelines.global_id_of(ref))

    def is_global_commit(self, text: str) -> bool:
        """Whether ``text`` (without ``@``) is the id, or a unique prefix, of a global commit
        (what the CLI and REST accept where pachctl 2.x takes a commit set id)."""
        return self._pipelines.is_global_id(text)

    def delete_global_commit(self, global_id: str) -> list[CommitInfo]:
        """Delete every commit of a global commit — the change and its outputs — and its jobs,
        in one transaction: each branch goes back to where it was, and no job runs. Each
        commit must be its branch's head; refused while its jobs are not done or newer
        results were computed from it. The commits deleted."""
        return self._pipelines.drop_global_commit(global_id)

    def squash_global_commit(self, global_id: str) -> list[CommitInfo]:
        """Remove every commit of a global commit from history; their children keep their
        full trees (nothing is lost). None may be a branch head. The commits squashed."""
        return self._pipelines.drop_global_commit(global_id, squash=True)
