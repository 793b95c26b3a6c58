"""Content-addressed blobs, chunked and packed.

Storage format (see ``docs/storage-format.md``):

* A **blob** is a run of bytes named by its BLAKE3 hash: a whole small file, one content-defined
  chunk of a large file, or one serialised tree.
* Blobs are appended to **packs**: objects of up to ``PACK_TARGET`` bytes named ``packs/<id>``, so
  10,000 small files become a handful of objects, not 10,000. A pack is written once, atomically,
  and never changed.
* A :class:`BlobRef` says where a blob lives (pack, offset, length) and what its hash is; trees
  embed the refs, so reading needs no index. Every read re-hashes the bytes and fails loudly
  (:class:`CorruptObject`) naming the blob and pack when they differ.
* Large files are cut by FastCDC (pyfastcdc) into ~256 KiB chunks, so appending 1% to a big CSV
  stores about 1% new bytes plus one chunk.
* Dedup: before appending, the writer asks ``lookup`` (the metadata chunk index) which hashes are
  stored already, in batches.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

import blake3
import pyfastcdc

from ..errors import CorruptObject
from .backend import Backend

PACK_PREFIX = "packs"
PACK_TARGET = 32 << 20
MAX_PENDING_UPLOADS = 2
"""Sealed packs that may wait for upload at once: a writer holds at most this many plus the
one it is filling (about 96 MiB), however slow the object store."""
CDC_MIN, CDC_AVG, CDC_MAX = 64 << 10, 256 << 10, 1 << 20
SMALL_FILE = CDC_MIN
_CHUNKER = pyfastcdc.FastCDC(avg_size=CDC_AVG, min_size=CDC_MIN, max_size=CDC_MAX)


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The BLAKE3 hex digest that names ``data``."""
    return blake3.blake3(data).hexdigest()


@dataclass(frozen=True, slots=True)
class BlobRef:
    """Where one blob lives and what it must hash to."""

    hash: str
    pack: str
    offset: int
    length: int

    def to_list(self) -> list[object]:
        """Compact JSON form: ``[hash, pack, offset, length]``."""
        return [self.hash, self.pack, self.offset, self.length]

    @classmethod
    def from_list(cls, v: list) -> BlobRef:  # type: ignore[type-arg]
        """Inverse of :meth:`to_list`."""
        return cls(str(v[0]), str(v[1]), int(v[2]), int(v[3]))


Lookup = Callable[[list[str]], dict[str, BlobRef]]


def new_pack_id() -> str:
    """A time-ordered unique pack id (hex milliseconds + random)."""
    return f"{int(time.time() * 1000):012x}{uuid.uuid4().hex[:20]}"


def pack_key(pack: str) -> str:
    """The backend key of a pack."""
    return f"{PACK_PREFIX}/{pack}"


def iter_chunks(
    source: str | os.PathLike[str] | BinaryIO | bytes | bytearray | memoryview,
) -> Iterator[memoryview]:
    """Cut a file (path, binary stream or bytes) into content-defined chunks."""
    if isinstance(source, bytes | bytearray | memoryview):
        if len(source) <= SMALL_FILE:
            yield memoryview(source)
            return
        for c in _CHUNKER.cut_buf(source):
            yield c.data
    elif isinstance(source, str | os.PathLike):
        if os.path.getsize(source) <= SMALL_FILE:
            with open(source, "rb") as f:
                yield memoryview(f.read())
            return
        for c in _CHUNKER.cut_file(os.fspath(source)):
            yield c.data
    else:
        # cut_stream's chunks are views into a buffer it reuses: copy each before yielding,
        # since callers hold several chunks at once (hashing them in batches).
        for c in _CHUNKER.cut_stream(source):
            yield memoryview(bytes(c.data))


