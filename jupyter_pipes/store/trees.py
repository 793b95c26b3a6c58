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

from ..errors import Conflict, CorruptObject, InvalidArgument, NotFound
from .names import join_path, split_path
from .objects import BlobReader, BlobRef, PackWriter, hash_bytes, iter_chunks

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
    """Serialise a directory's entries (sorted by name), compactly.

    Rows: a file of one chunk ``[name, 0, size, hash, [pack, offset, length]]`` (the chunk's
    hash is the file's); a file of many chunks ``[name, 0, size, hash, [[hash, pack, offset,
    length], ...]]``; a directory ``[name, 1, size, hash, count, [hash, pack, offset, length]]``.
    """
    rows: list[list[object]] = []
    for e in entries:
        if e.is_dir:
            rows.append([e.name, 1, e.size, e.hash, e.count, e.refs[0].to_list()])
        elif len(e.refs) == 1:
            r = e.refs[0]
            rows.append([e.name, 0, e.size, e.hash, [r.pack, r.offset, r.length]])
        else:
            rows.append([e.name, 0, e.size, e.hash, [r.to_list() for r in e.refs]])
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()


def decode_tree(data: bytes) -> dict[str, Entry]:
    """Inverse of :func:`encode_tree`: entries by name, in name order."""
    out: dict[str, Entry] = {}
    for row in json.loads(data):
        name, is_dir, size, h = row[0], row[1], row[2], row[3]
        if is_dir:
            out[name] = Entry(name, True, size, h, (BlobRef.from_list(row[5]),), row[4])
        elif isinstance(row[4][0], str):
            pack, off, length = row[4]
            out[name] = Entry(name, False, size, h, (BlobRef(h, pack, off, length),))
        else:
            out[name] = Entry(name, False, size, h, tuple(BlobRef.from_list(r) for r in row[4]))
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


class Patch:
    """Ordered puts, appends and deletes, folded into a tree as they are staged."""

    def __init__(self) -> None:
        self._root = _Dir()
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
        old = None if patch._root.replace or not root.count else root.as_entry()
        new = self._apply_dir(base, patch._root, "/", writer, old)
        if new is None:
            return EMPTY_ROOT
        if new is old:
            return root
        return Root(new.hash, new.size, new.count, new.refs[0])

    def _apply_dir(
        self,
        base: dict[str, Entry],
        node: _Dir,
        path: str,
        writer: PackWriter,
        old_dir: Entry | None = None,
    ) -> Entry | None:
        """The directory ``base`` (the children of ``old_dir``) with ``node``'s changes; a
        directory whose entries come out unchanged is ``old_dir`` itself (nothing written:
        re-putting an unchanged folder rewrites no tree)."""
        entries = dict(base)
        for name, change in node.children.items():
            old = entries.get(name)
            p = join_path(path, name)
            if isinstance(change, _Delete):
                entries.pop(name, None)
            elif isinstance(change, _Put):
                if (
                    old is not None
                    and old.is_dir != change.entry.is_dir
                    and not change.entry.is_dir
                ):
                    raise Conflict(
                        f"{p} is a directory; delete it before writing a file there", path=p
                    )
                entries[name] = change.entry
            elif isinstance(change, _Append):
                target = old if change.base is _FROM_TREE else change.base
                assert target is None or isinstance(target, Entry)
                if target is not None and target.is_dir:
                    raise Conflict(f"{p} is a directory; cannot append to it", path=p)
                entries[name] = self._appended(name, target, change.data, writer)
            else:
                if old is not None and not old.is_dir and not change.replace:
                    raise Conflict(f"{p} is a file, not a directory", path=p)
                sub_base = (
                    {} if change.replace or old is None or not old.is_dir else self.children(old)
                )
                unchanged = old if sub_base and old is not None else None
                sub = self._apply_dir(sub_base, change, p, writer, unchanged)
                if sub is None:
                    entries.pop(name, None)
                else:
                    entries[name] = sub.renamed(name)
        if not entries:
            return None  # Pachyderm has no empty directories
        if old_dir is not None and entries == base:
            return old_dir
        ordered = [entries[k] for k in sorted(entries)]
        data = encode_tree(ordered)
        ref = writer.add(data)
        self._cache[ref.hash] = {e.name: e for e in ordered}
        return Entry(
            "",
            True,
            sum(e.size for e in ordered),
            _content_hash(ordered),
            (ref,),
            sum(e.count for e in ordered),
        )

    def _appended(
        self, name: str, base: Entry | None, data: bytes | bytearray, writer: PackWriter
    ) -> Entry:
        keep: tuple[BlobRef, ...] = ()
        tail = b""
        if base is not None and base.refs:
            keep, tail = base.refs[:-1], self._reader.read(base.refs[-1])
        new = writer.add_many(list(iter_chunks(tail + bytes(data))))
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
            a, b = self.children(old), self.children(new)
            for name in sorted(a.keys() | b.keys()):
                yield from self.diff(a.get(name), b.get(name), join_path(path, name))
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

    def require(self, root: Root, path: str) -> Entry:
        """Like :meth:`lookup` but raises :class:`NotFound`."""
        e = self.lookup(root, path)
        if e is None:
            raise NotFound(f"no file or directory at {path}", path=path)
        return e
