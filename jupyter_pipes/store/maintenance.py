"""``fsck`` (verify everything reachable) and ``gc`` (remove what nothing reaches or pins).

Reachability starts at every finished commit (commits are history, not garbage: a commit goes only
when deleted or squashed) and at every tree pinned by a live writer. Walking trees visits each
distinct directory once, by content hash.

``gc`` (see docs/guarantees.md for the exact promise) runs alone, under a ``gc`` lease, and only on
a store that passes the checks ``fsck --no-verify-data`` makes. It takes one snapshot of finished
commits and pins, then removes packs that nothing reaches or pins and that are older than
``grace_seconds``, each after a transaction that re-checks its pins and removes its chunk-index
rows (so no later dedup can find it). It also removes the open commits of expired leases,
temporary files of interrupted writes older than an hour, and index rows of packs that are gone.
It refuses to remove more than ``max_share`` of the store's pack bytes unless ``force``.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Iterator

from ..errors import Conflict, CorruptObject, PipesError
from .leases import Lease
from .objects import PACK_PREFIX, BlobRef, pack_key
from .records import FsckReport, GcReport
from .store import Store
from .trees import Entry, Root

TEMP_MIN_AGE = 3600.0
"""Temporary files younger than this are never removed, whatever the grace period: they may be
uploads in progress."""
CLOCK_MARGIN = 60.0
"""Seconds by which an object store's clock (pack times) may differ from a writer's (lease
times)."""
MAX_SHARE = 0.5
"""The share of the store's pack bytes gc removes without ``force``."""
_TOMBSTONE_BATCH = 200


def _walk(
    store: Store, roots: Iterable[tuple[str, Root]], problems: list[str]
) -> Iterator[tuple[str, Entry]]:
    """(owner, entry) for each distinct directory node reachable from ``roots``, and each file
    in them, streamed depth first: memory holds one node per level plus the keys of the
    directory nodes seen (equal subtrees are walked once), nothing per file."""
    seen: set[str] = set()
    for owner, root in roots:
        if root.ref is None:
            continue
        stack: list[Iterator[Entry]] = [iter([root.as_entry()])]
        while stack:
            e = next(stack[-1], None)
            if e is None:
                stack.pop()
                continue
            if not e.is_dir:
                yield owner, e
                continue
            key = e.hash + (e.refs[0].pack if e.refs else "")
            if key in seen:
                continue
            seen.add(key)
            yield owner, e
            try:
                for ref in store.trees.node_refs(e):  # a split directory's other nodes
                    yield owner, Entry("", True, 0, ref.hash, (ref,), 0)
            except PipesError as exc:
                problems.append(f"{owner}: directory {e.hash}: {exc.message}")
                continue
            stack.append(_children(store, owner, e, problems))


def _children(store: Store, owner: str, e: Entry, problems: list[str]) -> Iterator[Entry]:
    try:
        yield from store.trees.iter_children(e)
    except PipesError as exc:
        problems.append(f"{owner}: directory {e.hash}: {exc.message}")


def _commit_roots(
    rows: Iterable[tuple[str, str | None]], problems: list[str]
) -> list[tuple[str, Root]]:
    out = []
    for cid, root_json in rows:
        try:
            out.append((f"commit {cid}", Root.from_json(root_json, cid)))
        except CorruptObject as exc:
            problems.append(exc.message)
    return out


def _metadata_problems(store: Store) -> tuple[list[str], int]:
    """The database's own integrity check, then branch heads, parents and provenance links;
    (problems, finished commits)."""
    problems = [f"metadata database: {p}" for p in store.meta.integrity_problems()]
    if problems:
        return problems, 0
    if store.meta.get_info("journal") is None:
        problems.append(
            "the object journal lacks the history from before it existed (the metadata could "
            "not be rebuilt from objects): run `jupyter pipes upgrade`"
        )
    with store.meta.read() as conn:
        links = store.meta.commit_links(conn)
        for b in store.meta.list_branches(conn):
            if b.head is not None and (b.head not in links or links[b.head].state != "finished"):
                problems.append(f"branch {b.repo}@{b.name}: head {b.head} is not a finished commit")
        for r in links.values():
            if r.state == "finished" and r.parent is not None and r.parent not in links:
                problems.append(f"commit {r.id}: parent {r.parent} is missing")
        for p in store.meta.all_provenance(conn):
            if p.upstream not in links:
                problems.append(
                    f"commit {p.commit}: provenance {p.upstream_repo}@{p.upstream} is missing"
                )
    return problems, sum(1 for r in links.values() if r.state == "finished")


