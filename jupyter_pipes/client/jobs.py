"""Running jobs (controllers and waits) and global commits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

from ._base import ClientBase

if TYPE_CHECKING:  # imported on use: a client that only reads data never loads Dask
    from ..pipeline.controller import Controller
    from ..pipeline.manager import Pipelines
    from ..pipeline.records import GlobalCommitInfo, JobInfo
    from ..store.records import BranchInfo, CommitInfo


class _JobsHost(Protocol):
    """What the waiting and following verbs use of the other parts of the Client (history and
    pipelines): :class:`~jupyter_pipes.Client` composes them all."""

    @property
    def _pipelines(self) -> Pipelines: ...

    def controller(self, progress: Any = None) -> Controller: ...

    def inspect_job(self, job_id: str) -> JobInfo: ...

    def inspect_branch(self, branch: str) -> BranchInfo: ...

    def list_commit(
        self, ref: str, *, limit: int | None = None, offset: int = 0
    ) -> list[CommitInfo]: ...

    def change_marker(self) -> tuple[object, ...]: ...


class JobsMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    # -- running jobs -----------------------------------------------------------------------------

    def controller(self, progress: Any = None) -> Controller:
        """A controller that runs this store's jobs on this client's Dask cluster."""
        from ..pipeline.controller import Controller
        from ..pipeline.executor import Executor

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
        self: _JobsHost, job_id: str, *, timeout: float | None = None, progress: Any = None
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

    # -- job control (pachctl's stop job, delete job, restart datum; rerun job) --------------

    def stop_job(self, job_id: str) -> list[JobInfo]:
        """Stop a job (``job_id``: an id, a unique prefix or ``pipeline@id``): it becomes
        ``killed``, its running datums are cancelled on the Dask cluster, no output commit is
        made, and the jobs of its global commit downstream of it are killed too. The jobs
        killed, this one first. ``Conflict`` if it is done already.

        Example
        -------
        >>> c.stop_job("edges@3f2a9c1e")  # doctest: +SKIP
        """
        killed = self._pipelines.stop_job(job_id)
        if self._executor is not None:  # this process runs it: cancel at once (else its
            for job in killed:  # controller sees the row within a second and cancels)
                self._executor.cancel_job(job.id)
        return killed

    def delete_job(self, job_id: str) -> None:
        """Delete a finished job that made no output (failed, killed, unrunnable) and its datum
        rows. ``Conflict`` for a job not done (stop it first) or a successful one (delete its
        global commit instead: ``delete_global_commit``)."""
        self._pipelines.delete_job(job_id)

    def rerun_job(self, job_id: str, *, reprocess: bool = False) -> JobInfo:
        """Run a done job again: a new job of its pipeline (with the pipeline's current spec)
        on the same input commits that job read — not on the inputs' current heads, which is
        :meth:`run_pipeline` — in a global commit of its own; pipelines downstream then run on
        its output. Datums that succeeded before are reused unless ``reprocess``. The new
        job (queued: a controller runs it). Its output becomes the output branch's head even
        if newer inputs exist (a background controller runs it if no controller is alive; see
        docs/controller.md). ``Conflict`` for a job not done, a job whose upstream job never
        made its input, or a pipeline whose input branches changed since the job.

        Example
        -------
        >>> c.wait_job(c.rerun_job("edges@3f2a9c1e").id)  # doctest: +SKIP
        """
        job = self._pipelines.rerun_job(job_id, reprocess=reprocess)
        if self._autostart is not None:
            self._autostart.ensure()
        return job

    def restart_datum(self, job_id: str, datum_id: str) -> None:
        """Restart a datum of a running job: its current run (command or kernel) is killed and
        it runs again from the start; the restart is not counted as a try. ``Conflict`` if the
        job is not running or the datum has finished."""
        self._pipelines.restart_datum(job_id, datum_id)

    # -- following -----------------------------------------------------------------------------

    def follow_logs(
        self: _JobsHost,
        job_id: str,
        datum_id: str | None = None,
        *,
        poll_s: float = 0.5,
        timeout: float | None = None,
    ) -> Iterator[str]:
        """The logs of a job's datums as each datum finishes (each headed by its id), until
        the job is done (``logs -f``). The job may run anywhere; this only reads."""
        job = self.inspect_job(job_id)
        seen: set[str] = set()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            done = self.inspect_job(job.id).done  # read first: a datum then is never missed
            for d in self._pipelines.list_datum(job.id):
                if d.id in seen or d.state in ("skipped", "running"):
                    continue
                if datum_id and not d.id.startswith(datum_id):
                    continue
                seen.add(d.id)
                text = self._pipelines.datum_blob(job.id, d.id, "log").decode(errors="replace")
                yield f"--- datum {d.id} ({d.state})\n{text}"
            if done:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"timed out following job {job.id}")
            time.sleep(poll_s)

    def subscribe_commit(
        self: _JobsHost,
        branch: str,
        *,
        new: bool = False,
        poll_s: float = 0.2,
        timeout: float | None = None,
    ) -> Iterator[CommitInfo]:
        """Each finished commit of ``repo@branch`` as it becomes the head, oldest first
        (``subscribe commit``): first the branch's history (unless ``new``), then every new
        head, forever (or until ``timeout`` seconds pass without one: ``TimeoutError``)."""
        from ..store.refs import parse_branch

        repo, name = parse_branch(branch)
        ref = f"{repo}@{name}"
        self.inspect_branch(ref)  # NotFound before anything is printed
        seen: set[str] = set()
        history = self.list_commit(ref)
        if new:
            seen.update(c.id for c in history)
        else:
            for c in reversed(history):
                seen.add(c.id)
                yield c
        marker = None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            now = self.change_marker()
            if now != marker:
                marker = now
                fresh = []
                for c in self.list_commit(ref, limit=100):
                    if c.id in seen:
                        break
                    if c.state == "finished":
                        fresh.append(c)
                for c in reversed(fresh):
                    seen.add(c.id)
                    yield c
                if fresh and timeout is not None:
                    deadline = time.monotonic() + timeout
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"no new commit on {ref} for {timeout} s")
            time.sleep(poll_s)
