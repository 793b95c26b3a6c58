"""Merkle directory trees: entries, serialisation, patching, walking and diff.

A directory is one blob: a JSON list of its entries sorted by name. An entry names a file or a
subdirectory with its size, its content hash, and the :class:`BlobRef` s to read it (a file's
chunks, or a subdirectory's tree blob). A directory's content hash covers only names, kinds,
sizes and content hashes (not where blobs happen to live), so equal trees have equal hashes and
diff skips them without reading.

A commit changing one file in a 100,000-file repo rewrites only the directories on that file's
path. Changes are staged as a :class:`Patch` (a tree of puts and deletes) and applied to a base
root; applying the same patch to a newer base is how concurrent commits to one branch rebase.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

import blake3

from ..errors import Conflict, InvalidArgument, NotFound
from .objects import BlobReader, BlobRef, PackWriter, hash_bytes
from .names import join_path, split_path

EMPTY_HASH = blake3.blake3(b"[]").hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """A file or directory inside a tree."""

    name: str
    is_dir: bool
    size: int
    hash: str
    refs: tuple[BlobRef, ...]
    count: int = 1
    """Number of files at or under this entry."""

    def renamed(self, name: str) -> Entry:
        """The same content under another name."""
        return Entry(name, self.is_dir, self.size, self.hash, self.refs, self.count)


def file_entry(name: str, refs: list[BlobRef] | tuple[BlobRef, ...]) -> Entry:
    """A file entry from its chunk refs. A one-chunk file's hash is the BLAKE3 of its bytes."""
    refs = tuple(refs)
    if len(refs) == 1:
        h = refs[0].hash
    else:
        h = blake3.blake3(("cdc:" + ",".join(r.hash for r in refs)).encode()).hexdigest()
    return Entry(name, False, sum(r.length for r in refs), h, refs)


def _content_hash(entries: list[Entry]) -> str:
    canon = json.dumps(
        [[e.name, "d" if e.is_dir else "f", e.size, e.hash] for e in entries],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hash_bytes(canon.encode())


def encode_tree(entries: list[Entry]) -> bytes:
    """Serialise a directory's entries (sorted by name)."""
    rows = [
        [e.name, 1 if e.is_dir else 0, e.size, e.hash, e.count, [r.to_list() for r in e.refs]]
        for e in entries
    ]
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()


def decode_tree(data: bytes) -> dict[str, Entry]:
    """Inverse of :func:`encode_tree`: entries by name, in name order."""
    out: dict[str, Entry] = {}
    for name, is_dir, size, h, count, refs in json.loads(data):
        out[name] = Entry(name, bool(is_dir), size, h, tuple(BlobRef.from_list(r) for r in refs), count)
    return out


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
            {"hash": self.hash, "size": self.size, "count": self.count,
             "ref": self.ref.to_list() if self.ref else None},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str | None) -> Root:
        """Inverse of :meth:`to_json` (``None`` is the empty tree)."""
        if not text:
            return EMPTY_ROOT
        d = json.loads(text)
        return cls(d["hash"], d["size"], d["count"], BlobRef.from_list(d["ref"]) if d["ref"] else None)

    def as_entry(self) -> Entry:
        """This root as a directory entry named ``''``."""
        return Entry("", True, self.size, self.hash, (self.ref,) if self.ref else (), self.count)


EMPTY_ROOT = Root(EMPTY_HASH, 0, 0, None)


# ---------------------------------------------------------------------------------------------
# Patches: staged changes of an open commit.


@dataclass(slots=True)
class _Put:
    entry: Entry


@dataclass(slots=True)
class _Append:
    refs: list[BlobRef]


@dataclass(slots=True)
class _Delete:
    pass


@dataclass(slots=True)
class _Dir:
    children: dict[str, _Put | _Append | _Delete | _Dir] = field(default_factory=dict)
    replace: bool = False
    """The base directory was deleted before these children were written."""


