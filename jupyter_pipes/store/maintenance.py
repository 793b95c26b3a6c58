"""``fsck`` (verify everything reachable) and ``gc`` (remove what nothing reaches).

Reachability starts at every finished commit (commits are history, not garbage: a commit goes only
when deleted or squashed). Walking trees visits each distinct directory once, by content hash.

``gc`` removes packs that no finished commit reaches and that are older than ``grace_seconds``
(a pack written by a commit still in progress is young, so it is kept), the chunk-index rows that
point into removed packs, left-over temporary files, and open commits abandoned for longer than
the grace period.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..errors import CorruptObject, PipesError
from .objects import PACK_PREFIX, BlobRef, pack_key
from .records import FsckReport, GcReport
from .store import Store
from .trees import Entry, Root


def _reachable(store: Store, problems: list[str]) -> Iterator[tuple[str, Entry]]:
    """(commit id, entry) for each distinct tree and file reachable from finished commits."""
    seen: set[str] = set()
    with store.meta.read() as conn:
        rows = store.meta.finished_roots(conn)
    for cid, root_json in rows:
        root = Root.from_json(root_json)
        if root.ref is None:
            continue
        stack = [root.as_entry()]
        while stack:
            e = stack.pop()
            key = ("d" if e.is_dir else "f") + e.hash + (e.refs[0].pack if e.refs else "")
            if key in seen:
                continue
            seen.add(key)
            yield cid, e
            if e.is_dir:
                try:
                    stack.extend(store.trees.children(e).values())
                except PipesError as exc:
                    problems.append(f"commit {cid}: directory {e.hash}: {exc.message}")


def fsck(store: Store, *, verify_data: bool = True) -> FsckReport:
    """Check every reachable object (re-hashing its bytes unless ``verify_data`` is False),
    branch heads, parents and provenance. Problems are reported, never repaired silently."""
    problems: list[str] = []
    with store.meta.read() as conn:
        finished = store.meta.commit_links(conn)
        for b in store.meta.list_branches(conn):
            if b.head is not None and (
                b.head not in finished or finished[b.head].state != "finished"
            ):
                problems.append(f"branch {b.repo}@{b.name}: head {b.head} is not a finished commit")
        for r in finished.values():
            if r.state == "finished" and r.parent is not None and r.parent not in finished:
                problems.append(f"commit {r.id}: parent {r.parent} is missing")
        for p in store.meta.all_provenance(conn):
            if p.upstream not in finished:
                problems.append(
                    f"commit {p.commit}: provenance {p.upstream_repo}@{p.upstream} is missing"
                )
        ncommits = sum(1 for r in finished.values() if r.state == "finished")
    pack_sizes = {s.key.rsplit("/", 1)[-1]: s.size for s in store.backend.list(PACK_PREFIX)}
    trees = files = nchunks = nbytes = 0
    verified: set[str] = set()
    for cid, e in _reachable(store, problems):
        if e.is_dir:
            trees += 1
            refs: tuple[BlobRef, ...] = ()  # the tree blob was read (and verified) by the walk
            if e.refs:
                verified.add(e.refs[0].hash)
        else:
            files += 1
            refs = e.refs
        for r in refs:
            if r.hash in verified:
                continue
            verified.add(r.hash)
            nchunks += 1
            size = pack_sizes.get(r.pack)
            if size is None:
                problems.append(f"commit {cid}: pack {r.pack} (blob {r.hash}) is missing")
                continue
            if r.offset + r.length > size:
                problems.append(f"commit {cid}: blob {r.hash} lies past the end of pack {r.pack}")
                continue
            if verify_data:
                try:
                    store.reader.read(r)
                    nbytes += r.length
                except PipesError as exc:
                    problems.append(f"commit {cid}: {exc.message}")
    return FsckReport(ncommits, trees, files, nchunks, nbytes, tuple(problems))


def gc(store: Store, *, grace_seconds: float = 3600.0) -> GcReport:
    """Remove unreachable packs, stale index rows, temp files and abandoned open commits."""
    cutoff = time.time() - grace_seconds
    with store.meta.write() as conn:
        stale = store.meta.delete_stale_open_commits(conn, cutoff)
    problems: list[str] = []
    live: set[str] = set()
    for _, e in _reachable(store, problems):
        live.update(r.pack for r in e.refs)
    for roots in store.gc_roots:
        live.update(r.pack for r in roots())
    if problems:
        # Never delete on a partial view of what is reachable.
        raise CorruptObject(
            f"gc stopped: {len(problems)} problem(s) found while tracing reachable objects "
            f"(first: {problems[0]}); run fsck",
            problems=problems,
        )
    removed = nbytes = forgotten = 0
    for s in store.backend.list(PACK_PREFIX):
        pack = s.key.rsplit("/", 1)[-1]
        if pack in live or s.mtime >= cutoff:
            continue
        with store.meta.write() as conn:
            forgotten += store.meta.forget_pack(conn, pack)
        store.backend.delete(pack_key(pack))
        removed += 1
        nbytes += s.size
    for s in store.backend.list_temporary(PACK_PREFIX):
        if s.mtime < cutoff:
            store.backend.delete(s.key)
    with store.meta.write() as conn:  # index rows whose pack is gone (e.g. the pack never landed)
        existing = {s.key.rsplit("/", 1)[-1] for s in store.backend.list(PACK_PREFIX)}
        orphan = [p for p in store.meta.indexed_packs(conn) if p not in existing and p not in live]
        for p in orphan:
            forgotten += store.meta.forget_pack(conn, p)
    return GcReport(removed, nbytes, forgotten, stale)