class PackWriter:
    """Appends blobs to packs, deduplicating against the store and against itself.

    Packs are uploaded on a background thread as they fill, so chunking and hashing overlap with
    writing; at most ``max_pending`` sealed packs wait, then the writer waits (backpressure).
    ``on_pack`` is told each pack id before its first blob is added (the commit pins it). Pack
    buffers are handed to the upload thread without copying and reused once
    written (growing and first-touching a fresh 32 MiB buffer per pack costs more than hashing
    it). :meth:`flush` returns once every pack is durable; only then may a commit refer to them.
    """

    def __init__(
        self,
        backend: Backend,
        lookup: Lookup,
        pack_target: int = PACK_TARGET,
        *,
        on_pack: Callable[[str], None] | None = None,
        max_pending: int = MAX_PENDING_UPLOADS,
        pin_reused: Callable[[set[str]], set[str]] | None = None,
    ) -> None:
        self._backend = backend
        self._lookup = lookup
        self._target = pack_target
        self._on_pack = on_pack
        self._pin_reused = pin_reused
        self._max_pending = max(1, max_pending)
        self._pending: dict[str, BlobRef] = {}
        self._known: dict[str, BlobRef] = {}
        self._buf = bytearray()
        self._pos = 0
        self._free: list[bytearray] = []
        self._pack = new_pack_id()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipes-pack")
        self._uploads: list[Future[None]] = []
        self.new_blobs: dict[str, BlobRef] = {}
        """Every blob this writer stored (for the chunk index)."""
        self.new_packs: dict[str, int] = {}
        self.bytes_written = 0
        self._lock = threading.Lock()

    @property
    def current_pack(self) -> str:
        """The id of the pack being filled."""
        return self._pack

    def add_many(self, blobs: Iterable[bytes | memoryview]) -> list[BlobRef]:
        """Store several blobs (deduplicated); their refs in the same order."""
        items = [(hash_bytes(b), b) for b in blobs]
        unknown = [h for h, _ in items if h not in self._pending and h not in self._known]
        if unknown:
            self._known.update(self._lookup(unknown))
        return [self._add(h, b) for h, b in items]

    def reuse(self, refs: Iterable[BlobRef]) -> set[str]:
        """Of the packs of ``refs`` (blobs stored by earlier commits), those still indexed,
        now pinned by this writer's commit: a ref into one of them may be used as is; the
        others' bytes must be stored again. Without a ``pin_reused`` callback: none."""
        packs = {r.pack for r in refs}
        if self._pin_reused is None or not packs:
            return set()
        return self._pin_reused(packs)

    def add(self, data: bytes | memoryview) -> BlobRef:
        """Store one blob (deduplicated) and return its ref."""
        return self.add_many([data])[0]

    def _add(self, h: str, data: bytes | memoryview) -> BlobRef:
        ref = self._pending.get(h) or self._known.get(h)
        if ref is not None:
            return ref
        n = len(data)
        if self._pos == 0 and self._on_pack is not None:
            self._on_pack(self._pack)  # pinned before any byte of it can be uploaded
        ref = BlobRef(h, self._pack, self._pos, n)
        end = self._pos + n
        if end <= len(self._buf):
            self._buf[self._pos : end] = data  # same length: no reallocation
        else:
            self._buf[self._pos :] = data
        self._pos = end
        self._pending[h] = ref
        self.new_blobs[h] = ref
        if self._pos >= self._target:
            self._seal()
        return ref

    def _upload(self, key: str, buf: bytearray, n: int) -> None:
        try:
            with memoryview(buf) as whole, whole[:n] as view:
                self._backend.put(key, view)
        finally:
            with self._lock:
                self._free.append(buf)

    def _seal(self) -> None:
        if not self._pos:
            return
        buf, n, pack = self._buf, self._pos, self._pack
        self.new_packs[pack] = n
        self.bytes_written += n
        self._uploads.append(self._pool.submit(self._upload, pack_key(pack), buf, n))
        # Backpressure: a slow object store stalls the producer instead of queueing packs.
        while len(self._uploads) > self._max_pending:
            self._uploads.pop(0).result()
        with self._lock:
            self._buf = self._free.pop() if self._free else bytearray()
        self._pos = 0
        self._pack = new_pack_id()
        # Only blobs of the open pack can still be appended to; keep refs of sealed ones for dedup.
        self._known.update(self._pending)
        self._pending = {}

    def flush(self) -> None:
        """Write the open pack and wait until every pack is durable."""
        self._seal()
        uploads, self._uploads = self._uploads, []
        for fut in uploads:
            fut.result()

    def close(self) -> None:
        """Stop the upload thread (pending uploads are finished first)."""
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)


class BlobReader:
    """Reads blobs by ref and verifies every one against its hash."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def read(self, ref: BlobRef) -> bytes:
        """The verified bytes of one blob."""
        data = self._backend.get(pack_key(ref.pack), ref.offset, ref.length)
        return self._verify(ref, data)

    @staticmethod
    def _verify(ref: BlobRef, data: bytes) -> bytes:
        if len(data) != ref.length or hash_bytes(data) != ref.hash:
            raise CorruptObject(
                f"blob {ref.hash} in pack {ref.pack} (offset {ref.offset}) is corrupt: "
                "its bytes do not match its hash",
                blob=ref.hash,
                pack=ref.pack,
            )
        return data

    def read_many(self, refs: Iterable[BlobRef]) -> Iterator[bytes]:
        """Verified bytes of several blobs, in order; consecutive blobs of one pack share a read."""
        refs = list(refs)
        i = 0
        while i < len(refs):
            j = i + 1
            while (
                j < len(refs)
                and refs[j].pack == refs[i].pack
                and refs[j].offset == refs[j - 1].offset + refs[j - 1].length
                and refs[j].offset + refs[j].length - refs[i].offset <= 64 << 20
            ):
                j += 1
            if j - i == 1:
                yield self.read(refs[i])
            else:
                start = refs[i].offset
                span = self._backend.get(
                    pack_key(refs[i].pack), start, refs[j - 1].offset + refs[j - 1].length - start
                )
                for r in refs[i:j]:
                    yield self._verify(r, span[r.offset - start : r.offset - start + r.length])
            i = j