_VERIFIED_SLOTS = 1 << 18
"""Slots of fsck's record of verified blobs (8 bytes each: 2 MiB, allocated once)."""


class _Verified:
    """A fixed-size, direct-mapped record of the blobs fsck has verified.

    Memory does not grow with the store (one 8-byte tag per slot, allocated at the start), and
    a blob met again is not re-read unless another blob has taken its slot since. (A small
    recently-used set made fsck re-read most blobs of a long history: with bounded directory
    nodes, each commit's changed node lists about 32 files again, which cycled through it.)
    """

    def __init__(self, slots: int = _VERIFIED_SLOTS) -> None:
        self._tags = bytearray(8 * slots)
        self._mask = slots - 1

    def add(self, key: str) -> bool:
        """Remember ``key`` (a blob's hash); False if it was remembered already."""
        try:
            digest = bytes.fromhex(key)
        except ValueError:
            digest = b""
        if len(digest) < 12:
            digest = hashlib.blake2b(key.encode(), digest_size=12).digest()
        at = (int.from_bytes(digest[:4], "little") & self._mask) * 8
        tag = digest[4:12]
        if self._tags[at : at + 8] == tag:
            return False
        self._tags[at : at + 8] = tag
        return True


def fsck(store: Store, *, verify_data: bool = True) -> FsckReport:
    """Check the metadata database (SQLite ``integrity_check``; on PostgreSQL a full read of
    every store table), branch heads, parents, provenance, and every reachable object
    (re-hashing its bytes unless ``verify_data`` is False). Problems are reported, never
    repaired silently.

    The walk streams: each distinct directory node is read once, and ``files`` counts the
    files of those nodes (a file in two different directories counts twice); a blob met again
    is not re-read unless another took its slot in a fixed-size record (``chunks`` counts the
    blobs read)."""
    problems, ncommits = _metadata_problems(store)
    if problems and ncommits == 0 and problems[0].startswith("metadata database"):
        return FsckReport(0, 0, 0, 0, 0, tuple(problems))
    with store.meta.read() as conn:
        roots = _commit_roots(store.meta.finished_roots(conn), problems)
    pack_sizes = {s.key.rsplit("/", 1)[-1]: s.size for s in store.backend.list(PACK_PREFIX)}
    trees = files = nchunks = nbytes = 0
    verified = _Verified()
    for owner, e in _walk(store, roots, problems):
        if e.is_dir:
            trees += 1
            refs: tuple[BlobRef, ...] = ()  # the tree blob was read (and verified) by the walk
        else:
            files += 1
            refs = e.refs
        for r in refs:
            if not r.in_pack:  # inline: read and verified with its directory node
                continue
            if not verified.add(r.hash):
                continue
            nchunks += 1
            size = pack_sizes.get(r.pack)
            if size is None:
                problems.append(f"{owner}: pack {r.pack} (blob {r.hash}) is missing")
                continue
            if r.offset + r.length > size:
                problems.append(f"{owner}: blob {r.hash} lies past the end of pack {r.pack}")
                continue
            if verify_data:
                try:
                    store.reader.read(r)
                    nbytes += r.length
                except PipesError as exc:
                    problems.append(f"{owner}: {exc.message}")
    return FsckReport(ncommits, trees, files, nchunks, nbytes, tuple(problems))


def gc(
    store: Store,
    *,
    grace_seconds: float = 3600.0,
    force: bool = False,
    max_share: float = MAX_SHARE,
) -> GcReport:
    """Remove unreachable, unpinned packs older than ``grace_seconds``, their index rows, the
    open commits of expired leases, and old temporary files.

    Raises
    ------
    Conflict
        Another gc is running, or (without ``force``) it would remove more than ``max_share``
        of the store's pack bytes.
    CorruptObject
        The store fails fsck's checks (metadata, links, reachable objects): gc never deletes on
        a partial view of what is reachable.
    """
    meta = store.meta
    lease = Lease(meta, f"gc-{uuid.uuid4().hex}")
    with meta.write() as conn:
        running = meta.live_gc(conn)
        if running is not None:
            raise Conflict(
                f"another gc is running (started by {running.holder}); try again later",
                holder=running.holder,
            )
        lease.insert(conn, "gc")
    lease.keep()
    try:
        return _gc(store, grace_seconds, force, max_share)
    finally:
        meta.keeper.drop(lease.id)
        with meta.write() as conn:
            meta.delete_lease(conn, lease.id)


