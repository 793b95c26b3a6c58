"""Rebuild a lost or damaged metadata database from the object store alone.

``jupyter pipes fsck --rebuild-metadata``: repos, branches, commits, provenance and the branch
timeline come from the journal (:mod:`.journal`); the chunk index (dedup) from walking every
commit's tree; the pack index from listing the packs. A SQLite database that is damaged is first
set aside (renamed ``metadata.sqlite.damaged-<time>``, never deleted); a database that opens and
holds repos is refused unless ``force`` (it would lose job history); on PostgreSQL, point
``--db`` at an empty database. The pipeline layer then rebuilds its pipelines from their spec
commits (``pipeline/rebuild.py``).
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import Conflict, NotFound
from .backend import Backend
from .journal import Journal, replay
from .metadata import Metadata
from .objects import PACK_PREFIX, BlobReader, BlobRef
from .records import _Record
from .trees import Root, TreeStore


@dataclass(frozen=True, slots=True)
class RebuildReport(_Record):
    """What :func:`rebuild_metadata` restored."""

    events: int
    repos: int
    branches: int
    commits: int
    head_moves: int
    chunks: int
    packs: int
    set_aside: str | None = None
    """The file name the damaged SQLite database was renamed to (next to it)."""
    pipelines: int = 0


def rebuild_metadata(backend: Backend, db_url: str, *, force: bool = False) -> RebuildReport:
    """Rebuild ``db_url`` from ``backend``'s journal and objects (see the module docstring)."""
    journal = Journal(backend)
    if journal.empty():
        raise NotFound(
            "the object store has no journal to rebuild the metadata from (it was written by a "
            "version of jupyter_pipes before the journal, or it is not a store)",
            store=backend.url,
        )
    aside = _set_aside(db_url, force)
    meta = Metadata(db_url)
    try:
        if not meta.is_empty():
            raise Conflict(
                "the metadata database is not empty: rebuild into an empty database (on "
                "PostgreSQL, create a new one and pass it with --db)"
            )
        state = replay(journal.events())
        repos = state.repos
        branches = [b for k, b in state.branches.items() if k[0] in repos]
        commits = [c for c in state.commits.values() if c["repo"] in repos]
        prov = [
            {"commit": c["id"], "upstream": p[1], "upstream_repo": p[0], "upstream_branch": p[2]}
            for c in commits
            for p in c.get("provenance", [])
        ]
        with meta.write() as conn:
            meta.load_rows(conn, "repos", repos.values())
            meta.load_rows(conn, "branches", branches)
            meta.load_rows(conn, "commits", ({**c, "state": "finished"} for c in commits))
            meta.load_rows(conn, "provenance", prov)
            meta.load_rows(conn, "head_moves", sorted(state.moves, key=_move_order))
        nchunks, npacks = _reindex(meta, backend, [c.get("root") for c in commits])
        meta.set_info("journal", f"rebuilt {time.time():.0f}")
    finally:
        meta.close()
    return RebuildReport(
        state.events,
        len(repos),
        len(branches),
        len(commits),
        len(state.moves),
        nchunks,
        npacks,
        aside,
    )


def _move_order(m: dict[str, Any]) -> tuple[float, int]:
    return (float(m["time"]), int(m.get("id") or 0))


def _reindex(meta: Metadata, backend: Backend, roots: list[str | None]) -> tuple[int, int]:
    """The chunk index from every commit's tree, the pack index from the listing."""
    trees = TreeStore(BlobReader(backend))
    listing = {s.key.rsplit("/", 1)[-1]: s for s in backend.list(PACK_PREFIX)}
    blobs: dict[str, BlobRef] = {}
    seen: set[str] = set()
    for text in roots:
        root = Root.from_json(text)
        if root.ref is None:
            continue
        stack = [root.as_entry()]
        while stack:
            e = stack.pop()
            if e.hash in seen:
                continue
            seen.add(e.hash)
            for r in e.refs:
                if r.pack in listing:
                    blobs.setdefault(r.hash, r)
            if e.is_dir:
                for ref in trees.node_refs(e):  # a split directory's other nodes
                    if ref.pack in listing:
                        blobs.setdefault(ref.hash, ref)
                stack.extend(trees.iter_children(e))
    packs = {p: s.size for p, s in listing.items() if p in {r.pack for r in blobs.values()}}
    with meta.write() as conn:
        meta.record_blobs(conn, blobs, packs)
    return len(blobs), len(packs)


def _set_aside(db_url: str, force: bool) -> str | None:
    """Rename a damaged (or, with ``force``, any) SQLite database out of the way."""
    url = sa.engine.make_url(db_url)
    path = url.database
    if not url.drivername.startswith("sqlite") or not path or path == ":memory:":
        return None
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return None
    healthy, has_repos = _probe(path)
    if healthy and has_repos and not force:
        raise Conflict(
            "the metadata database opens and holds repos: rebuilding would discard it (and the "
            "job history only it has); pass --force to set it aside and rebuild anyway"
        )
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dest = f"{path}.damaged-{stamp}"
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.replace(path + suffix, dest + suffix)
    return os.path.basename(dest)


def _probe(path: str) -> tuple[bool, bool]:
    """(integrity check passes, has a repo) of a SQLite file, without changing it."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = [r[0] for r in db.execute("PRAGMA integrity_check")] == ["ok"]
            try:
                has = db.execute("SELECT 1 FROM repos LIMIT 1").fetchone() is not None
            except sqlite3.DatabaseError:
                has = False
            return ok, has
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return False, False
