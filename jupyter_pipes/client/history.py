"""Commits and branches: history, provenance, revert, branch moves."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from ..errors import NotFound
from ..store import maintenance
from ..store.rebuild import RebuildReport
from ..store.records import (
    BranchInfo,
    CommitInfo,
    FsckReport,
    GcReport,
    SchemaStatus,
)
from ..store.refs import parse_branch, parse_ref
from ._base import ClientBase


class HistoryMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    # -- commits ----------------------------------------------------------------------------------

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

    # -- branches ---------------------------------------------------------------------------------

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

    # -- maintenance ------------------------------------------------------------------------------

    def fsck(self, *, verify_data: bool = True) -> FsckReport:
        """Verify every reachable object by re-hashing it, and the metadata's links."""
        return maintenance.fsck(self._store, verify_data=verify_data)

    def gc(self, *, grace_seconds: float = 3600.0, force: bool = False) -> GcReport:
        """Remove objects nothing reaches or pins that are older than ``grace_seconds``, and
        the open commits of writers that stopped renewing their lease.

        Refused (:class:`~jupyter_pipes.errors.CorruptObject`) on a store that fails fsck, and
        (:class:`~jupyter_pipes.errors.Conflict`) when another gc runs or, unless ``force``,
        when it would remove more than half of the store's bytes. docs/guarantees.md says
        exactly what gc keeps.
        """
        return maintenance.gc(self._store, grace_seconds=grace_seconds, force=force)

    @classmethod
    def rebuild_metadata(
        cls,
        store: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        force: bool = False,
        **storage_options: Any,
    ) -> RebuildReport:
        """Rebuild a lost or damaged metadata database from the store's objects alone.

        Repos, branches, commits, provenance and the branch timeline come from the object
        journal, the dedup index from the commits' trees, pipelines from their spec commits;
        job history is not in the objects and is not rebuilt. A damaged SQLite database is set
        aside (renamed, never deleted); one that opens and holds repos is refused unless
        ``force``. Then open the store as usual.
        """
        from ..pipeline.rebuild import rebuild_pipelines
        from ..store.backend import Backend
        from ..store.rebuild import rebuild_metadata
        from ..store.store import default_db_url, default_store_url

        url = os.fspath(store) if store is not None else default_store_url()
        backend = Backend(url, **storage_options)
        try:
            report = rebuild_metadata(backend, db_url or default_db_url(backend), force=force)
        finally:
            backend.close()
        client = cls(url, db_url=db_url, **storage_options)
        try:
            names = rebuild_pipelines(client._store)
        finally:
            client.close()
        return dataclasses.replace(report, pipelines=len(names))

    def upgrade(self) -> list[SchemaStatus]:
        """The metadata schema's migration chains, as this client found and left them.

        Opening a store already brings an older schema up to date (SQLite: after a backup copy
        next to the database; PostgreSQL: in one transaction), so this only reports: for each
        chain, the revision found, the revision now, and the backup made. A store made before
        the object journal also gets its history written to the journal here, if opening did
        not manage to.
        """
        self._store.journal_backfill()
        return list(self._store.meta.schema)
