"""Merkle directory trees: entries, serialisation, patching, walking and diff.

A directory is a list of its entries sorted by name, in one blob or, past 256 entries, in
bounded nodes of a Merkle search tree (:mod:`.treenodes`), serialised by :mod:`.nodecodec`
(binary since #17's compact store; JSON nodes of older stores still read). An entry names a
file or a subdirectory with its size, its content hash, and the :class:`BlobRef` s to read it
(a file's chunks, or a subdirectory's top node). A directory's content hash covers only
names, kinds, sizes and content hashes (not where blobs happen to live, nor how nodes are
encoded), and its node shape depends on its names only, so equal trees have equal hashes
and diff skips them without reading.

A commit changing one file in a 100,000-file repo rewrites only one small node per level of
the directories on that file's path. Changes are staged as a :class:`Patch` (a tree of puts
and deletes) and applied to a base root; applying the same patch to a newer base is how
concurrent commits to one branch rebase.
"""

from __future__ import annotations

import heapq
import json
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import Conflict, CorruptObject, InvalidArgument, NotFound
from .names import join_path, split_path
from .nodecodec import decode_node, encode_inner
from .nodecodec import encode_leaf as encode_tree
from .objects import BlobReader, BlobRef, PackWriter, hash_bytes, iter_chunks
from .treenodes import Entry, Item, Node, file_entry, find_child, inner_node, splice

EMPTY_HASH = hash_bytes(b"[]")