def _refuse(problems: list[str]) -> CorruptObject:
    return CorruptObject(
        f"gc refused: the store fails fsck with {len(problems)} problem(s) "
        f"(first: {problems[0]}); run `jupyter pipes fsck`",
        problems=problems,
    )


def _gc(store: Store, grace_seconds: float, force: bool, max_share: float) -> GcReport:
    meta = store.meta
    started = time.time()
    problems, _ = _metadata_problems(store)
    if problems:
        raise _refuse(problems)
    cutoff = time.time() - grace_seconds
    with meta.write() as conn:
        rows, pinned, pinned_trees, stale = meta.gc_snapshot(conn, cutoff)
        oldest = meta.oldest_live_lease(conn)
    # Packs written since the oldest live writer started may be its own (a pipeline worker
    # uploading outputs under its job's lease pins nothing): keep them too, whatever the grace.
    pack_cutoff = cutoff if oldest is None else min(cutoff, oldest - CLOCK_MARGIN)
    roots = _commit_roots(rows, problems)
    for tree in pinned_trees:
        try:
            roots.append(("a pinned tree", Root.from_json(tree)))
        except CorruptObject as exc:
            problems.append(f"a pinned tree: {exc.message}")
    live: set[str] = set(pinned)
    listing = {s.key.rsplit("/", 1)[-1]: s for s in store.backend.list(PACK_PREFIX)}
    for owner, e in _walk(store, roots, problems):
        for r in e.refs:
            if not r.in_pack:
                continue
            live.add(r.pack)
            if r.pack not in listing:
                problems.append(f"{owner}: pack {r.pack} (blob {r.hash}) is missing")
    for extra in store.gc_roots:
        live.update(r.pack for r in extra())
    if problems:
        raise _refuse(problems)  # never delete on a partial view of what is reachable
    candidates = [s for p, s in sorted(listing.items()) if p not in live and s.mtime < pack_cutoff]
    total = sum(s.size for s in listing.values())
    doomed = sum(s.size for s in candidates)
    if total and doomed > max_share * total and not force:
        raise Conflict(
            f"gc would remove {doomed:,} of the store's {total:,} pack bytes "
            f"({100 * doomed / total:.0f}%), more than the {100 * max_share:.0f}% it removes "
            "without --force; if that much data was deleted on purpose, run gc --force",
            bytes=doomed,
            total=total,
        )
    removed = nbytes = forgotten = 0
    for i in range(0, len(candidates), _TOMBSTONE_BATCH):
        batch = candidates[i : i + _TOMBSTONE_BATCH]
        with meta.write() as conn:
            gone, n = meta.tombstone_packs(conn, [s.key.rsplit("/", 1)[-1] for s in batch])
        forgotten += n
        sizes = {s.key.rsplit("/", 1)[-1]: s.size for s in batch}
        for pack in gone:
            store.backend.delete(pack_key(pack))
            removed += 1
            nbytes += sizes[pack]
    temp_cutoff = time.time() - max(grace_seconds, TEMP_MIN_AGE)
    for s in store.backend.list_temporary(PACK_PREFIX):
        if s.mtime < temp_cutoff:
            store.backend.delete(s.key)
    # Index rows whose pack is gone (it never landed, or an older gc removed only the object).
    existing = {s.key.rsplit("/", 1)[-1] for s in store.backend.list(PACK_PREFIX)}
    with meta.read() as conn:
        orphan = [p for p in meta.indexed_packs(conn) if p not in existing and p not in live]
    for i in range(0, len(orphan), _TOMBSTONE_BATCH):
        with meta.write() as conn:
            forgotten += meta.tombstone_packs(conn, orphan[i : i + _TOMBSTONE_BATCH])[1]
    # The journal's event files written before this gc started, folded into one segment.
    folded = store.journal.fold(started)
    return GcReport(removed, nbytes, forgotten, stale, folded)