class Patch:
    """Ordered puts, appends and deletes, folded into a tree as they are staged."""

    def __init__(self) -> None:
        self._root = _Dir()
        self.changes = 0

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
                raise Conflict(f"{'/' + '/'.join(parts[: i + 1])} is a file, not a directory", path=path)
            node = child
        return node, parts[-1]

    def put(self, path: str, entry: Entry) -> None:
        """Stage ``entry`` (a file or a whole directory) at ``path``."""
        node, name = self._parent(path)
        node.children[name] = _Put(entry.renamed(name))
        self.changes += 1

    def append(self, path: str, refs: list[BlobRef]) -> None:
        """Stage appending chunks to the file at ``path`` (created if missing)."""
        node, name = self._parent(path)
        cur = node.children.get(name)
        if isinstance(cur, _Put) and not cur.entry.is_dir:
            node.children[name] = _Put(file_entry(name, [*cur.entry.refs, *refs]))
        elif isinstance(cur, _Append):
            cur.refs.extend(refs)
        elif isinstance(cur, _Delete):
            node.children[name] = _Put(file_entry(name, refs))
        elif cur is None:
            node.children[name] = _Append(list(refs))
        else:
            raise Conflict(f"{path} is a directory; cannot append to it", path=path)
        self.changes += 1

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
    """Reads trees (with a small cache) and writes patched trees through a :class:`PackWriter`."""

    def __init__(self, reader: BlobReader, cache_size: int = 4096) -> None:
        self._reader = reader
        self._cache: OrderedDict[str, dict[str, Entry]] = OrderedDict()
        self._cache_size = cache_size

    def children(self, entry: Entry | Root) -> dict[str, Entry]:
        """The entries of a directory (empty for the empty root)."""
        ref = entry.ref if isinstance(entry, Root) else (entry.refs[0] if entry.refs else None)
        if ref is None:
            return {}
        hit = self._cache.get(ref.hash)
        if hit is not None:
            self._cache.move_to_end(ref.hash)
            return hit
        tree = decode_tree(self._reader.read(ref))
        self._cache[ref.hash] = tree
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return tree

    def lookup(self, root: Root, path: str) -> Entry | None:
        """The entry at ``path`` (the root itself for ``/``), or ``None``."""
        entry: Entry = root.as_entry()
        for part in split_path(path):
            if not entry.is_dir:
                return None
            nxt = self.children(entry).get(part)
            if nxt is None:
                return None
            entry = nxt
        if path == "/" and root.count == 0:
            return None
        return entry

    def walk(self, entry: Entry, path: str) -> Iterator[tuple[str, Entry]]:
        """Every file under a directory entry, depth-first in name order, with its path."""
        for name, child in self.children(entry).items():
            p = join_path(path, name)
            if child.is_dir:
                yield from self.walk(child, p)
            else:
                yield p, child

    def walk_all(self, entry: Entry, path: str) -> Iterator[tuple[str, Entry]]:
        """Every file and directory under ``entry`` (directories before their contents)."""
        for name, child in self.children(entry).items():
            p = join_path(path, name)
            yield p, child
            if child.is_dir:
                yield from self.walk_all(child, p)

    # -- writing -------------------------------------------------------------------------------

    def apply(self, root: Root, patch: Patch, writer: PackWriter) -> Root:
        """Apply ``patch`` to ``root``, writing the new directories; the new root."""
        base = {} if patch._root.replace else self.children(root)
        new = self._apply_dir(base, patch._root, "/", writer)
        if new is None:
            return EMPTY_ROOT
        return Root(new.hash, new.size, new.count, new.refs[0])

    def _apply_dir(
        self, base: dict[str, Entry], node: _Dir, path: str, writer: PackWriter
    ) -> Entry | None:
        entries = dict(base)
        for name, change in node.children.items():
            old = entries.get(name)
            p = join_path(path, name)
            if isinstance(change, _Delete):
                entries.pop(name, None)
            elif isinstance(change, _Put):
                if old is not None and old.is_dir != change.entry.is_dir and not change.entry.is_dir:
                    raise Conflict(f"{p} is a directory; delete it before writing a file there", path=p)
                entries[name] = change.entry
            elif isinstance(change, _Append):
                if old is not None and old.is_dir:
                    raise Conflict(f"{p} is a directory; cannot append to it", path=p)
                entries[name] = file_entry(name, [*(old.refs if old else ()), *change.refs])
            else:
                if old is not None and not old.is_dir and not change.replace:
                    raise Conflict(f"{p} is a file, not a directory", path=p)
                sub_base = {} if change.replace or old is None or not old.is_dir else self.children(old)
                sub = self._apply_dir(sub_base, change, p, writer)
                if sub is None:
                    entries.pop(name, None)
                else:
                    entries[name] = sub.renamed(name)
        if not entries:
            return None  # Pachyderm has no empty directories
        ordered = [entries[k] for k in sorted(entries)]
        data = encode_tree(ordered)
        ref = writer.add(data)
        self._cache[ref.hash] = {e.name: e for e in ordered}
        return Entry(
            "", True, sum(e.size for e in ordered), _content_hash(ordered), (ref,),
            sum(e.count for e in ordered),
        )

    # -- diff ----------------------------------------------------------------------------------

    def diff(
        self, old: Entry | None, new: Entry | None, path: str
    ) -> Iterator[tuple[str, Entry | None, Entry | None]]:
        """Changed files between two entries, skipping identical subtrees by hash."""
        if old is not None and new is not None and old.hash == new.hash and old.is_dir == new.is_dir:
            return
        if old is not None and new is not None and old.is_dir and new.is_dir:
            a, b = self.children(old), self.children(new)
            for name in sorted(a.keys() | b.keys()):
                yield from self.diff(a.get(name), b.get(name), join_path(path, name))
            return
        for side_old, side_new in ((old, None), (None, new)) if (
            old is not None and new is not None
            and old.is_dir != new.is_dir
        ) else ((old, new),):
            entry = side_old or side_new
            if entry is None:
                continue
            if entry.is_dir:
                for p, e in self.walk(entry, path):
                    yield (p, e, None) if side_old is not None else (p, None, e)
            else:
                yield path, side_old, side_new

    def require(self, root: Root, path: str) -> Entry:
        """Like :meth:`lookup` but raises :class:`NotFound`."""
        e = self.lookup(root, path)
        if e is None:
            raise NotFound(f"no file or directory at {path}", path=path)
        return e
