"""Bounded directory nodes: how a large directory is split into small content-addressed blobs.

A directory of at most :data:`FLAT_MAX` entries is one blob, a list of its entries. A larger
directory is a *Merkle search tree* over its entries sorted by name: leaves are lists of
entries in that same format, inner nodes lists of ``(last name, hash, files, bytes, entries,
ref)`` of their children. How nodes are serialised (a binary format since #17's compact
store, JSON before) is :mod:`.nodecodec`'s business.

Where nodes split depends only on the names, never on the order of edits: a name's *level* is
the number of trailing zero base-32 digits of the 64-bit BLAKE2b of its name (little-endian);
a leaf ends after each name of level >= 1 and a level-L node after each child whose last name
has level >= L + 1.
So one directory content has exactly one shape and one root hash however it was written
(dedup and the engine's skip-unchanged compare hashes), nodes hold 32 items on average, and
changing one entry rewrites one node per level: O(log n) small blobs.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

from .objects import BlobRef, hash_bytes

FLAT_MAX = 256
"""A directory with at most this many entries is one flat blob."""
DIGIT_BITS = 5
"""Nodes hold 2**DIGIT_BITS = 32 items on average."""
_MAX_LEVEL = 64 // DIGIT_BITS


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
        h = hash_bytes(("cdc:" + ",".join(r.hash for r in refs)).encode())
    return Entry(name, False, sum(r.length for r in refs), h, refs)


@dataclass(frozen=True, slots=True)
class Node:
    """A stored node of a split directory: a leaf (level 0) or an inner node (level >= 1)."""

    level: int
    last: str
    """The greatest name under this node."""
    hash: str
    count: int
    """Files under this node."""
    size: int
    n: int
    """Directory entries under this node."""
    ref: BlobRef


Item = Union["Entry", Node]
Reader = Callable[[BlobRef], "tuple[int, Sequence[Item]]"]
Writer = Callable[[int, "list[Node]"], Node]


@lru_cache(maxsize=1 << 12)  # bounded memory: a put of 300,000 names streams (#19)
def name_level(name: str) -> int:
    """The level of a name: trailing zero base-32 digits of its 64-bit BLAKE2b (capped)."""
    h = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
    if h == 0:
        return _MAX_LEVEL
    return min(((h & -h).bit_length() - 1) // DIGIT_BITS, _MAX_LEVEL)


def _key(it: Item) -> str:
    return it.last if isinstance(it, Node) else it.name


def _lvl(it: Item) -> int:
    return it.level if isinstance(it, Node) else -1


def _n(it: Item) -> int:
    return it.n if isinstance(it, Node) else 1


def inner_hash(level: int, items: Sequence[Node]) -> str:
    """The content hash of an inner node (names, hashes and totals of its children)."""
    canon = json.dumps(
        [level, [[c.last, c.hash, c.count, c.size, c.n] for c in items]],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hash_bytes(b"tree2:" + canon.encode())


def find_child(items: Sequence[Node], lasts: Sequence[str], name: str) -> Node:
    """The child of an inner node whose range holds ``name``."""
    i = bisect_left(lasts, name)
    return items[min(i, len(items) - 1)]


# -- writing ----------------------------------------------------------------------------------


def _make(level: int, run: list[Item], write: Writer, leaf: Callable[[list[Entry]], Node]) -> Node:
    if level == 0:
        return leaf(run)  # type: ignore[arg-type]
    kids: list[Node] = run  # type: ignore[assignment]
    return write(level, kids)


def inner_node(level: int, kids: list[Node], ref: BlobRef) -> Node:
    """The :class:`Node` of an inner node written at ``ref``."""
    return Node(
        level,
        kids[-1].last,
        inner_hash(level, kids),
        sum(c.count for c in kids),
        sum(c.size for c in kids),
        sum(c.n for c in kids),
        ref,
    )


def splice(
    top: Node | None,
    changes: dict[str, Entry | None],
    read: Reader,
    write: Writer,
    leaf: Callable[[list[Entry]], Node],
) -> Node | None:
    """The directory ``top`` with ``changes`` (name -> new entry, or ``None`` to delete).

    Only nodes whose name range holds a change, or whose neighbours' boundaries moved, are read
    and rewritten; every other subtree is kept as it is. ``leaf`` writes a list of entries as a
    leaf (or flat directory) node, ``write`` an inner node of a level and children (both must
    keep what they write readable through ``read`` before it is flushed). The result is the
    canonical shape of the new content.
    """
    names = sorted(changes)
    seq: list[Item] = [] if top is None else _explode(top, None, None, names, read)
    seq = _apply(seq, names, changes)
    if not seq:
        return None
    if sum(_n(it) for it in seq) <= FLAT_MAX:
        return leaf(_entries(seq, read))
    seq = _align(seq, read)
    level = 0
    while True:
        seq = _chunk(seq, level, write, leaf)
        if len(seq) == 1:
            break
        level += 1
        if level > _MAX_LEVEL + 64:
            raise RuntimeError("directory node levels do not converge")
    root = seq[0]
    assert isinstance(root, Node)
    while root.level >= 1:  # a chain of one-child nodes: the canonical root is lower
        _, kids = read(root.ref)
        only = kids[0]
        if len(kids) != 1 or not isinstance(only, Node):
            break
        root = only
    return root


def _explode(
    node: Node, lo: str | None, hi: str | None, names: list[str], read: Reader
) -> list[Item]:
    """``node`` kept whole if no changed name falls in its range ``(lo, hi]`` (``None``: open),
    else its items, recursively exploded."""
    i = 0 if lo is None else bisect_left(names, lo)
    if i < len(names) and names[i] == lo:
        i += 1
    if i >= len(names) or (hi is not None and names[i] > hi):
        return [node]
    _, items = read(node.ref)
    out: list[Item] = []
    prev = lo
    for k, it in enumerate(items):
        last = k == len(items) - 1
        if isinstance(it, Node):
            out.extend(_explode(it, prev, hi if last else it.last, names, read))
        else:
            out.append(it)
        prev = _key(it)
    return out


def _apply(seq: list[Item], names: list[str], changes: dict[str, Entry | None]) -> list[Item]:
    out: list[Item] = []
    ci = 0
    for it in seq:
        k = _key(it)
        while ci < len(names) and names[ci] < k:
            e = changes[names[ci]]
            if e is not None:
                out.append(e)
            ci += 1
        if not isinstance(it, Node) and ci < len(names) and names[ci] == k:
            e = changes[k]
            if e is not None:
                out.append(e)
            ci += 1
            continue
        out.append(it)
    for name in names[ci:]:
        e = changes[name]
        if e is not None:
            out.append(e)
    return out


def _entries(seq: list[Item], read: Reader) -> list[Entry]:
    out: list[Entry] = []
    for it in seq:
        if isinstance(it, Node):
            out.extend(_entries(list(read(it.ref)[1]), read))
        else:
            out.append(it)
    return out


def _align(seq: list[Item], read: Reader) -> list[Item]:
    """Open up kept nodes whose boundaries no longer hold (a neighbour's boundary name was
    deleted or inserted): a node of level L must follow, and end with, a name of level > L."""
    changed = True
    while changed:
        changed = False
        out: list[Item] = []
        for i, it in enumerate(seq):
            if isinstance(it, Node):
                need = it.level + 1
                prev_bad = i > 0 and name_level(_key(seq[i - 1])) < need
                tail_bad = i < len(seq) - 1 and name_level(it.last) < need
                if prev_bad or tail_bad:
                    out.extend(read(it.ref)[1])
                    changed = True
                    continue
            out.append(it)
        seq = out
    return seq


def _chunk(
    seq: list[Item], level: int, write: Writer, leaf: Callable[[list[Entry]], Node]
) -> list[Item]:
    """Group each run of level ``level - 1`` items into nodes of ``level``."""
    out: list[Item] = []
    run: list[Item] = []
    for it in seq:
        if _lvl(it) == level - 1:
            run.append(it)
            if name_level(_key(it)) >= level + 1:
                out.append(_make(level, run, write, leaf))
                run = []
        else:
            if run:
                out.append(_make(level, run, write, leaf))
                run = []
            out.append(it)
    if run:
        out.append(_make(level, run, write, leaf))
    return out


def iter_nodes(top: Node, read: Reader) -> Iterator[Node]:
    """Every node under ``top`` (``top`` first), depth-first."""
    yield top
    if top.level >= 1:
        for child in read(top.ref)[1]:
            assert isinstance(child, Node)
            yield from iter_nodes(child, read)