def _content_hash(entries: list[Entry]) -> str:
    canon = json.dumps(
        [[e.name, "d" if e.is_dir else "f", e.size, e.hash] for e in entries],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hash_bytes(canon.encode())


@dataclass(frozen=True, slots=True)
class Root:
    """The root directory of a commit (stored as JSON in the commit's metadata row)."""

    hash: str
    size: int
    count: int
    ref: BlobRef | None

    def to_json(self) -> str:
        """Compact JSON for the metadata row."""
        return json.dumps(
            {
                "hash": self.hash,
                "size": self.size,
                "count": self.count,
                "ref": self.ref.to_list() if self.ref else None,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None, commit: str | None = None) -> Root:
        """Inverse of :meth:`to_json` (``None`` is the empty tree); ``commit`` names the row it
        came from in the error if the text is damaged."""
        if not text:
            return EMPTY_ROOT
        try:
            d = json.loads(text)
            root = cls(
                str(d["hash"]),
                int(d["size"]),
                int(d["count"]),
                BlobRef.from_list(d["ref"]) if d["ref"] else None,
            )
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            whose = f"commit {commit}'s" if commit else "the commit's"
            raise CorruptObject(
                f"{whose} root record in the metadata is damaged (not a tree reference); "
                "run `jupyter pipes fsck`",
                commit=commit,
            ) from exc
        return root

    def as_entry(self) -> Entry:
        """This root as a directory entry named ``''``."""
        return Entry("", True, self.size, self.hash, (self.ref,) if self.ref else (), self.count)


EMPTY_ROOT = Root(EMPTY_HASH, 0, 0, None)


# ---------------------------------------------------------------------------------------------
# Patches: staged changes of an open commit.


@dataclass(slots=True)
class _Put:
    entry: Entry


_FROM_TREE = object()


@dataclass(slots=True)
class _Append:
    data: bytearray
    base: object = _FROM_TREE
    """The file appended to: an :class:`Entry`, ``None`` (a new file), or the base tree's."""


@dataclass(slots=True)
class _Delete:
    pass


@dataclass(slots=True)
class _Dir:
    children: dict[str, _Put | _Append | _Delete | _Dir] = field(default_factory=dict)
    replace: bool = False
    """The base directory was deleted before these children were written."""
    over: Over | None = None
    """A folder put built ahead (:mod:`.treebuild`), laid over the base before the children."""


class Over(Protocol):
    """A folder put built ahead (:class:`.treebuild.FolderOver`), staged at one path and laid
    over what the path holds when the patch is applied."""

    def lay_over(self, trees: TreeStore, old: Entry | None, writer: PackWriter) -> Entry | None:
        """The directory at the path once the put is applied to ``old``."""
        ...


class Patch:
    """Ordered puts, appends and deletes, folded into a tree as they are staged."""

    def __init__(self) -> None:
        self._root = _Dir()
        self._overlays: list[_Dir] = []
        self.changes = 0
        self.reads_staged = False
        """True once an append extends a file put in this same patch: applying the patch then
        reads that file's last chunk, so its pack must be durable (flushed) first."""

    def _parent(self, path: str) -> tuple[_Dir, str]:
        parts = split_path(path)
        if not parts:
            raise InvalidArgument("the root '/' cannot be a file", path=path)
        node = self._root
        for i, p in enumerate(parts[:-1]):
            child = node.children.get(p)
            if child is None:
                child = node.children[p] = _Dir()
            elif isinstance(child, _Delete):
                child = node.children[p] = _Dir(replace=True)
            elif isinstance(child, _Put) and child.entry.is_dir:
                raise Conflict(
                    f"cannot write under {'/' + '/'.join(parts[: i + 1])} in the same commit that "
                    "copied it; make two commits",
                    path=path,
                )
            elif not isinstance(child, _Dir):
                raise Conflict(
                    f"{'/' + '/'.join(parts[: i + 1])} is a file, not a directory", path=path
                )
            node = child
        return node, parts[-1]

    def put(self, path: str, entry: Entry) -> None:
        """Stage ``entry`` (a file or a whole directory) at ``path``."""
        node, name = self._parent(path)
        node.children[name] = _Put(entry.renamed(name))
        self.changes += 1

    def append(self, path: str, data: bytes) -> None:
        """Stage appending ``data`` to the file at ``path`` (created if missing).

        The bytes are kept in memory until the commit finishes, when the file's last chunk and
        the new bytes are re-chunked together: the result is chunked exactly as if the whole
        file had been written at once, so equal content keeps equal hashes.
        """
        node, name = self._parent(path)
        cur = node.children.get(name)
        if isinstance(cur, _Put) and not cur.entry.is_dir:
            node.children[name] = _Append(bytearray(data), cur.entry)
            self.reads_staged = True
        elif isinstance(cur, _Append):
            cur.data += data
        elif isinstance(cur, _Delete):
            node.children[name] = _Append(bytearray(data), None)
        elif cur is None:
            node.children[name] = _Append(bytearray(data))
        else:
            raise Conflict(f"{path} is a directory; cannot append to it", path=path)
        self.changes += 1

    def can_overlay(self, path: str) -> bool:
        """Whether nothing is staged at, under or over ``path`` yet (a folder put there may
        then be built ahead and staged with :meth:`overlay`)."""
        node = self._root
        for part in split_path(path):
            if node.replace or node.over is not None:
                return False
            child = node.children.get(part)
            if child is None:
                return True
            if not isinstance(child, _Dir):
                return False
            node = child
        return not (node.children or node.replace or node.over is not None)

    def overlay(self, path: str, over: Over) -> None:
        """Stage a folder put built ahead at ``path`` (where :meth:`can_overlay`)."""
        assert self.can_overlay(path)
        node = self._root
        for part in split_path(path):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Dir()
            assert isinstance(child, _Dir)
            node = child
        node.over = over
        self.changes += 1
        self._overlays.append(node)

    @property
    def overlaid_then_changed(self) -> bool:
        """Whether changes were staged under a folder put built ahead (its nodes are then read
        when the patch is applied)."""
        return any(node.children or node.replace for node in self._overlays)

    def delete(self, path: str) -> None:
        """Stage deleting the file or directory at ``path`` (``/`` deletes everything)."""
        if path == "/":
            self._root = _Dir(replace=True)
        else:
            node, name = self._parent(path)
            node.children[name] = _Delete()
        self.changes += 1


# ---------------------------------------------------------------------------------------------


class TreeStore:
    """Reads trees (with a small cache) and writes patched trees through a :class:`PackWriter`.

    A directory is one node or a tree of bounded nodes (:mod:`.treenodes`); every method here
    reads both, so stores written before directories were split stay readable as they are.
    """

    def __init__(self, reader: BlobReader, cache_size: int = 4096) -> None:
        self._reader = reader
        self._cache: OrderedDict[str, tuple[int, list[Item], list[str]]] = OrderedDict()
        self._cache_items = 0
        self._cache_size = cache_size
        self._max_items = max(cache_size, 1) * 16
        """Cached entries at most (a cache of whole 100,000-entry directories would not be
        small): about a megabyte per 1,000."""

    def _load(self, ref: BlobRef) -> tuple[int, list[Item], list[str]]:
        """A node's level, items and their last names (not cached)."""
        data = self._reader.read(ref)
        try:
            level, items = decode_node(data)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise CorruptObject(
                f"directory node {ref.hash} in pack {ref.pack} is damaged; "
                "run `jupyter pipes fsck`",
                pack=ref.pack,
            ) from exc
        return level, items, [it.last if isinstance(it, Node) else it.name for it in items]

    def _node(self, ref: BlobRef) -> tuple[int, list[Item], list[str]]:
        """Like :meth:`_load`, through the cache."""
        hit = self._cache.get(ref.hash)
        if hit is not None:
            self._cache.move_to_end(ref.hash)
            return hit
        node = self._load(ref)
        self._remember(ref.hash, node)
        return node

    def _remember(self, key: str, node: tuple[int, list[Item], list[str]]) -> None:
        if len(node[1]) > self._max_items:
            return
        self._cache[key] = node
        self._cache_items += len(node[1])
        while len(self._cache) > self._cache_size or self._cache_items > self._max_items:
            _, old = self._cache.popitem(last=False)
            self._cache_items -= len(old[1])

    def _read_items(self, ref: BlobRef) -> tuple[int, list[Item]]:
        level, items, _ = self._node(ref)
        return level, items

    @staticmethod
    def _dir_ref(entry: Entry | Root) -> BlobRef | None:
        return entry.ref if isinstance(entry, Root) else (entry.refs[0] if entry.refs else None)

    def top(self, entry: Entry | Root) -> Node | None:
        """A directory's top node (``None`` for the empty root)."""
        ref = self._dir_ref(entry)
        if ref is None:
            return None
        level, items, lasts = self._node(ref)
        n = sum(it.n if isinstance(it, Node) else 1 for it in items)
        return Node(level, lasts[-1] if lasts else "", entry.hash, entry.count, entry.size, n, ref)

    def child(self, entry: Entry | Root, name: str) -> Entry | None:
        """The entry called ``name`` in a directory, reading one node per level."""
        ref = self._dir_ref(entry)
        while ref is not None:
            level, items, lasts = self._node(ref)
            if not items:
                return None
            if level == 0:
                i = bisect_left(lasts, name)
                if i < len(items) and lasts[i] == name:
                    found = items[i]
                    assert not isinstance(found, Node)
                    return found
                return None
            ref = find_child(items, lasts, name).ref  # type: ignore[arg-type]
        return None

    def iter_children(self, entry: Entry | Root) -> Iterator[Entry]:
        """A directory's entries in name order, streamed: one node per level in memory."""
        ref = self._dir_ref(entry)
        if ref is not None:
            yield from self._iter_node(ref, top=True)

    def _iter_node(self, ref: BlobRef, top: bool = False) -> Iterator[Entry]:
        _, items, _ = self._node(ref) if top or ref.hash in self._cache else self._load(ref)
        for it in items:
            if isinstance(it, Node):
                yield from self._iter_node(it.ref)
            else:
                yield it

    def node_refs(self, entry: Entry | Root) -> Iterator[BlobRef]:
        """The blobs of every node of a directory below its top node (none for a flat one)."""
        top = self.top(entry)
        if top is None or top.level == 0:
            return
        stack = [top.ref]
        while stack:
            level, items, _ = self._load(stack.pop())
            if level >= 1:
                for it in items:
                    assert isinstance(it, Node)
                    yield it.ref
                    if it.level >= 1:
                        stack.append(it.ref)

    def children(self, entry: Entry | Root) -> dict[str, Entry]:
        """The entries of a directory (empty for the empty root), all in memory: prefer
        :meth:`iter_children` or :meth:`child` for large directories."""
        return {e.name: e for e in self.iter_children(entry)}

    def lookup(self, root: Root, path: str) -> Entry | None:
        """The entry at ``path`` (the root itself for ``/``), or ``None``."""
        entry: Entry = root.as_entry()
        for part in split_path(path):
            if not entry.is_dir:
                return None
            nxt = self.child(entry, part)
            if nxt is None:
                return None
            entry = nxt
        if path == "/" and root.count == 0:
            return None
        return entry

    def walk(self, entry: Entry, path: str) -> Iterator[tuple[str, Entry]]:
        """Every file under a directory entry, depth-first in name order, with its path."""
        for child in self.iter_children(entry):
            p = join_path(path, child.name)
            if child.is_dir:
                yield from self.walk(child, p)
            else:
                yield p, child

    def walk_all(self, entry: Entry, path: str) -> Iterator[tuple[str, Entry]]:
        """Every file and directory under ``entry`` (directories before their contents)."""
        for child in self.iter_children(entry):
            p = join_path(path, child.name)
            yield p, child
            if child.is_dir:
                yield from self.walk_all(child, p)

    def walk_sorted(self, entry: Entry, path: str) -> Iterator[tuple[str, Entry]]:
        """Every file and directory under a directory, streamed in the order of their paths
        as strings with directories ending in ``/`` (Pachyderm's glob order): a directory is
        held back only while names it prefixes, followed by a character below ``/``, come."""
        base = path.rstrip("/") + "/"
        pending: list[tuple[str, int, Entry]] = []
        for i, child in enumerate(self.iter_children(entry)):
            key = child.name + "/" if child.is_dir else child.name
            while pending and pending[0][0] < key:
                k, _, d = heapq.heappop(pending)
                yield base + k, d
                yield from self.walk_sorted(d, base + k)
            if child.is_dir:
                heapq.heappush(pending, (key, i, child))
            else:
                yield base + key, child
        while pending:
            k, _, d = heapq.heappop(pending)
            yield base + k, d
            yield from self.walk_sorted(d, base + k)

    # -- writing -------------------------------------------------------------------------------

    def apply(self, root: Root, patch: Patch, writer: PackWriter) -> Root:
        """Apply ``patch`` to ``root``, writing the new directory nodes; the new root."""
        old = None if patch._root.replace or not root.count else root.as_entry()
        start = old if patch._root.over is None else patch._root.over.lay_over(self, old, writer)
        if patch.overlaid_then_changed:
            writer.flush()  # folder puts' nodes are read back below (they are not kept in memory)
        new = self._apply_dir(start, patch._root, "/", writer)
        if new is None:
            return EMPTY_ROOT
        if new is old:
            return root
        return Root(new.hash, new.size, new.count, new.refs[0])

    def _apply_dir(
        self, old_dir: Entry | None, node: _Dir, path: str, writer: PackWriter
    ) -> Entry | None:
        """The directory ``old_dir`` (``None``: none) with ``node``'s changes. Only the nodes
        on the changed names' paths are read and rewritten; a directory whose entries come out
        unchanged is ``old_dir`` itself (nothing written: re-putting an unchanged folder
        rewrites no tree)."""
        changes: dict[str, Entry | None] = {}
        for name, change in node.children.items():
            old = self.child(old_dir, name) if old_dir is not None else None
            p = join_path(path, name)
            new: Entry | None
            if isinstance(change, _Delete):
                new = None
            elif isinstance(change, _Put):
                if old is not None and old.is_dir and not change.entry.is_dir:
                    raise Conflict(
                        f"{p} is a directory; delete it before writing a file there", path=p
                    )
                new = change.entry
            elif isinstance(change, _Append):
                target = old if change.base is _FROM_TREE else change.base
                assert target is None or isinstance(target, Entry)
                if target is not None and target.is_dir:
                    raise Conflict(f"{p} is a directory; cannot append to it", path=p)
                new = self._appended(name, target, change.data, writer)
            else:
                if old is not None and not old.is_dir and not change.replace:
                    raise Conflict(f"{p} is a file, not a directory", path=p)
                sub_old = None if change.replace or old is None or not old.is_dir else old
                if change.over is not None:
                    sub_old = change.over.lay_over(self, sub_old, writer)
                sub = self._apply_dir(sub_old, change, p, writer)
                new = None if sub is None else sub if sub is old else sub.renamed(name)
            if new != old:
                changes[name] = new
        if not changes:
            return old_dir
        return self.splice_dir(old_dir, changes, writer)

    def splice_dir(
        self,
        old_dir: Entry | None,
        changes: dict[str, Entry | None],
        writer: PackWriter,
        *,
        keep: bool = True,
    ) -> Entry | None:
        """The directory ``old_dir`` with some entries replaced, added or (``None``) deleted,
        writing only the nodes whose range holds a change; ``None`` if it ends up empty.
        ``keep=False``: the nodes written are not kept in the cache afterwards."""
        top = self.top(old_dir) if old_dir is not None else None
        written: list[str] = []
        result = splice(
            top,
            changes,
            self._read_items,
            lambda level, kids: self.write_inner(level, kids, writer, written),
            lambda entries: self.write_leaf(entries, writer, written),
        )
        if not keep:
            for h in written:
                self._forget(h)
        if result is None:
            return None  # Pachyderm has no empty directories
        return Entry("", True, result.size, result.hash, (result.ref,), result.count)

    def write_leaf(
        self, entries: list[Entry], writer: PackWriter, written: list[str] | None = None
    ) -> Node:
        """Write a leaf (or a whole flat directory) of entries in name order (kept in the
        cache, so that it reads before it is flushed, unless ``written`` collects its hash)."""
        ref = writer.add(encode_tree(entries))
        names = [e.name for e in entries]
        self._remember(ref.hash, (0, list(entries), names))
        if written is not None:
            written.append(ref.hash)
        return Node(
            0,
            names[-1],
            _content_hash(entries),
            sum(e.count for e in entries),
            sum(e.size for e in entries),
            len(entries),
            ref,
        )

    def write_inner(
        self, level: int, kids: list[Node], writer: PackWriter, written: list[str] | None = None
    ) -> Node:
        """Write an inner node of a level over its children (see :meth:`write_leaf`)."""
        ref = writer.add(encode_inner(level, kids))
        self._remember(ref.hash, (level, list(kids), [k.last for k in kids]))
        if written is not None:
            written.append(ref.hash)
        return inner_node(level, kids, ref)

    def _forget(self, key: str) -> None:
        old = self._cache.pop(key, None)
        if old is not None:
            self._cache_items -= len(old[1])

    def _appended(
        self, name: str, base: Entry | None, data: bytes | bytearray, writer: PackWriter
    ) -> Entry:
        keep: tuple[BlobRef, ...] = ()
        tail = b""
        if base is not None and base.refs:
            keep, tail = base.refs[:-1], self._reader.read(base.refs[-1])
        chunks = list(iter_chunks(tail + bytes(data)))
        new = writer.add_many(chunks, files=not keep and len(chunks) == 1)
        return file_entry(name, [*keep, *new])

    # -- diff ----------------------------------------------------------------------------------

    def diff(
        self, old: Entry | None, new: Entry | None, path: str
    ) -> Iterator[tuple[str, Entry | None, Entry | None]]:
        """Changed files between two entries, skipping identical subtrees by hash."""
        if (
            old is not None
            and new is not None
            and old.hash == new.hash
            and old.is_dir == new.is_dir
        ):
            return
        if old is not None and new is not None and old.is_dir and new.is_dir:
            for name, a, b in self.dir_diff(old, new):
                yield from self.diff(a, b, join_path(path, name))
            return
        for side_old, side_new in (
            ((old, None), (None, new))
            if (old is not None and new is not None and old.is_dir != new.is_dir)
            else ((old, new),)
        ):
            entry = side_old or side_new
            if entry is None:
                continue
            if entry.is_dir:
                for p, e in self.walk(entry, path):
                    yield (p, e, None) if side_old is not None else (p, None, e)
            else:
                yield path, side_old, side_new

    def dir_diff(
        self, old: Entry | None, new: Entry | None
    ) -> Iterator[tuple[str, Entry | None, Entry | None]]:
        """The entries that differ between two versions of a directory (``None`` or a file
        counts as empty), in name order, one level deep: nodes
        with equal hashes on both sides (equal name ranges and entries) are dropped unread,
        the highest remaining nodes opened, until only differing entries are left."""
        a: list[Item] = [n for n in (self._dir_top(old),) if n is not None]
        b: list[Item] = [n for n in (self._dir_top(new),) if n is not None]
        while True:
            ka, kb = {_item_key(x) for x in a}, {_item_key(x) for x in b}
            same = ka & kb
            if same:
                a = [x for x in a if _item_key(x) not in same]
                b = [x for x in b if _item_key(x) not in same]
            levels = [x.level for x in (*a, *b) if isinstance(x, Node)]
            if not levels:
                break
            top = max(levels)
            a, b = self._open(a, top), self._open(b, top)
        ia, ib = iter(a), iter(b)
        ea, eb = next(ia, None), next(ib, None)
        while ea is not None or eb is not None:
            assert not isinstance(ea, Node) and not isinstance(eb, Node)
            if eb is None or (ea is not None and ea.name < eb.name):
                assert ea is not None
                yield ea.name, ea, None
                ea = next(ia, None)
            elif ea is None or eb.name < ea.name:
                yield eb.name, None, eb
                eb = next(ib, None)
            else:
                yield ea.name, ea, eb
                ea, eb = next(ia, None), next(ib, None)

    def _dir_top(self, entry: Entry | None) -> Node | None:
        return self.top(entry) if entry is not None and entry.is_dir else None

    def _open(self, items: list[Item], level: int) -> list[Item]:
        out: list[Item] = []
        for x in items:
            if isinstance(x, Node) and x.level == level:
                out.extend(self._read_items(x.ref)[1])
            else:
                out.append(x)
        return out

    def require(self, root: Root, path: str) -> Entry:
        """Like :meth:`lookup` but raises :class:`NotFound`."""
        e = self.lookup(root, path)
        if e is None:
            raise NotFound(f"no file or directory at {path}", path=path)
        return e


def _item_key(x: Item) -> tuple[str, ...]:
    if isinstance(x, Node):
        return ("n", x.hash)
    return ("e", x.name, "d" if x.is_dir else "f", x.hash)
