"""A folder put's tree, built while the folder is walked (#17 re-put, #19 bounded memory).

A local folder put at a path is walked in name order beside the directory ``base`` the
branch holds there. Each local directory is merged with its ``base`` counterpart as the walk
goes: a file whose content (by hash) is the one ``base`` has is not a change, a directory all of
whose entries are unchanged is ``base``'s entry itself, and a directory is written when the walk
leaves it, after which only its entry is kept. Memory is bounded by the depth of the folder
times :data:`CHANGES_IN_MEMORY` (a directory with more changes than that is rebuilt as a stream
of its merged entries by :class:`DirBuilder`), never by the number of files; an unchanged folder
writes nothing at all.

The result is staged as one :class:`FolderOver` (``base``, ``merged``, the local folder). When
the commit finishes on the head it was built against (the usual case) the tree at the path is
``merged`` as is; when another writer changed the path meanwhile, :func:`overlay` keeps their
changes except where the folder has a file (as staging file by file would have).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import Conflict
from .names import clean_path, join_path, split_path
from .objects import PackWriter
from .treenodes import FLAT_MAX, Entry, Item, Node, name_level

if TYPE_CHECKING:
    from .local import Progress
    from .statcache import StatCache
    from .trees import TreeStore


@dataclass(frozen=True, slots=True)
class FolderOver:
    """A local folder put at one path, built as a tree against the branch's tree then: the
    directory ``base`` found there (``None``: none), ``merged`` (``base`` with the folder's
    files written over it; ``base`` itself if they were all there already), and the local
    ``folder`` (to tell which changed paths it holds when the head has moved since)."""

    base: Entry | None
    merged: Entry | None
    folder: str

    def lay_over(self, trees: TreeStore, old: Entry | None, writer: PackWriter) -> Entry | None:
        """The directory at the put's path once it is applied to ``old`` (:func:`overlay`)."""
        return overlay(trees, old, self, writer)


CHANGES_IN_MEMORY = 1024
"""Changed entries of one directory kept (and then spliced into its nodes) before the directory
is rebuilt as a stream instead."""


def _same(a: Entry | None, b: Entry | None) -> bool:
    """Whether two entries (or absences) have the same content."""
    if a is None or b is None:
        return a is b
    return a.hash == b.hash and a.is_dir == b.is_dir


class DirBuilder:
    """The canonical nodes of one directory from its entries in name order, written as they
    complete: the same shape and hashes as :func:`~.treenodes.splice` gives for the whole list
    at once, holding at most one partial node per level."""

    def __init__(self, trees: TreeStore, writer: PackWriter) -> None:
        self._trees, self._writer = trees, writer
        self._first: list[Entry] | None = []
        """The entries until there are more than FLAT_MAX (then ``None``: streaming)."""
        self._runs: list[list[Item]] = []
        """``_runs[k]``: the items of level ``k - 1`` of the node of level ``k`` being filled."""
        self._written: list[str] = []

    def add(self, entry: Entry) -> None:
        """The next entry (names strictly increasing)."""
        if self._first is None:
            self._push(0, entry)
            return
        self._first.append(entry)
        if len(self._first) > FLAT_MAX:
            first, self._first = self._first, None
            for e in first:
                self._push(0, e)

    def _make(self, k: int, run: list[Item]) -> Node:
        written = self._written
        if k == 0:
            node = self._trees.write_leaf(run, self._writer, written)  # type: ignore[arg-type]
        else:
            node = self._trees.write_inner(k, run, self._writer, written)  # type: ignore[arg-type]
        self._forget()
        return node

    def _forget(self) -> None:
        """Drop what was written from the tree cache (nothing reads it back; memory bounded)."""
        for h in self._written:
            self._trees._forget(h)
        self._written.clear()

    def _push(self, k: int, item: Item) -> None:
        while len(self._runs) <= k:
            self._runs.append([])
        run = self._runs[k]
        run.append(item)
        key = item.last if isinstance(item, Node) else item.name
        if name_level(key) >= k + 1:  # a node of level k ends after this item
            self._runs[k] = []
            self._push(k + 1, self._make(k, run))

    def finish(self) -> Entry | None:
        """The directory's entry (named ``''``), or ``None`` if it has no entries."""
        if self._first is not None:
            if not self._first:
                return None
            node = self._trees.write_leaf(self._first, self._writer, self._written)
            self._forget()
        else:
            runs, k = self._runs, 0
            while True:
                higher = any(runs[j] for j in range(k + 1, len(runs)))
                if not higher and len(runs[k]) == 1:
                    top = runs[k][0]
                    assert isinstance(top, Node)
                    node = top
                    break
                if runs[k]:
                    made = self._make(k, runs[k])
                    runs[k] = []
                    if len(runs) <= k + 1:
                        runs.append([])
                    runs[k + 1].append(made)
                k += 1
        return Entry("", True, node.size, node.hash, (node.ref,), node.count)


