"""``jupyter_pipes.Client``: the one public Python API, named after pachctl's verbs.

Refs are strings in pachctl's grammar: ``"repo"`` (= ``repo@master``), ``"repo@branch"``,
``"repo@<commit id or unique prefix>"``, ``"repo@branch^2"``, ``"repo@branch~3"``. Paths inside a
repo are absolute (``/dir/file.csv``); directories are listed with a trailing ``/``.

Example
-------
>>> from jupyter_pipes import Client
>>> c = Client("memory://doc")
>>> _ = c.create_repo("data")
>>> _ = c.put_file("data@master", "/hello.txt", b"hi")
>>> c.get_file("data@master", "/hello.txt")
b'hi'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .errors import Conflict, InvalidArgument, NotFound
from .pipeline.controller import Controller
from .pipeline.executor import Executor
from .pipeline.manager import Pipelines
from .pipeline.records import DatumInfo, JobInfo, PipelineInfo
from .store import maintenance
from .store.commit import OpenCommit, Source
from .store.records import (
    BranchInfo,
    CommitInfo,
    CommitRef,
    DiffEntry,
    FileInfo,
    FsckReport,
    GcReport,
    RepoInfo,
)
from .store.refs import parse_branch, parse_file_ref, parse_ref
from .store.store import Store

Progress = Callable[[int], None]


class Client:
    """A handle on one store.

    Parameters
    ----------
    store:
        Where the store lives: a local folder, ``memory://name`` or ``s3://bucket/prefix``.
        Default: ``$JUPYTER_PIPES_STORE``, else ``.pipes`` in the working directory (created on
        first use).
    db_url:
        SQLAlchemy URL of the metadata database. Default: ``$JUPYTER_PIPES_DB``, else a SQLite
        file inside a local store (an in-memory one for ``memory://``).
    scheduler:
        Address of an existing Dask scheduler for running jobs. Default:
        ``$JUPYTER_PIPES_DASK_SCHEDULER``, else a local cluster started on first use.
    n_workers:
        Workers of that local cluster (default: the number of CPUs, at most 4).
    **storage_options:
        Passed to fsspec (e.g. ``endpoint_url`` for S3).
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        scheduler: str | None = None,
        n_workers: int | None = None,
        **storage_options: Any,
    ) -> None:
        self._store = Store(store, db_url=db_url, **storage_options)
        self._pipelines = Pipelines(self._store)
        self._store.gc_roots.append(self._pipelines.gc_roots)
        self._scheduler = scheduler
        self._n_workers = n_workers
        self._executor: Executor | None = None

    @property
    def store(self) -> Store:
        """The underlying :class:`~jupyter_pipes.store.store.Store` (for the pipeline layer)."""
        return self._store

    @property
    def store_url(self) -> str:
        """Where the objects live."""
        return self._store.url

    def close(self) -> None:
        """Release database connections and stop a local Dask cluster this client started."""
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        self._store.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- repos ---------------------------------------------------------------------------------

    def create_repo(self, name: str, description: str = "", *, exist_ok: bool = False) -> RepoInfo:
        """Create a repo (with an empty ``master`` branch)."""
        return self._store.create_repo(name, description, exist_ok=exist_ok)

    def list_repo(self) -> list[RepoInfo]:
        """Every repo, by name."""
        return self._store.list_repo()

    def inspect_repo(self, name: str) -> RepoInfo:
        """One repo: branches, size of its master head, last commit."""
        return self._store.inspect_repo(name)

    def delete_repo(self, name: str, *, force: bool = False) -> None:
        """Delete a repo; refused while pipelines read it or other repos hold results computed
        from it (unless ``force``), and for a pipeline's output repo (delete the pipeline)."""
        if self._pipelines.is_pipeline(name):
            raise Conflict(
                f"repo {name!r} is the output of pipeline {name!r}; delete the pipeline instead",
                repo=name,
            )
        users = self._pipelines.users_of_repo(name)
        if users and not force:
            raise Conflict(
                f"repo {name!r} is an input of pipeline(s) {', '.join(users)}; "
                "delete those first, or force the deletion",
                repo=name,
                pipelines=users,
            )
        self._store.delete_repo(name, force=force)

    # -- writing files -------------------------------------------------------------------------

    @contextmanager
    def start_commit(
        self,
        branch: str,
        *,
        message: str = "",
        provenance: tuple[CommitRef, ...] = (),
        origin: str = "user",
    ) -> Iterator[OpenCommit]:
        """Open a commit on ``repo@branch`` for several changes in one atomic commit.

        The commit becomes visible when the ``with`` block ends, and is aborted (nothing
        changes) if the block raises::

            with client.start_commit("data@master", message="new batch") as c:
                c.put_file("/a.csv", "local/a.csv")
                c.delete_file("/old.csv")
            print(c.id)
        """
        repo, name = parse_branch(branch)
        oc = self._store.start_commit(
            repo,
            name,
            message=message,
            provenance=provenance,
            origin=origin,  # type: ignore[arg-type]
        )
        try:
            yield oc
        except BaseException:
            oc.abort()
            raise
        oc.finish()

    def put_file(
        self,
        branch: str,
        path: str,
        source: Source,
        *,
        append: bool = False,
        message: str = "",
        progress: Progress | None = None,
    ) -> CommitInfo:
        """Write one file (or a local folder, recursively) as a new commit on ``repo@branch``.

        ``source`` is the content as ``bytes``, a local path (``str``/``Path``; a folder is put
        recursively under ``path``), or a binary file-like object. ``append=True`` appends to
        the existing file instead of replacing it.
        """
        repo, name = parse_branch(branch)
        oc = self._store.start_commit(repo, name, message=message)
        try:
            oc.put_file(path, source, append=append, progress=progress)
        except BaseException:
            oc.abort()
            raise
        return oc.finish()

    def delete_file(self, branch: str, path: str, *, message: str = "") -> CommitInfo:
        """Delete a file or directory, as a new commit (``NotFound`` if it does not exist)."""
        repo, name = parse_branch(branch)
        self._store.inspect_file(parse_ref(f"{repo}@{name}"), path)
        with self.start_commit(branch, message=message) as oc:
            oc.delete_file(path)
        return self._store.inspect_commit_id(oc.id)

    def copy_file(self, src: str, branch: str, dst_path: str, *, message: str = "") -> CommitInfo:
        """Copy ``repo@ref:/path`` (a file or a whole directory, without copying bytes) to
        ``dst_path`` on ``branch``, as a new commit."""
        ref, path = parse_file_ref(src)
        entry = self._store.entry(ref, path)
        with self.start_commit(branch, message=message) as oc:
            oc.put_entry(dst_path, entry)
        return self._store.inspect_commit_id(oc.id)

    # -- reading files -------------------------------------------------------------------------

    def get_file(
        self,
        ref: str,
        path: str,
        *,
        dest: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """A file's bytes; with ``dest``, write the file (or a directory, recursively) to that
        local path instead and return the path."""
        r = parse_ref(ref)
        if dest is None:
            return self._store.get_file(r, path)
        return self._store.get_to(r, path, dest, progress)

    def open_file(self, ref: str, path: str) -> tuple[FileInfo, Iterator[bytes]]:
        """A file's info and an iterator over its verified bytes, chunk by chunk (streaming)."""
        return self._store.iter_file(parse_ref(ref), path)

    def inspect_file(self, ref: str, path: str) -> FileInfo:
        """The file or directory at ``path``."""
        return self._store.inspect_file(parse_ref(ref), path)

    def list_file(self, ref: str, path: str = "/") -> list[FileInfo]:
        """A directory's entries (directories end in ``/``), or the file itself."""
        return self._store.list_file(parse_ref(ref), path)

    def walk_file(self, ref: str, path: str = "/") -> list[FileInfo]:
        """Every file and directory under ``path``, recursively, in path order."""
        return list(self._store.walk_file(parse_ref(ref), path))

    def glob_file(self, ref: str, pattern: str) -> list[FileInfo]:
        """Entries matching a Pachyderm glob (``/*``, ``/**.csv``, ``/{a,b}/*`` ...)."""
        return self._store.glob_file(parse_ref(ref), pattern)

    def diff_file(self, new: str, path: str = "/", *, old: str | None = None) -> list[DiffEntry]:
        """Files added, removed or modified from ``old`` (default: the parent) to ``new``."""
        return self._store.diff_file(parse_ref(new), parse_ref(old) if old else None, path)

    # -- commits -------------------------------------------------------------------------------

    def list_commit(
        self, ref: str, *, limit: int | None = None, offset: int = 0
    ) -> list[CommitInfo]:
        """Commits newest first: ``"repo"`` lists all of a repo's, ``"repo@branch"`` that
        branch's history (its head and ancestors)."""
        return self._store.list_commit(parse_ref(ref), limit=limit, offset=offset)

    def inspect_commit(self, ref: str) -> CommitInfo:
        """One commit, with its provenance."""
        r = parse_ref(ref)
        return self._store.resolve(r)

    def list_subvenance(self, ref: str) -> list[CommitInfo]:
        """Commits computed from this one (the reverse of provenance)."""
        return self._store.list_subvenance(parse_ref(ref))

    def squash_commit(self, ref: str) -> None:
        """Remove a commit from history; its children keep every file (no data is lost)."""
        self._store.squash_commit(parse_ref(ref))

    def delete_commit(self, ref: str) -> None:
        """Delete a branch head that has no children; the branch moves back to its parent."""
        self._store.delete_commit(parse_ref(ref))

    def revert(self, branch: str, to: str, *, message: str | None = None) -> CommitInfo:
        """Write a new commit on ``repo@branch`` whose files equal ``to``'s (origin ``revert``)."""
        repo, name = parse_branch(branch)
        to_ref = parse_ref(to if "@" in to else f"{repo}@{to}")
        return self._store.revert(repo, name, to_ref, message)

    # -- branches ------------------------------------------------------------------------------

    def create_branch(self, branch: str, *, head: str | None = None) -> BranchInfo:
        """Create ``repo@branch`` (at ``head`` if given), or move an existing branch to ``head``."""
        repo, name = parse_branch(branch)
        head_ref = None if head is None else parse_ref(head if "@" in head else f"{repo}@{head}")
        return self._store.create_branch(repo, name, head_ref)

    def list_branch(self, repo: str | None = None) -> list[BranchInfo]:
        """A repo's branches; without ``repo``, every branch of every repo (one query: what the
        server polls for live events)."""
        return self._store.list_branch(repo)

    def inspect_branch(self, branch: str) -> BranchInfo:
        """One branch and its head."""
        repo, name = parse_branch(branch)
        for b in self._store.list_branch(repo):
            if b.name == name:
                return b
        raise NotFound(f"branch {repo}@{name} not found", repo=repo, branch=name)

    def delete_branch(self, branch: str) -> None:
        """Delete a branch pointer (its commits stay reachable by id)."""
        self._store.delete_branch(*parse_branch(branch))

    # -- maintenance ---------------------------------------------------------------------------

    def fsck(self, *, verify_data: bool = True) -> FsckReport:
        """Verify every reachable object by re-hashing it, and the metadata's links."""
        return maintenance.fsck(self._store, verify_data=verify_data)

    def gc(self, *, grace_seconds: float = 3600.0) -> GcReport:
        """Remove unreachable objects and abandoned open commits older than ``grace_seconds``."""
        return maintenance.gc(self._store, grace_seconds=grace_seconds)

    # -- pipelines -----------------------------------------------------------------------------

    def create_pipeline(
        self,
        spec: str | bytes | dict[str, Any] | os.PathLike[str],
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo:
        """Create a pipeline from a spec (a dict, YAML/JSON text, or a spec file's path).

        The spec and the notebook are snapshotted into the output repo's ``spec`` branch, and a
        first job is queued on the current input heads (see :meth:`wait_job`). A relative
        notebook path is read from ``base_dir`` (default: the spec file's folder, or the
        working directory).
        """
        return self._pipelines.create_pipeline(spec, base_dir=base_dir)

    def update_pipeline(
        self,
        spec: str | bytes | dict[str, Any] | os.PathLike[str],
        *,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo:
        """Update a pipeline (new spec and notebook version) and queue a job; unchanged datums
        are skipped unless ``reprocess``."""
        return self._pipelines.create_pipeline(
            spec, update=True, reprocess=reprocess, base_dir=base_dir
        )

    def dag(self) -> dict[str, Any]:
        """The pipeline graph: ``{"nodes": [...], "edges": [...]}``, repos and pipelines with
        their current state (a repo's head, a pipeline's newest job)."""
        from .pipeline.dag import dag

        return dag(self.list_repo(), self.list_pipeline())

    def list_pipeline(self) -> list[PipelineInfo]:
        """Every pipeline."""
        return self._pipelines.list_pipeline()

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        """One pipeline: spec, version, spec commit, newest job."""
        return self._pipelines.inspect_pipeline(name)

    def delete_pipeline(self, name: str, *, keep_repo: bool = False) -> None:
        """Delete a pipeline, its jobs and (unless ``keep_repo``) its output repo."""
        self._pipelines.delete_pipeline(name, keep_repo=keep_repo)

    def run_pipeline(self, name: str, *, reprocess: bool = False) -> JobInfo:
        """Queue a job of ``name`` on the current heads of its inputs."""
        return self._pipelines.run_pipeline(name, reprocess=reprocess)

    def list_job(
        self, pipeline: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[JobInfo]:
        """Jobs newest first, of one pipeline or all."""
        return self._pipelines.list_job(pipeline, limit=limit, offset=offset)

    def inspect_job(self, job_id: str) -> JobInfo:
        """One job: state, inputs, output commit, datum counts, timings, error."""
        return self._pipelines.inspect_job(job_id)

    def list_datum(
        self,
        job_id: str | None = None,
        *,
        input: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """The datums of a job, or (``input=`` an input spec) a dry run on the current heads:
        each datum then a list of items with ``.name`` (input name) and ``.path``."""
        if (job_id is None) == (input is None):
            raise InvalidArgument("give a job id or input=, not both")
        if input is not None:
            return [list(d.inputs) for d in self._pipelines.dry_run_datums(input)]
        assert job_id is not None
        return self._pipelines.list_datum(job_id, limit=limit, offset=offset)

    def inspect_datum(self, job_id: str, datum_id: str) -> DatumInfo:
        """One datum of a job."""
        return self._pipelines.inspect_datum(job_id, datum_id)

    def get_datum_notebook(self, job_id: str, datum_id: str) -> bytes:
        """The executed notebook of a datum (also kept for failed datums)."""
        return self._pipelines.datum_blob(job_id, datum_id, "notebook")

    def get_logs(self, job_id: str, datum_id: str | None = None) -> str:
        """The log of one datum, or of every datum of a job (each headed by its id)."""
        if datum_id is not None:
            return self._pipelines.datum_blob(job_id, datum_id, "log").decode(errors="replace")
        parts = []
        for d in self._pipelines.list_datum(job_id):
            if d.state == "skipped":
                continue
            text = self._pipelines.datum_blob(job_id, d.id, "log").decode(errors="replace")
            parts.append(f"--- datum {d.id} ({d.state})\n{text}")
        return "\n".join(parts)

    # -- running jobs --------------------------------------------------------------------------

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


__all__ = ["Client"]
