"""The store's API for pipeline datums: what workers and the controller read and write.

Workers (on Dask, with no metadata database) use :class:`DatumIO`: materialise a datum's input
items into a folder, and through a :class:`BlobSink` ingest the files a stage wrote and store
blobs (an executed notebook, a log). They write objects only; the controller records them.

The controller uses :class:`CommitTrees` to list an input commit's glob matches (each with a
:data:`Token` that lets a worker read exactly that file or directory, without the commit's
tree), to find the matches that changed between two commits (a Merkle diff, so a job after a
one-file change costs O(changed)), and to build an output tree from a base commit plus changes
(:func:`build_output`, :func:`commit_output`).

Costs: a file item is read straight from its chunk references; a directory item walks only its
own subtree, through one tree cache per process (shared by a worker's datums), so a datum costs
O(its own inputs), never a decode of the whole input tree.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .backend import Backend
from .glob import Glob, clean_glob, literal_prefix
from .local import export_entry, ingest_folder
from .names import join_path, split_path
from .objects import BlobReader, BlobRef, PackWriter
from .treenodes import Item
from .trees import EMPTY_ROOT, Entry, Patch, Root, TreeStore

if TYPE_CHECKING:
    from .records import CommitInfo, CommitRef
    from .store import Store
    from .txn import Txn

Token = list[Any]
"""A JSON-able reference to a file or directory of some commit:
``[is_dir (0/1), size, content hash, [[blob hash, pack, offset, length], ...], file count]``.
A file's references are its chunks; a directory's, its tree blob."""

BlobToken = list[Any]
"""A JSON-able reference to one blob: ``[hash, pack, offset, length]``."""


def token(entry: Entry) -> Token:
    """The token of a tree entry."""
    return [
        int(entry.is_dir),
        entry.size,
        entry.hash,
        [r.to_list() for r in entry.refs],
        entry.count,
    ]


def _entry(tok: Token, name: str = "") -> Entry:
    if len(tok) == 3:  # [size, hash, refs]: a file, as datum rows of earlier versions held it
        size, h, refs = tok
        return Entry(name, False, size, h, tuple(BlobRef.from_list(r) for r in refs))
    is_dir, size, h, refs, count = tok
    return Entry(name, bool(is_dir), size, h, tuple(BlobRef.from_list(r) for r in refs), count)


@dataclass(frozen=True, slots=True)
class WrittenBlobs:
    """Blobs a worker (or the controller) stored, and the packs that hold them: what the
    metadata must record (:meth:`~jupyter_pipes.store.txn.Txn.record_blobs`)."""

    blobs: dict[str, BlobRef] = field(default_factory=dict)
    packs: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def merge(parts: Iterable[WrittenBlobs]) -> WrittenBlobs:
        """Several records as one."""
        blobs: dict[str, BlobRef] = {}
        packs: dict[str, int] = {}
        for p in parts:
            blobs.update(p.blobs)
            packs.update(p.packs)
        return WrittenBlobs(blobs, packs)


class _SharedTrees(TreeStore):
    """A tree cache safe to share between threads (a worker's datums, server requests)."""

    def __init__(self, reader: BlobReader, cache_size: int = 4096) -> None:
        super().__init__(reader, cache_size)
        self._lock = threading.RLock()

    def _node(self, ref: BlobRef) -> tuple[int, list[Item], list[str]]:
        with self._lock:
            return super()._node(ref)

    def _remember(self, key: str, node: tuple[int, list[Item], list[str]]) -> None:
        with self._lock:
            super()._remember(key, node)


# -- workers --------------------------------------------------------------------------------------


class DatumIO:
    """A worker's handle on a store: objects only, no metadata.

    Use :meth:`open`: one instance (one backend, one tree cache) per process and store.
    """

    def __init__(self, url: str, options: str = "{}") -> None:
        self._backend = Backend(url, **json.loads(options))
        self._reader = BlobReader(self._backend)
        self._trees = _SharedTrees(self._reader, cache_size=1024)

    @staticmethod
    def open(url: str, options: str = "{}") -> DatumIO:
        """The process's handle on the store at ``url`` (``options``: its fsspec options as
        JSON)."""
        return _open(url, options)

    def materialise(self, items: Sequence[tuple[str, str, Token]], pfs: str) -> dict[str, str]:
        """Write each item ``(input name, path, token)`` under ``pfs/<name>/<path>``; returns
        the folder of each input name. A file costs its own bytes; a directory its subtree."""
        folders: dict[str, str] = {}
        for name, path, tok in items:
            base = os.path.join(pfs, name)
            folders[name] = base
            os.makedirs(base, exist_ok=True)
            path = path.rstrip("/") or "/"
            dest = base if path == "/" else base + path
            export_entry(self._trees.walk, self._reader, _entry(tok), path, dest)
        return folders

    def files(self, tok: Token) -> list[tuple[str, Token]]:
        """The files of an item: ``[("", tok)]`` for a file, ``("/<relative path>", token)``
        for each file under a directory (the ``empty_files`` and ``lazy`` layouts: names
        only, no file bytes read)."""
        entry = _entry(tok)
        if not entry.is_dir:
            return [("", tok)]
        return [(p, token(e)) for p, e in self._trees.walk(entry, "/")]

    def read(self, tok: Token) -> Iterator[bytes]:
        """A file's bytes, chunk by chunk (for ``lazy`` inputs, read when opened)."""
        return self._reader.read_many(_entry(tok).refs)

    def child(self, tok: Token, rel: str) -> Token | None:
        """The token of the file at ``rel`` (``/a/b``) under a directory item (None if none)."""
        entry: Entry | None = _entry(tok)
        for part in split_path(rel):
            if entry is None or not entry.is_dir:
                return None
            entry = self._trees.child(entry, part)
        return None if entry is None or entry.is_dir else token(entry)

    def sink(self) -> BlobSink:
        """A writer of new blobs (close it, or use it in ``with``, to make them durable)."""
        return BlobSink(PackWriter(self._backend, lambda hashes: {}))


@lru_cache(maxsize=8)
def _open(url: str, options: str) -> DatumIO:
    return DatumIO(url, options)


class BlobSink:
    """Stores blobs in packs (a few datums' worth per pack). :meth:`take` returns what was
    written since the last call; the packs are durable after :meth:`flush`."""

    def __init__(self, writer: PackWriter) -> None:
        self._writer = writer
        self._taken = 0

    def ingest_folder(self, folder: str | os.PathLike[str]) -> list[tuple[str, Token]]:
        """Store every file under ``folder``: ``("/relative/path", token)`` per file."""
        return [("/" + rel, token(e)) for rel, e in ingest_folder(self._writer, folder)]

    def add(self, data: bytes) -> BlobToken:
        """Store one blob."""
        return self._writer.add(data).to_list()

    def take(self) -> dict[str, BlobRef]:
        """The blobs stored since the last call (their packs are known after :meth:`flush`)."""
        blobs = list(self._writer.new_blobs.items())
        new, self._taken = blobs[self._taken :], len(blobs)
        return dict(new)

    def flush(self) -> dict[str, int]:
        """Make every blob durable; every pack written so far, with its size."""
        self._writer.flush()
        return dict(self._writer.new_packs)

    def close(self) -> None:
        """Flush and stop the upload thread."""
        self._writer.close()

    def __enter__(self) -> BlobSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def written(blobs: dict[str, BlobRef], packs: dict[str, int]) -> WrittenBlobs:
    """The record of ``blobs``, with the sizes of the packs (among ``packs``) holding them."""
    return WrittenBlobs(blobs, {r.pack: packs[r.pack] for r in blobs.values() if r.pack in packs})


# -- the controller -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """One glob match of a commit: ``path`` (directories end in ``/``; the root is ``/``)."""

    path: str
    hash: str
    size: int
    token: Token


@dataclass(frozen=True, slots=True)
class Delta:
    """The matches of a glob that differ between two commits: ``old`` has those of the old
    commit that changed or went, ``new`` those of the new commit that changed or came."""

    old: dict[str, Match]
    new: dict[str, Match]


def fixed_depth(glob: str) -> int | None:
    """How many path components every match of ``glob`` has, or ``None`` when that varies
    (``**``, or a ``/`` inside a group)."""
    glob = clean_glob(glob)
    if glob == "/":
        return 0
    depth = 0
    nesting = 0
    escaped = False
    for i, ch in enumerate(glob):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch in "([{":
            nesting += 1
        elif ch in ")]}":
            nesting = max(0, nesting - 1)
        elif ch == "/":
            if nesting:
                return None
            depth += 1
        elif ch == "*" and glob[i + 1 : i + 2] == "*":
            return None
    return depth


def _match(path: str, e: Entry) -> Match:
    return Match(path + "/" if e.is_dir and path != "/" else path, e.hash, e.size, token(e))


class CommitTrees:
    """The controller's reads of input and output trees (one tree cache, shared by jobs)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._trees = _SharedTrees(store.reader)
        self._roots: dict[str, Root] = {}
        self._lock = threading.Lock()

    def root(self, commit: str | None) -> Root:
        """The root tree of a finished commit (the empty tree for ``None``)."""
        if commit is None:
            return EMPTY_ROOT
        with self._lock:
            hit = self._roots.get(commit)
        if hit is not None:
            return hit
        with self._store.meta.read() as conn:
            row = self._store.meta.get_commit(conn, commit)
        if row is None:
            from ..errors import NotFound

            raise NotFound(f"commit {commit} not found", commit=commit)
        root = Root.from_json(row.root)
        with self._lock:
            if len(self._roots) > 4096:
                self._roots.clear()
            self._roots[commit] = root
        return root

    def exists(self, commit: str) -> bool:
        """Whether a commit with this id exists now (asked of the database: a cached root may
        belong to a commit deleted since)."""
        with self._store.meta.read() as conn:
            return self._store.meta.get_commit(conn, commit) is not None

    def lookup(self, commit: str | None, path: str) -> Match | None:
        """The match at ``path`` (a file, or a directory given with or without its ``/``)."""
        clean = path.rstrip("/") or "/"
        e = self._trees.lookup(self.root(commit), clean)
        return None if e is None else _match(clean, e)

    def matches(self, commit: str | None, glob: str) -> list[Match]:
        """Every entry of ``commit`` that ``glob`` matches, in path order."""
        root = self.root(commit)
        if root.count == 0:
            return []
        glob = clean_glob(glob)
        if glob == "/":
            return [_match("/", root.as_entry())]
        prefix = literal_prefix(glob).rstrip("/") or "/"
        start = self._trees.lookup(root, prefix) if prefix != "/" else root.as_entry()
        if start is None or not start.is_dir:
            return []
        regex = Glob.compile(glob, "/").regex
        depth = fixed_depth(glob)
        if depth is not None:
            out = [
                _match(p, e)
                for p, e in self._at_depth(start, prefix, depth - len(split_path(prefix)))
                if regex.match(p)
            ]
        else:  # '**': every file and directory below the prefix, streamed in path order
            out = [
                _match(p.rstrip("/"), e)
                for p, e in self._trees.walk_sorted(start, prefix)
                if regex.match(p.rstrip("/"))
            ]
        return sorted(out, key=lambda m: m.path)

    def _at_depth(self, entry: Entry, path: str, depth: int) -> Iterator[tuple[str, Entry]]:
        for child in self._trees.iter_children(entry):
            p = join_path(path, child.name)
            if depth <= 1:
                yield p, child
            elif child.is_dir:
                yield from self._at_depth(child, p, depth - 1)

    def delta(self, old: str | None, new: str | None, glob: str) -> Delta | None:
        """The matches of ``glob`` that differ from commit ``old`` to ``new``, found by a
        Merkle diff (identical subtrees are skipped unread): O(what changed). ``None`` when
        the glob's matches have no fixed depth (``**``): list both commits instead."""
        depth = fixed_depth(glob)
        if depth is None:
            return None
        a, b = self.root(old), self.root(new)
        if a.hash == b.hash:
            return Delta({}, {})
        glob = clean_glob(glob)
        if glob == "/":
            return Delta(
                {"/": _match("/", a.as_entry())} if a.count else {},
                {"/": _match("/", b.as_entry())} if b.count else {},
            )
        prefix = literal_prefix(glob).rstrip("/") or "/"
        regex = Glob.compile(glob, "/").regex
        out_old: dict[str, Match] = {}
        out_new: dict[str, Match] = {}
        below = depth - len(split_path(prefix))
        for path, ea, eb in self._changed(
            self._trees.lookup(a, prefix) if prefix != "/" else a.as_entry(),
            self._trees.lookup(b, prefix) if prefix != "/" else b.as_entry(),
            prefix,
            below,
        ):
            if not regex.match(path):
                continue
            if ea is not None:
                m = _match(path, ea)
                out_old[m.path] = m
            if eb is not None:
                m = _match(path, eb)
                out_new[m.path] = m
        return Delta(out_old, out_new)

    def _changed(
        self, a: Entry | None, b: Entry | None, path: str, depth: int
    ) -> Iterator[tuple[str, Entry | None, Entry | None]]:
        """The entries ``depth`` levels below directory ``path`` that differ between its two
        versions ``a`` and ``b``: subtrees with equal hashes are skipped unread, and nothing
        deeper than ``depth`` is read."""
        for name, ea, eb in self._trees.dir_diff(a, b):
            if ea is not None and eb is not None and ea.hash == eb.hash and ea.is_dir == eb.is_dir:
                continue
            p = join_path(path, name)
            if depth <= 1:
                yield p, ea, eb
            else:
                yield from self._changed(ea, eb, p, depth - 1)

    def existing(self, commit: str | None, paths: Iterable[str]) -> list[str]:
        """Those of ``paths`` that exist in ``commit``."""
        root = self.root(commit)
        return [p for p in paths if self._trees.lookup(root, p) is not None]


@dataclass(frozen=True, slots=True)
class OutputTree:
    """A tree built for an output commit (its directory blobs are durable already)."""

    root: Root
    written: WrittenBlobs


def build_output(
    store: Store,
    trees: CommitTrees,
    base: str | None,
    delete: Iterable[str],
    put: Iterable[tuple[str, Token]],
) -> OutputTree:
    """Commit ``base``'s tree (``None``: empty) minus the paths in ``delete`` plus ``put``
    (``"/"`` in ``delete`` empties it first). Writes only the directories on changed paths."""
    patch = Patch()
    for path in delete:
        patch.delete(path)
    for path, tok in put:
        patch.put(path, _entry(tok))
    writer = PackWriter(store.backend, store.meta.lookup_chunks)
    try:
        root = trees._trees.apply(trees.root(base), patch, writer)
        writer.flush()
    finally:
        writer.close()
    return OutputTree(root, WrittenBlobs(dict(writer.new_blobs.items()), dict(writer.new_packs)))


def commit_output(
    store: Store,
    repo: str,
    branch: str,
    tree: OutputTree,
    *,
    message: str,
    provenance: tuple[CommitRef, ...],
    on_finish: Callable[[Txn, str], None],
    global_id: str | None = None,
) -> CommitInfo:
    """Make ``tree`` the new head of ``repo@branch`` (origin ``auto``); ``on_finish`` runs in
    the same transaction, before the head moves."""

    def finish(txn: Txn, commit_id: str) -> None:
        txn.record_blobs(tree.written)
        on_finish(txn, commit_id)

    kw: dict[str, Any] = {} if global_id is None else {"global_id": global_id}
    oc = store.start_commit(
        repo,
        branch,
        message=message,
        origin="auto",
        provenance=provenance,
        root=tree.root,
        on_finish=finish,
        **kw,
    )
    return oc.finish()


def read_blob(store: Store, tok: BlobToken) -> bytes:
    """The verified bytes of a blob."""
    return store.reader.read(BlobRef.from_list(tok))


def blob_refs(tokens: Iterable[BlobToken]) -> list[BlobRef]:
    """The references behind blob tokens (for the store's ``gc`` roots)."""
    return [BlobRef.from_list(t) for t in tokens]