class DirMerge:
    """One local directory being merged with its ``base`` counterpart (see the module)."""

    def __init__(self, trees: TreeStore, writer: PackWriter, base: Entry | None) -> None:
        self._trees, self._writer = trees, writer
        self.base = base if base is not None and base.is_dir else None
        self._changes: dict[str, Entry] = {}
        self._builder: DirBuilder | None = None
        self._rest: Iterator[Entry] = iter(())
        """``base``'s entries not yet given to the builder (streaming)."""
        self._next: Entry | None = None

    def base_child(self, name: str) -> Entry | None:
        """``base``'s entry called ``name``."""
        return self._trees.child(self.base, name) if self.base is not None else None

    def add(self, entry: Entry, path: str) -> None:
        """The local entry ``entry`` (named; names strictly increasing) found at ``path``."""
        old = self.base_child(entry.name)
        if old is not None and old.is_dir != entry.is_dir:
            if old.is_dir:
                raise Conflict(
                    f"{path} is a directory; delete it before writing a file there", path=path
                )
            raise Conflict(f"{path} is a file, not a directory", path=path)
        if _same(old, entry):
            return  # unchanged: base's own entry stands (streaming: it comes from _rest)
        if self._builder is not None:
            self._feed_until(entry.name)
            self._builder.add(entry)
            return
        self._changes[entry.name] = entry
        if len(self._changes) > CHANGES_IN_MEMORY:
            self._builder = DirBuilder(self._trees, self._writer)
            if self.base is not None:
                self._rest = self._trees.iter_children(self.base)
                self._next = next(self._rest, None)
            changes, self._changes = self._changes, {}
            for name, e in changes.items():
                self._feed_until(name)
                self._builder.add(e)

    def _feed_until(self, name: str | None) -> None:
        """Give the builder base's entries before ``name`` (all: ``None``), dropping the one
        called ``name`` (replaced)."""
        assert self._builder is not None
        while self._next is not None and (name is None or self._next.name <= name):
            if self._next.name != name:
                self._builder.add(self._next)
            self._next = next(self._rest, None)

    def finish(self) -> Entry | None:
        """The merged directory: ``base`` itself if nothing changed (nothing written)."""
        if self._builder is not None:
            self._feed_until(None)
            return self._builder.finish()
        if not self._changes:
            return self.base
        changes: dict[str, Entry | None] = dict(self._changes)
        return self._trees.splice_dir(self.base, changes, self._writer, keep=False)


def build_folder(
    trees: TreeStore,
    writer: PackWriter,
    folder: str,
    dest: str,
    base: Entry | None,
    progress: Progress | None = None,
    cache: StatCache | None = None,
) -> Entry | None:
    """Store the files of local ``folder`` and merge them into ``base`` (the directory at store
    path ``dest``, or ``None``); the merged directory (``base`` itself if every file was there
    already; ``None`` if both are empty)."""
    from .local import ingest_folder_against

    stack: list[tuple[str, DirMerge]] = [("", DirMerge(trees, writer, base))]
    prefix: list[str] = []
    seen: list[tuple[str, Entry | None]] = [("", base)]
    """The last directory looked up in ``base`` by ``unchanged`` (files come folder by folder)."""

    def unchanged(rel: str, content: str) -> bool:
        folder_rel, _, name = rel.rpartition("/")
        if seen[0][0] != folder_rel:
            seen[0] = (folder_rel, _lookup(trees, base, folder_rel))
        where = seen[0][1]
        old = trees.child(where, name) if where is not None and where.is_dir else None
        return old is not None and not old.is_dir and old.hash == content

    def close_to(depth: int) -> None:
        while len(stack) > depth + 1:
            name, merge = stack.pop()
            prefix.pop()
            done = merge.finish()
            if done is not None:
                stack[-1][1].add(done.renamed(name), join_path(dest, "/".join([*prefix, name])))

    files = ingest_folder_against(
        writer, folder, progress, cache, unchanged if base is not None else None
    )
    for rel, entry in files:
        *dirs, name = rel.split("/")
        if dirs != prefix:
            same = 0
            while same < len(dirs) and same < len(prefix) and prefix[same] == dirs[same]:
                same += 1
            close_to(same)
            for d in dirs[same:]:
                stack.append((d, DirMerge(trees, writer, stack[-1][1].base_child(d))))
                prefix.append(d)
        if entry is not None:  # None: the same file as base's (its path was checked then)
            path = clean_path(join_path(dest, rel))  # the rules of store paths
            stack[-1][1].add(entry.renamed(name), path)
    close_to(0)
    return stack[0][1].finish()


def overlay(
    trees: TreeStore, old: Entry | None, over: FolderOver, writer: PackWriter
) -> Entry | None:
    """The directory at a folder put's path once the put is applied to ``old`` (what the head
    being committed onto holds there): ``over.merged`` if ``old`` is still ``over.base``;
    otherwise ``merged`` with every path the other writer changed taken from ``old``, unless
    the folder holds a file there (ours stands, as if staged file by file)."""
    from .trees import Patch

    if _same(old, over.base):
        return old if over.merged is over.base else over.merged
    writer.flush()  # ``merged``'s nodes are read back below (they are not kept in memory)
    theirs = Patch()
    for p, b, h in trees.diff(over.base, old, "/"):
        mine = _lookup(trees, over.merged, p)
        if not _same(mine, b):
            continue  # the folder changed it: ours stands
        if mine is not None and _is_local_file(over.folder, p):
            continue  # the folder has it (as it was): ours stands
        if h is None:
            theirs.delete(p)
        else:
            theirs.put(p, h)
    if not theirs.changes:
        return over.merged
    return trees._apply_dir(over.merged, theirs._root, "/", writer)


def _lookup(trees: TreeStore, entry: Entry | None, path: str) -> Entry | None:
    for part in split_path(path):
        if entry is None or not entry.is_dir:
            return None
        entry = trees.child(entry, part)
    return entry


def _is_local_file(folder: str, path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(os.path.join(folder, *split_path(path))).st_mode)
    except OSError:
        return False
