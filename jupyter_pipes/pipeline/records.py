"""Typed, frozen records of pipelines, jobs and datums (the Client returns these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from ..store.records import CommitInfo, CommitRef, _Record

JobState = Literal["created", "running", "success", "failure", "killed", "unrunnable"]
DatumState = Literal["success", "skipped", "failed", "recovered", "running"]
"""``recovered``: the command failed and its ``err_cmd`` succeeded (Pachyderm's state);
``running``: a datum of a running job that runs now (``started``, ``worker``)."""


@dataclass(frozen=True, slots=True)
class PipelineInfo(_Record):
    """A pipeline: its current spec version and the state of its newest job."""

    name: str
    version: int
    spec: dict[str, Any]
    spec_commit: str
    """Commit of the output repo's ``spec`` branch holding this version's spec and notebook."""
    description: str
    inputs: tuple[str, ...]
    """``repo@branch`` of every input."""
    output_branch: str
    created: datetime
    updated: datetime
    last_job: str | None = None
    last_job_state: JobState | None = None
    ignored: tuple[str, ...] = ()
    """Fields of the spec accepted and ignored (``transform.image`` ...): set only in the reply
    to the create or update that read them (see docs/pipeline-spec.md)."""


@dataclass(frozen=True, slots=True)
class JobInfo(_Record):
    """One run of a pipeline over one set of input commits."""

    id: str
    pipeline: str
    version: int
    state: JobState
    reason: str
    created: datetime
    started: datetime | None
    finished: datetime | None
    inputs: tuple[CommitRef, ...]
    """The input commits (pinned when the job became runnable)."""
    spec_commit: str | None
    output_commit: str | None
    total: int
    processed: int
    skipped: int
    failed: int
    error: dict[str, Any] | None = None
    """For a failed job: ``datum``, ``cell_index``, ``ename``, ``evalue``."""
    blocked_on: str | None = None
    """One of the upstream jobs this job still waits for (``None``: none)."""
    global_id: str | None = None
    """The global commit the job belongs to: its output commit gets this global id."""
    waiting_on: tuple[str, ...] = ()
    """Every upstream job whose output commit is still to become one of this job's inputs."""

    @property
    def done(self) -> bool:
        """True once the job can change no more."""
        return self.state in ("success", "failure", "killed", "unrunnable")

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (``None`` while running)."""
        if self.started is None or self.finished is None:
            return None
        return (self.finished - self.started).total_seconds()


@dataclass(frozen=True, slots=True)
class DatumItem(_Record):
    """One input item of a datum: input ``name`` gets ``path`` (directories end in ``/``)."""

    name: str
    repo: str
    path: str
    hash: str
    size_bytes: int
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class DatumInfo(_Record):
    """One datum of a job: its inputs, state, outputs and where its notebook and log are."""

    id: str
    job: str
    state: DatumState
    inputs: tuple[DatumItem, ...]
    outputs: tuple[str, ...]
    tries: int
    duration_s: float
    hash: str
    error: dict[str, Any] | None = None
    has_notebook: bool = False
    reused_from: str | None = None
    """For a skipped datum: the job whose result was reused."""
    started: datetime | None = None
    """For a running datum: when its run started."""
    worker: str | None = None
    """For a running datum: the address of the Dask worker running it."""


@dataclass(frozen=True, slots=True)
class GlobalCommitInfo(_Record):
    """A global commit (Pachyderm's commit set): one change and everything it caused.

    ``commits`` are the commits carrying this global id (the user's commit, if the change
    made one, and the output commits of its jobs), oldest first; ``jobs`` the jobs it created.
    ``repo``, ``branch`` and ``commit`` name the change it started from (for a pipeline
    created, updated or run: the pipeline's repo and its ``spec`` branch, or no branch).
    """

    id: str
    cause: str
    repo: str | None
    branch: str | None
    commit: str | None
    created: datetime | None
    commits: tuple[CommitInfo, ...]
    jobs: tuple[JobInfo, ...]

    @property
    def done(self) -> bool:
        """True once every job is done."""
        return all(j.done for j in self.jobs)


@dataclass(frozen=True, slots=True)
class DownstreamInfo(_Record):
    """What re-runs downstream of a branch or a commit (``Client.inspect_downstream``).

    ``pipelines`` run, each once and upstream first, when ``repo@branch`` moves (for a commit:
    when its branch moves to it, as a revert to it does). ``jobs`` are the jobs of those
    pipelines that ``commit`` (a branch: its head) caused — in its global commit ``global_id``
    — with their states: what did run, or still will.
    """

    repo: str
    branch: str | None
    commit: str | None
    global_id: str | None
    pipelines: tuple[str, ...]
    jobs: tuple[JobInfo, ...]
