"""Typed, frozen records returned by the store and the :class:`~jupyter_pipes.Client`.

They are plain values: safe to keep, compare and serialise (``to_dict``), with no handle back
into the store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple

Origin = Literal["user", "auto", "revert"]
CommitState = Literal["open", "finished"]
FileType = Literal["file", "dir"]
Change = Literal["added", "removed", "modified"]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


class _Record:
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of this record (datetimes as ISO 8601 strings)."""
        out = _plain(self)
        assert isinstance(out, dict)
        return out


def utc(ts: float | None) -> datetime | None:
    """An epoch timestamp as an aware UTC datetime (``None`` stays ``None``)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


@dataclass(frozen=True, slots=True)
class CommitRef(_Record):
    """A pointer to one commit of one repo, as recorded in provenance."""

    repo: str
    id: str
    branch: str | None = None


@dataclass(frozen=True, slots=True)
class CommitInfo(_Record):
    """One commit: an immutable snapshot of a repo's tree."""

    id: str
    repo: str
    branch: str | None
    parent: str | None
    origin: Origin
    message: str
    state: CommitState
    started: datetime
    finished: datetime | None
    size_bytes: int
    file_count: int
    provenance: tuple[CommitRef, ...] = ()
    restores: str | None = None
    """For a revert commit: the id of the commit whose tree it restores."""
    global_id: str | None = None
    """The global commit this commit belongs to (Pachyderm's commit set): its own id for a
    commit a user made, the id of the change that caused it for a pipeline's output."""


@dataclass(frozen=True, slots=True)
class BranchInfo(_Record):
    """A movable pointer to a head commit."""

    repo: str
    name: str
    head: str | None


@dataclass(frozen=True, slots=True)
class RepoInfo(_Record):
    """A named, versioned file tree."""

    name: str
    description: str
    created: datetime
    branches: tuple[str, ...] = ()
    size_bytes: int = 0
    """Size of the ``master`` head (or of the newest head if there is no master)."""
    last_commit: str | None = None


@dataclass(frozen=True, slots=True)
class FileInfo(_Record):
    """A file or directory in a commit. Directory paths end with ``/``, as in Pachyderm 2.x."""

    path: str
    type: FileType
    size_bytes: int
    hash: str
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class DiffEntry(_Record):
    """One path that differs between two commits."""

    path: str
    change: Change
    old: FileInfo | None
    new: FileInfo | None


@dataclass(frozen=True, slots=True)
class FsckReport(_Record):
    """What :meth:`Client.fsck` checked and what it found."""

    commits: int
    trees: int
    files: int
    chunks: int
    bytes_verified: int
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems


@dataclass(frozen=True, slots=True)
class GcReport(_Record):
    """What :meth:`Client.gc` removed."""

    packs_removed: int
    bytes_removed: int
    chunks_forgotten: int
    open_commits_removed: int
    journal_events_folded: int = 0
    """Journal event files folded into one segment object (#17)."""


@dataclass(frozen=True, slots=True)
class SchemaStatus(_Record):
    """One migration chain of the metadata database, as found and left by opening the store."""

    chain: str
    """``store`` or ``pipeline``."""
    version: str
    """The revision the database is at now."""
    previous: str | None
    """The revision found: ``None`` for a new database, ``"unversioned"`` for tables made before
    schema versions; equal to ``version`` if nothing changed."""
    backup: str | None = None
    """The file name of the SQLite backup made before upgrading (next to the database)."""

    @property
    def upgraded(self) -> bool:
        """True when this open changed the schema of an existing database."""
        return self.previous is not None and self.previous != self.version


HeadMoveCause = Literal["commit", "pipeline", "revert", "branch", "delete", "backfill"]


@dataclass(frozen=True, slots=True)
class HeadMoveInfo(_Record):
    """One move of a branch head, as recorded in the transaction that made it.

    ``cause``: ``commit`` (a user commit), ``pipeline`` (a job's output commit), ``revert``,
    ``branch`` (a branch made or moved), ``delete`` (a deleted head commit, branch or repo:
    ``new`` is the parent, or ``None``), ``backfill`` (history from before the timeline existed,
    reconstructed at the upgrade).
    """

    repo: str
    branch: str
    time: datetime
    old: str | None
    new: str | None
    cause: HeadMoveCause
    actor: str
    """The OS user, or the user name the Client was given (``unknown`` for backfilled moves)."""
    global_id: str | None = None


class LeaseRow(NamedTuple):
    """A ``leases`` row: a writer's claim, renewed by heartbeat (see docs/guarantees.md)."""

    id: str
    kind: str
    holder: str
    started_at: float
    expires_at: float
    state: str


class MoveRow(NamedTuple):
    """A ``head_moves`` row: one move of a branch head (the branch timeline)."""

    id: int
    time: float
    repo: str
    branch: str
    old: str | None
    new: str | None
    cause: str
    actor: str
    global_id: str | None


class LinkRow(NamedTuple):
    """A commit's place in history, as fsck checks it."""

    id: str
    parent: str | None
    state: str
    repo: str


class RootRow(NamedTuple):
    """A finished commit's id and root tree (JSON), as gc and fsck walk them."""

    id: str
    root: str | None


def move_info(row: MoveRow) -> HeadMoveInfo:
    """The record of a ``head_moves`` row."""
    return HeadMoveInfo(
        repo=row.repo,
        branch=row.branch,
        time=datetime.fromtimestamp(row.time, tz=timezone.utc),
        old=row.old,
        new=row.new,
        cause=row.cause,  # type: ignore[arg-type]  # only the known causes are written
        actor=row.actor,
        global_id=row.global_id,
    )


class RepoRow(NamedTuple):
    """A ``repos`` row (made from ``select(repos)`` by position: the table's column order)."""

    name: str
    description: str
    created_at: float


class BranchRow(NamedTuple):
    """A ``branches`` row: a branch and its head commit (``None``: no commit yet)."""

    repo: str
    name: str
    head: str | None
    created_at: float


class CommitRow(NamedTuple):
    """A ``commits`` row (``root``: the commit's root tree as JSON, ``None`` while open)."""

    id: str
    repo: str
    branch: str | None
    parent: str | None
    origin: Origin
    message: str
    state: CommitState
    started_at: float
    finished_at: float | None
    root: str | None
    size: int
    file_count: int
    restores: str | None
    global_id: str | None


class ProvenanceRow(NamedTuple):
    """A ``provenance`` row: commit ``commit`` was made from commit ``upstream``."""

    commit: str
    upstream: str
    upstream_repo: str
    upstream_branch: str | None
