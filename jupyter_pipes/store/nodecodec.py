"""How directory nodes are serialised: a compact binary form, and the JSON forms it replaced.

Every directory node (a flat directory, a leaf or an inner node of a split one, see
:mod:`.treenodes`) is one blob. Since #17's compact store a node is written as:

``b"\\x03"`` (the format byte) + msgpack ``[level, packs, rows]``

* ``packs``: the distinct pack ids its refs point into, in order of first use, each as its 16
  bytes (or as text if a pack id is not 32 hex digits); a ref names its pack by index here.
* offsets are written as the difference from the end of the previous ref into the same pack
  (``offset - end``, 0 for blobs written one after the other, as a folder's files are), so a
  ref costs about three bytes besides its hash;
* hashes are their 32 bytes (BLAKE3), not 64 hex characters;
* a leaf (``level`` 0) has one row per entry, told apart by length:
  ``[name, bytes]`` a small file kept inline (at most ``objects.INLINE_MAX`` bytes, no pack
  and no chunk-index row: its hash is computed when the node is read, and the node's own hash
  covers its bytes; store revision 0006 onwards);
  ``[name, size, hash, pack, delta]`` a file of one chunk (the chunk's hash and length are the
  file's); ``[name, size, hash, [hash, pack, delta, length, ...]]`` a file of several chunks
  (four items per chunk, flat); ``[name, size, hash, files, hash, pack, delta, length]`` a
  directory (the last four: its top node's blob);
* an inner node (``level`` >= 1) has one row per child node:
  ``[last name, hash, files, bytes, entries, hash, pack, delta, length]``.

A small file's row takes about 50 bytes (its name, size, hash and a 3-byte ref) against about
145 in JSON. The JSON forms still read: a flat directory or leaf written as a JSON list
(``[[name, 0, size, hash, [pack, offset, length]], ...]``) and an inner node written as a JSON
object ``{"v": 2, ...}``; the first byte (``[``, ``{`` or ``\\x03``) tells them apart, so old
stores need no migration and trees mixing both kinds read as one. Only the blob's bytes
changed: a directory's *content* hash (``trees._content_hash``, :func:`.treenodes.inner_hash`)
covers names, kinds, sizes and content hashes, never the encoding, so the same content has the
same root hash in either format.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import msgpack

from .objects import INLINE, BlobRef, hash_bytes
from .treenodes import Entry, Item, Node

FORMAT = 3
"""The format byte of binary nodes (JSON nodes begin with ``[`` or ``{``)."""
_MAGIC = bytes([FORMAT])


def _hb(text: str) -> bytes | str:
    """A hex id as bytes when that round-trips exactly, else the text itself."""
    if len(text) % 2 == 0 and text:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            return text
        if raw.hex() == text:
            return raw
    return text


def _hx(v: bytes | str) -> str:
    return v.hex() if isinstance(v, bytes) else str(v)


class _Refs:
    """The pack table and per-pack offset deltas of one node being written."""

    def __init__(self) -> None:
        self.packs: list[bytes | str] = []
        self._index: dict[str, int] = {}
        self._end: dict[int, int] = {}

    def ref(self, r: BlobRef) -> tuple[int, int]:
        """``(pack index, offset delta)`` of ``r``."""
        p = self._index.get(r.pack)
        if p is None:
            p = self._index[r.pack] = len(self.packs)
            self.packs.append(_hb(r.pack))
        delta = r.offset - self._end.get(p, 0)
        self._end[p] = r.offset + r.length
        return p, delta


class _Packs:
    """The inverse of :class:`_Refs` while reading one node."""

    def __init__(self, packs: Sequence[bytes | str]) -> None:
        self.packs = [_hx(p) for p in packs]
        self.ends = [0] * len(self.packs)

    def ref(self, h: bytes | str, p: int, delta: int, length: int) -> BlobRef:
        offset = self.ends[p] + delta
        self.ends[p] = offset + length
        return BlobRef(_hx(h), self.packs[p], offset, length)


def encode_leaf(entries: Sequence[Entry]) -> bytes:
    """Serialise a flat directory or a leaf node (entries sorted by name)."""
    refs = _Refs()
    rows: list[list[Any]] = []
    for e in entries:
        h = _hb(e.hash)
        if e.is_dir:
            r = e.refs[0]
            p, d = refs.ref(r)
            rows.append([e.name, e.size, h, e.count, _hb(r.hash), p, d, r.length])
        elif len(e.refs) == 1 and e.refs[0].data is not None and e.refs[0].hash == e.hash:
            rows.append([e.name, e.refs[0].data])
        elif len(e.refs) == 1 and e.refs[0].hash == e.hash and e.refs[0].length == e.size:
            p, d = refs.ref(e.refs[0])
            rows.append([e.name, e.size, h, p, d])
        else:
            flat: list[Any] = []
            for r in e.refs:
                if r.data is not None:
                    raise ValueError(f"{e.name!r}: only a whole file's content can be inline")
                p, d = refs.ref(r)
                flat += [_hb(r.hash), p, d, r.length]
            rows.append([e.name, e.size, h, flat])
    return _MAGIC + msgpack.packb([0, refs.packs, rows], use_bin_type=True)


def encode_inner(level: int, items: Sequence[Node]) -> bytes:
    """Serialise an inner node of a split directory (its children, one level down)."""
    refs = _Refs()
    rows: list[list[Any]] = []
    for c in items:
        p, d = refs.ref(c.ref)
        rows.append(
            [c.last, _hb(c.hash), c.count, c.size, c.n, _hb(c.ref.hash), p, d, c.ref.length]
        )
    return _MAGIC + msgpack.packb([level, refs.packs, rows], use_bin_type=True)


def decode_node(data: bytes) -> tuple[int, list[Item]]:
    """A node's level and items, whichever format wrote it (raises ``ValueError`` if it is
    none of them)."""
    head = data[:1]
    if head == _MAGIC:
        try:
            level, packs, rows = msgpack.unpackb(data[1:], raw=False)
            return int(level), _decode_rows(int(level), _Packs(packs), rows)
        except (msgpack.UnpackException, ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"damaged directory node: {exc!r}") from exc
    if head == b"{":
        return decode_inner_json(json.loads(data))
    if head == b"[":
        return 0, list(decode_leaf_json(data).values())
    raise ValueError(f"unknown directory node format (first byte {head!r})")


def _decode_rows(level: int, packs: _Packs, rows: list[list[Any]]) -> list[Item]:
    out: list[Item] = []
    if level >= 1:
        for last, h, count, size, n, rh, p, d, length in rows:
            out.append(Node(level - 1, last, _hx(h), count, size, n, packs.ref(rh, p, d, length)))
        return out
    names, ends = packs.packs, packs.ends
    for row in rows:
        if len(row) == 2:  # a small file kept inline: its bytes (the node's hash covers them)
            name, data = row
            if type(data) is not bytes:
                raise ValueError(f"damaged directory node: an inline file of {type(data)}")
            h = hash_bytes(data)
            out.append(Entry(name, False, len(data), h, (BlobRef(h, INLINE, 0, len(data), data),)))
            continue
        name, size, h = row[0], row[1], row[2]
        h = h.hex() if type(h) is bytes else str(h)
        if len(row) == 5:  # the common case, inlined: a file of one chunk
            p = row[3]
            offset = ends[p] + row[4]
            ends[p] = offset + size
            out.append(Entry(name, False, size, h, (BlobRef(h, names[p], offset, size),)))
        elif len(row) == 8:
            ref = packs.ref(row[4], row[5], row[6], row[7])
            out.append(Entry(name, True, size, h, (ref,), row[3]))
        elif len(row) == 4:
            flat = row[3]
            chunks = tuple(
                packs.ref(flat[i], flat[i + 1], flat[i + 2], flat[i + 3])
                for i in range(0, len(flat), 4)
            )
            out.append(Entry(name, False, size, h, chunks))
        else:
            raise ValueError(f"damaged directory node: a row of {len(row)} items")
    return out


# -- the JSON forms (written before #17's compact store; read forever) -------------------------


def encode_leaf_json(entries: Sequence[Entry]) -> bytes:
    """The JSON form of a flat directory or leaf (as stores wrote it before format 3).

    Rows: a file of one chunk ``[name, 0, size, hash, [pack, offset, length]]`` (the chunk's
    hash is the file's); a file of many chunks ``[name, 0, size, hash, [[hash, pack, offset,
    length], ...]]``; a directory ``[name, 1, size, hash, count, [hash, pack, offset, length]]``.
    Kept for tests that make old-format stores.
    """
    rows: list[list[object]] = []
    for e in entries:
        if any(r.data is not None for r in e.refs):
            raise ValueError(f"{e.name!r}: the JSON form cannot hold an inline file")
        if e.is_dir:
            rows.append([e.name, 1, e.size, e.hash, e.count, e.refs[0].to_list()])
        elif len(e.refs) == 1:
            r = e.refs[0]
            rows.append([e.name, 0, e.size, e.hash, [r.pack, r.offset, r.length]])
        else:
            rows.append([e.name, 0, e.size, e.hash, [r.to_list() for r in e.refs]])
    return json.dumps(rows, separators=(",", ":"), ensure_ascii=False).encode()


def decode_leaf_json(data: bytes) -> dict[str, Entry]:
    """Inverse of :func:`encode_leaf_json`: entries by name, in name order."""
    out: dict[str, Entry] = {}
    for row in json.loads(data):
        name, is_dir, size, h = row[0], row[1], row[2], row[3]
        if is_dir:
            out[name] = Entry(name, True, size, h, (BlobRef.from_list(row[5]),), row[4])
        elif row[4] and isinstance(row[4][0], str):
            pack, off, length = row[4]
            out[name] = Entry(name, False, size, h, (BlobRef(h, pack, off, length),))
        else:
            out[name] = Entry(name, False, size, h, tuple(BlobRef.from_list(r) for r in row[4]))
    return out


def encode_inner_json(level: int, items: Sequence[Node]) -> bytes:
    """The JSON form of an inner node (``{"v": 2, ...}``, written before format 3)."""
    rows = [[c.last, c.hash, c.count, c.size, c.n, c.ref.to_list()] for c in items]
    return json.dumps(
        {"v": 2, "level": level, "items": rows}, separators=(",", ":"), ensure_ascii=False
    ).encode()


def decode_inner_json(obj: dict[str, Any]) -> tuple[int, list[Item]]:
    """Inverse of :func:`encode_inner_json` (given the parsed JSON object)."""
    if obj.get("v") != 2:
        raise ValueError(f"unknown directory node format {obj.get('v')!r}")
    level = int(obj["level"])
    return level, [
        Node(
            level - 1,
            str(r[0]),
            str(r[1]),
            int(r[2]),
            int(r[3]),
            int(r[4]),
            BlobRef.from_list(r[5]),
        )
        for r in obj["items"]
    ]
