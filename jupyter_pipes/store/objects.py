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
* A file of at most ``INLINE_MAX`` bytes is not a blob of a pack: its bytes are kept *inline*
  in its directory node (an inline :class:`BlobRef` carries them), so it costs no pack bytes
  and no chunk-index row (#17's compact store, ``docs/compact-store.md``).
"""

from __future__ import annotations

import itertools
import mmap
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

import blake3
import pyfastcdc

from ..errors import CorruptObject
from .backend import Backend, FileSpan, ObjectWriter, OpenFile, Part
from .bloblog import BlobLog
from .blobref import INLINE, BlobRef, Lookup

PACK_PREFIX = "packs"
PACK_TARGET = 32 << 20
MAX_PENDING_BYTES = 32 << 20
"""Bytes of blobs that may wait for the writer thread at once, however slow the object store
(plus, on a remote store, the pack being gathered for upload: at most ``PACK_TARGET``)."""
_HAND_OVER = 8 << 20
"""Bytes gathered before they are handed to the writer thread."""
DEDUP_WINDOW = 4096
"""Refs of the blobs a writer stored or found most recently, kept to deduplicate its next ones."""
_PIN_AHEAD = 16
_SYNC_THREADS = 2
"""Closed packs fsynced at once, on background threads (the writer does not wait for them)."""
CDC_MIN, CDC_AVG, CDC_MAX = 64 << 10, 256 << 10, 1 << 20
SMALL_FILE = CDC_MIN
INLINE_MAX = 256
"""Files of at most this many bytes are kept inline in their directory node, not in a pack: such
a file's own row plus its chunk-index row would cost about as much as its bytes, and deduplicating
it would save less than its ref. A leaf node of 32 such files stays under 10 KB."""
_CHUNKER = pyfastcdc.FastCDC(avg_size=CDC_AVG, min_size=CDC_MIN, max_size=CDC_MAX)


def hash_bytes(data: bytes | bytearray | memoryview) -> str:
    """The BLAKE3 hex digest that names ``data``."""
    return blake3.blake3(data).hexdigest()


def inline_ref(data: Part, h: str | None = None) -> BlobRef:
    """The inline ref of a small file's whole content (``h``: its hash, if known).

    An empty blob (an empty log, say) is always inline, whatever asked for it: in a pack it
    would take no byte, so a pack holding nothing else would never be written, and its ref
    would name a pack that does not exist."""
    raw = bytes(blob_bytes(data))
    return BlobRef(hash_bytes(raw) if h is None else h, INLINE, 0, len(raw), raw)


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


def iter_spans(path: str | os.PathLike[str]) -> Iterator[FileSpan]:
    """A local file's content-defined chunks (the same as :func:`iter_chunks`'s) as spans of the
    file, opened once: a local pack writer copies them in the kernel (see :class:`FileSpan`)."""
    source = OpenFile(path)
    size = os.fstat(source.fd).st_size
    if size == 0:
        yield FileSpan(source, 0, memoryview(b""))
        return
    # (unmapped when the last span's view is gone: the writer thread may hold spans still)
    view = memoryview(mmap.mmap(source.fd, 0, access=mmap.ACCESS_READ))
    if size <= SMALL_FILE:
        yield FileSpan(source, 0, view)
        return
    for c in _CHUNKER.cut_buf(view):
        yield FileSpan(source, c.offset, view[c.offset : c.offset + c.length])


def blob_bytes(data: Part) -> bytes | bytearray | memoryview:
    """The bytes of a blob handed to the writer (a span's view)."""
    return data.view if isinstance(data, FileSpan) else data


class PackWriter:
    """Appends blobs to packs, deduplicating against the store and against itself.

    The caller's thread chunks and hashes; the blobs' bytes are handed (without copying) to a
    writer thread that appends them to the open pack's object (:meth:`Backend.open_object`), so
    reading, chunking and hashing overlap with writing. At most ``max_pending`` bytes wait for
    that thread, then the caller waits (backpressure: memory stays bounded however slow the
    object store). A pack is closed (renamed into place) once it reaches ``pack_target`` bytes,
    without an fsync on the writing path: on a local store background threads fsync closed
    packs while the next ones are written, and :meth:`flush` waits for them and fsyncs their
    folder once (:meth:`Backend.sync`); only then may a commit refer to them.

    ``on_pack`` is told the ids of packs before the first blob of any of them is added (the
    commit pins them): the first pack alone, then 2, 4, ... up to 16 ids ahead, so a big
    ingest pins its packs in a few transactions.
    """

    def __init__(
        self,
        backend: Backend,
        lookup: Lookup,
        pack_target: int = PACK_TARGET,
        *,
        on_pack: Callable[[list[str]], None] | None = None,
        max_pending: int = MAX_PENDING_BYTES,
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
        self._pos = 0
        self._pack = new_pack_id()
        self._pinned: set[str] = set()
        self._ahead: list[str] = []
        self._ahead_n = 1
        self._parts: list[Part] = []
        self._parts_bytes = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipes-pack")
        self._writes: deque[tuple[Future[None], int]] = deque()
        self._in_flight = 0
        self._out: ObjectWriter | None = None
        """The open pack's object (touched by the writer thread only)."""
        self._closed: list[str] = []
        """Keys of closed packs whose folder is not yet fsynced."""
        self._syncs: list[Future[None]] = []
        self._sync_pool: ThreadPoolExecutor | None = None
        self.new_blobs = BlobLog()
        """Every blob this writer stored (for the chunk index; in bounded memory)."""
        self.new_packs: dict[str, int] = {}
        self.bytes_written = 0

    @property
    def current_pack(self) -> str:
        """The id of the pack being filled."""
        return self._pack

    def add_many(
        self, blobs: Iterable[bytes | memoryview], *, files: bool = False
    ) -> list[BlobRef]:
        """Store several blobs (deduplicated); their refs in the same order. ``files``: each
        blob is a whole file's content, so one of at most :data:`INLINE_MAX` bytes gets an
        inline ref and is not written."""
        return self.add_hashed([(hash_bytes(b), b) for b in blobs], files=files)

    def add_hashed(self, items: list[tuple[str, Part]], *, files: bool = False) -> list[BlobRef]:
        """:meth:`add_many` for blobs already hashed (``(hash_bytes(blob), blob)`` pairs: the
        caller vouches for the hashes, e.g. computed on another thread)."""
        limit = INLINE_MAX if files else 0  # an empty blob is always inline: see inline_ref
        if any(len(b) <= limit for _, b in items):
            out: list[BlobRef | None] = [
                inline_ref(b, h) if len(b) <= limit else None for h, b in items
            ]
            stored = iter(self.add_hashed([(h, b) for h, b in items if len(b) > limit]))
            return [r if r is not None else next(stored) for r in out]
        unknown = [h for h, _ in items if h not in self._pending and h not in self._known]
        if unknown:
            self._known.update(self._lookup(unknown))
            _trim(self._known)
        refs = [self._add(h, b) for h, b in items]
        self._hand_over()
        return refs

    def reuse(self, refs: Iterable[BlobRef]) -> set[str]:
        """Of the packs of ``refs`` (blobs stored by earlier commits), those still indexed,
        now pinned by this writer's commit: a ref into one of them may be used as is; the
        others' bytes must be stored again. Without a ``pin_reused`` callback: none."""
        packs = {r.pack for r in refs if r.in_pack}
        if self._pin_reused is None or not packs:
            return set()
        return self._pin_reused(packs)

    def add(self, data: bytes | memoryview) -> BlobRef:
        """Store one blob (deduplicated) and return its ref."""
        return self.add_many([data])[0]

    def _add(self, h: str, data: Part) -> BlobRef:
        ref = self._pending.get(h) or self._known.get(h)
        if ref is not None:
            return ref
        n = len(data)
        if self._pos == 0 and self._on_pack is not None and self._pack not in self._pinned:
            ids = [self._pack] + [new_pack_id() for _ in range(self._ahead_n - 1)]
            self._on_pack(ids)  # pinned before any byte of them can be written
            self._pinned.update(ids)
            self._ahead = ids[1:]
            self._ahead_n = min(self._ahead_n * 2, _PIN_AHEAD)
        ref = BlobRef(h, self._pack, self._pos, n)
        self._parts.append(data if _immutable(data) else bytes(blob_bytes(data)))
        self._parts_bytes += n
        self._pos += n
        self._pending[h] = ref
        self.new_blobs[h] = ref
        if len(self._pending) > DEDUP_WINDOW:  # a pack of many small blobs
            self._known.update(self._pending)
            self._pending = {}
            _trim(self._known)
        if self._pos >= self._target:
            self._seal()
        elif self._parts_bytes >= _HAND_OVER:
            self._hand_over()
        return ref

    def _hand_over(self, close: bool = False) -> None:
        """Give the gathered bytes of the open pack to the writer thread (and close it)."""
        if not self._parts and not close:
            return
        parts, n = self._parts, self._parts_bytes
        self._parts, self._parts_bytes = [], 0
        fut = self._pool.submit(self._write, pack_key(self._pack), parts, close)
        self._writes.append((fut, n))
        self._in_flight += n
        # Backpressure: a slow store stalls the producer instead of queueing bytes.
        while self._in_flight > self._max_pending and len(self._writes) > 1:
            self._wait_oldest()
        while len(self._writes) > 1 and self._writes[0][0].done():  # (errors raised early)
            self._wait_oldest()

    def _wait_oldest(self) -> None:
        fut, n = self._writes.popleft()
        self._in_flight -= n
        fut.result()

    def _write(self, key: str, parts: list[Part], close: bool) -> None:
        """On the writer thread: append ``parts`` to pack ``key`` (opened on first use)."""
        try:
            if self._out is None:
                self._out = self._backend.open_object(key)
            self._out.write(parts)
            if close:
                out, self._out = self._out, None
                out.close()
                self._closed.append(key)
                if self._backend.is_local:
                    if self._sync_pool is None:
                        self._sync_pool = ThreadPoolExecutor(
                            max_workers=_SYNC_THREADS, thread_name_prefix="pipes-sync"
                        )
                    self._syncs.append(
                        self._sync_pool.submit(self._backend.sync, [key], folders=False)
                    )
        except BaseException:
            if self._out is not None:
                self._out.abort()
                self._out = None
            raise

    def _seal(self) -> None:
        if not self._pos:
            return
        self.new_packs[self._pack] = self._pos
        self.bytes_written += self._pos
        self._hand_over(close=True)
        self._pos = 0
        self._pack = self._ahead.pop(0) if self._ahead else new_pack_id()
        # Only blobs of the open pack can still be appended to; keep refs of sealed ones for dedup.
        self._known.update(self._pending)
        self._pending = {}
        _trim(self._known)

    def flush(self) -> None:
        """Write the open pack and wait until every pack is durable."""
        self._seal()
        while self._writes:
            self._wait_oldest()
        self._in_flight = 0
        keys, self._closed = self._closed, []
        syncs, self._syncs = self._syncs, []
        for fut in syncs:
            fut.result()
        self._backend.sync(keys, files=False)  # each pack was fsynced above

    def close(self) -> None:
        """Stop the writer thread (pending writes are finished and made durable first)."""
        try:
            self.flush()
        finally:
            self._pool.shutdown(wait=True)
            if self._sync_pool is not None:
                self._sync_pool.shutdown(wait=True)
            if self._out is not None:  # a write failed half-way
                self._out.abort()
                self._out = None


def _trim(known: dict[str, BlobRef]) -> None:
    """Forget the oldest refs past :data:`DEDUP_WINDOW` (#19: memory independent of the number
    of blobs; a blob repeated further apart than that in one write is stored twice)."""
    extra = len(known) - DEDUP_WINDOW
    if extra > 0:
        for h in list(itertools.islice(known, extra)):
            del known[h]


def _immutable(data: Part) -> bool:
    """Whether ``data`` cannot change before the writer thread writes it (bytes, a view of
    bytes or of a read-only file mapping, or a span of a file); other buffers are copied first."""
    if isinstance(data, bytes | FileSpan):
        return True
    return (
        isinstance(data, memoryview) and isinstance(data.obj, bytes | mmap.mmap) and data.readonly
    )


class BlobReader:
    """Reads blobs by ref and verifies every one against its hash."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    def read(self, ref: BlobRef) -> bytes:
        """The verified bytes of one blob."""
        if ref.data is not None:
            return self._verify(ref, ref.data)
        data = self._backend.get(pack_key(ref.pack), ref.offset, ref.length)
        return self._verify(ref, data)

    @staticmethod
    def _verify(ref: BlobRef, data: bytes) -> bytes:
        if len(data) != ref.length or hash_bytes(data) != ref.hash:
            where = (
                "inline" if ref.data is not None else f"in pack {ref.pack} (offset {ref.offset})"
            )
            raise CorruptObject(
                f"blob {ref.hash} {where} is corrupt: its bytes do not match its hash",
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
                and refs[i].in_pack
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
