"""Datums: the units of work a pipeline's input selects, with Pachyderm 2.x semantics.

- ``pfs``: one datum per entry the glob matches (the caller's lister runs the glob on a commit).
- ``cross``: the cartesian product of the children's datums (an empty child gives no datums).
- ``union``: the children's datums, one after the other.
- ``join``: every item of every child datum is keyed by its ``join_on`` (the glob captures
  substituted into the template); for each key, the cartesian product of the items of the
  children that have that key. A combination covering every child is a datum; otherwise only
  its items whose input sets ``outer_join`` are kept, as a datum if any are left.
- ``group``: every item keyed by its ``group_by``; one datum per key with all of its items.

That is what Pachyderm's datum worker does (``src/server/worker/datum/worker.go``: key tasks
split child datums into single items, merge tasks cross or gather them per key); nesting works
the same way at any depth. Pachyderm orders datums by hashes; we sort them by id.
A selection that comes out twice is one datum: Pachyderm keys its datum sets by datum id. Items
are never merged inside a datum: a join of a repo with itself gives ``(a, b)``, ``(b, a)`` and
``(a, a)`` (two items), as Pachyderm's iterator does.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from blake3 import blake3

if TYPE_CHECKING:  # the spec models (pydantic) load only when datums are computed
    from .spec import Input, PfsInput

__all__ = ["Datum", "DatumInput", "Lister", "compute_datums", "datum_id"]

Lister = Callable[["PfsInput"], Iterable[tuple[str, str, int]]]
"""Returns the glob matches ``(path, hash, size)`` of one pfs input in its input commit."""


@dataclass(frozen=True, slots=True)
class DatumInput:
    """One item of a datum: a file or directory of one input.

    Attributes
    ----------
    name, repo, branch : str
        The input's name (its mount folder / notebook parameter), repo and branch.
    path : str
        The entry's path; directories end with ``'/'``, the root is ``'/'``.
    hash : str
        The entry's content hash, as the lister gave it.
    size : int
        The entry's size in bytes, as the lister gave it.
    join_on, group_by : str
        The input's ``join_on`` / ``group_by`` template with this path's captures substituted.
    """

    name: str
    repo: str
    branch: str
    path: str
    hash: str
    size: int
    join_on: str = ""
    group_by: str = ""


def _identity(item: DatumInput) -> tuple[str, str, str, str]:
    return (item.name, item.repo, item.branch, item.path)


def _digest(value: object) -> str:
    return blake3(json.dumps(value, separators=(",", ":")).encode()).hexdigest(length=16)


def datum_id(inputs: Iterable[DatumInput]) -> str:
    """The stable id of the datum made of ``inputs`` (32 hex digits).

    A BLAKE3 hash of the ``(name, repo, branch, path)`` of the items, like Pachyderm's
    ``DatumID`` (which hashes name, repo, branch and path): the same selection gets the same id
    in every job, whatever the content. When every item has its own name the items are sorted
    first, so the id does not depend on their order; when a name repeats (one repo used twice
    in a dry run, a union inside a group) the order counts, as in Pachyderm, so ``(a, b)`` and
    ``(b, a)`` are two datums.
    """
    items = [_identity(item) for item in inputs]
    if len({name for name, *_ in items}) == len(items):
        items.sort()
    return _digest(items)


@dataclass(frozen=True, slots=True)
class Datum:
    """One unit of work: the items one glob match (or combination of matches) selects.

    Attributes
    ----------
    id : str
        :func:`datum_id` of the inputs: it names the selection, not the content.
    inputs : tuple[DatumInput, ...]
        The items, in the order the input tree produced them.
    """

    id: str
    inputs: tuple[DatumInput, ...]

    @classmethod
    def of(cls, inputs: Iterable[DatumInput]) -> Datum:
        """The datum of ``inputs``, with its id computed."""
        items = tuple(inputs)
        return cls(datum_id(items), items)

    def content_key(self) -> str:
        """A BLAKE3 hash of the id and the items' content hashes (32 hex digits).

        Equal content keys mean the same selection of the same content, so a later job may skip
        the datum; a changed file changes the content key but not the id.
        """
        return _digest([self.id, [i.hash for i in sorted(self.inputs, key=_identity)]])


_Item = tuple[DatumInput, bool]  # an item and its pfs input's outer_join flag
_Row = tuple[_Item, ...]  # one datum under construction


def compute_datums(inp: Input, lister: Lister) -> list[Datum]:
    """The datums of an input tree.

    Parameters
    ----------
    inp : Input
        The pipeline's input (any nesting of pfs, cross, union, join and group).
    lister : Lister
        Called once per pfs input; returns the ``(path, hash, size)`` of the entries its glob
        matches in the input commit (directories end with ``'/'``).

    Returns
    -------
    list[Datum]
        Sorted by id, one datum per id: when the tree selects the same items twice (a union of
        overlapping inputs, the outer-join rows of several combinations ...) the datum appears
        once, as in Pachyderm, which stores each datum at a path named by its id.
    """
    datums: dict[str, Datum] = {}
    for row in _rows(inp, lister):
        datum = Datum.of(item for item, _ in row)
        datums.setdefault(datum.id, datum)
    return [datums[key] for key in sorted(datums)]


def _rows(inp: Input, lister: Lister) -> list[_Row]:
    leaf = inp.leaf  # a pfs input, or a cron input's repo (glob /*: one datum per tick)
    if leaf is not None:
        return [(item,) for item in _pfs_items(leaf, lister)]
    children = [_rows(child, lister) for child in inp.children]
    if inp.union is not None:
        return [row for rows in children for row in rows]
    if inp.cross is not None:
        return [tuple(itertools.chain(*combo)) for combo in itertools.product(*children)]
    if inp.join is not None:
        return _join(children)
    return _group(children)


def _pfs_items(pfs: PfsInput, lister: Lister) -> list[_Item]:
    glob = pfs.compiled_glob()
    items = []
    for path, digest, size in sorted(lister(pfs)):
        trimmed = path.rstrip("/")  # Pachyderm substitutes on the path without its trailing '/'
        join_on = glob.replace(trimmed, pfs.join_on) if pfs.join_on else ""
        group_by = glob.replace(trimmed, pfs.group_by) if pfs.group_by else ""
        item = DatumInput(pfs.name, pfs.repo, pfs.branch, path, digest, size, join_on, group_by)
        items.append((item, pfs.outer_join))
    return items


def _join(children: list[list[_Row]]) -> list[_Row]:
    buckets: dict[str, list[list[_Item]]] = {}
    for i, rows in enumerate(children):
        for item in itertools.chain(*rows):  # every item of a child datum is keyed on its own
            buckets.setdefault(item[0].join_on, [[] for _ in children])[i].append(item)
    out: list[_Row] = []
    for key in sorted(buckets):
        present = [items for items in buckets[key] if items]
        for combo in itertools.product(*present):
            if len(combo) == len(children):
                out.append(combo)
            elif kept := tuple(item for item in combo if item[1]):
                out.append(kept)
    return out


def _group(children: list[list[_Row]]) -> list[_Row]:
    buckets: dict[str, list[_Item]] = {}
    for item in itertools.chain(*itertools.chain(*children)):
        buckets.setdefault(item[0].group_by, []).append(item)
    return [tuple(buckets[key]) for key in sorted(buckets)]
