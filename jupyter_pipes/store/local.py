"""Moving files between the local file system and the store.

:func:`ingest_folder` and :func:`ingest_source` turn local bytes into blobs and tree entries (used
by commits and by pipeline workers uploading outputs); :func:`export_entry` writes an entry
(a file or a whole directory) back to local files (used by ``get_file`` and by workers
materialising datum inputs). Symlinks are refused both ways so nothing escapes its folder.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

from ..errors import InvalidArgument, NotFound
from .backend import Part
from .names import MAX_DEPTH
from .objects import (
    SMALL_FILE,
    BlobReader,
    BlobRef,
    PackWriter,
    blob_bytes,
    hash_bytes,
    iter_chunks,
    iter_spans,
)
from .statcache import Key, StatCache, content_hash, parse_refs, stat_key
from .treenodes import Entry, file_entry

Progress = Callable[[int], None]
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO
_CHUNK_BATCH = 64
_SMALL_BATCH = 1024
_READERS = 8
_THREADED = 4 << 20
"""A source larger than this is cut on a thread of its own."""
_THREAD_BATCH = 32
"""Chunks per batch handed between threads (about 8 MiB): the batch being cut, the one
waiting and the one being stored are in memory at once."""
_FILES_AHEAD = 2
"""Large files of a folder cut and hashed at once (one thread each)."""
_Hashed = tuple[str, Part]
Unchanged = Callable[[str, str], bool]
"""``(relative path, content hash) -> whether the destination holds that content there``."""


def ingest_source(writer: PackWriter, source: Source, progress: Progress | None = None) -> Entry:
    """Store one file's content (bytes, a local file path, or a binary stream) as a file entry.

    A large source is cut into chunks on a thread of its own, a batch ahead, while this thread
    hashes the previous batch and hands it to the writer (cutting and hashing release the GIL).
    """
    if _small(source):
        return _ingest_batches(writer, _batches(source, hashed=True), progress)
    ahead = _Ahead(_batches(source, hashed=False, spans=True))
    try:
        hashed = ([(hash_bytes(blob_bytes(b)), b) for b in batch] for batch in ahead)
        return _ingest_batches(writer, hashed, progress)
    finally:
        ahead.close()


def _ingest_batches(
    writer: PackWriter, batches: Iterable[list[_Hashed]], progress: Progress | None
) -> Entry:
    refs: list[BlobRef] = []
    for items in batches:
        # A chunk of at most INLINE_MAX bytes is a file's last; first as well, it is the file.
        refs += writer.add_hashed(items, files=not refs and len(items) == 1)
        if progress:
            progress(sum(len(b) for _, b in items))
    if not refs:
        refs = writer.add_many([b""], files=True)
    return file_entry("", refs)


def _small(source: Source) -> bool:
    """Whether ``source`` is too small to be worth a thread of its own."""
    if isinstance(source, bytes | bytearray | memoryview):
        return len(source) <= _THREADED
    if isinstance(source, str | os.PathLike):
        try:
            return os.path.getsize(source) <= _THREADED
        except OSError:
            return True  # the normal path reports it
    return False


def _batches(source: Source, *, hashed: bool, spans: bool = False) -> Iterator[list[Any]]:
    """The chunks of ``source`` in batches of about 8 MiB (hashed: ``(hash, chunk)`` pairs).
    ``spans``: a local file's chunks as :class:`~.backend.FileSpan` s (large files only: each
    holds the file open until it is written)."""
    local = spans and isinstance(source, str | os.PathLike)
    chunks: Iterable[Part] = iter_spans(source) if local else iter_chunks(source)  # type: ignore[arg-type]
    batch: list[Part] = []
    for c in chunks:
        batch.append(c)
        if len(batch) >= _THREAD_BATCH:
            yield [(hash_bytes(blob_bytes(b)), b) for b in batch] if hashed else batch
            batch = []
    if batch:
        yield [(hash_bytes(blob_bytes(b)), b) for b in batch] if hashed else batch


class _Ahead:
    """Runs an iterator on a thread of its own, at most one item ahead of its reader (so
    memory stays bounded); errors are raised to the reader; :meth:`close` stops it early."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(items,), name="pipes-cut", daemon=True
        )
        self._thread.start()

    def _run(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the reader
            self._put(("error", exc))

    def _put(self, item: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Any]:
        while True:
            kind, item = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item

    def close(self) -> None:
        """Stop the thread (it finishes the batch it is cutting) and wait for it."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            self._queue.get_nowait()
        self._thread.join()


def ingest_folder(
    writer: PackWriter,
    folder: str | os.PathLike[str],
    progress: Progress | None = None,
    cache: StatCache | None = None,
) -> Iterator[tuple[str, Entry]]:
    """Store every file under ``folder``; yields (relative path, file entry): see
    :func:`ingest_folder_against`."""
    for rel, e in ingest_folder_against(writer, folder, progress, cache):
        assert e is not None  # no ``unchanged``: every file has its entry
        yield rel, e


def ingest_folder_against(
    writer: PackWriter,
    folder: str | os.PathLike[str],
    progress: Progress | None = None,
    cache: StatCache | None = None,
    unchanged: Unchanged | None = None,
) -> Iterator[tuple[str, Entry | None]]:
    """Store every file under ``folder``; yields (relative path, file entry), in the order of
    :func:`walk_folder_stat`.

    Small files are read by a few threads at once (reads release the GIL, and a cold read is
    mostly waiting), then hashed in batches (one index lookup per batch) and packed together.
    With a :class:`~.statcache.StatCache`, a file whose stat is unchanged since a put recorded
    it is not read at all: its chunk hashes are reused if the index still has them (pinned
    like any dedup hit), one cache and one index lookup per batch of files; and if
    ``unchanged(relative path, content hash)`` says the destination holds that content already,
    the entry yielded is ``None`` (nothing stored, nothing pinned).
    """
    folder = os.path.abspath(os.fspath(folder)) if cache is not None else os.fspath(folder)
    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="pipes-read") as pool:
        ing = _FolderIngest(writer, pool, progress, cache, unchanged)
        order: deque[str] = deque()
        done: dict[str, Entry | None] = {}

        def in_order(
            stored: Iterable[tuple[str, Entry | None]],
        ) -> Iterator[tuple[str, Entry | None]]:
            # Small files wait for their batch while larger ones are stored at once: hand
            # them on in the walk's order (a window of about one batch).
            for rel, e in stored:
                done[rel] = e
            while order and order[0] in done:
                rel = order.popleft()
                yield rel, done.pop(rel)

        try:
            batch: list[tuple[str, str, os.stat_result]] = []
            for item in walk_folder_stat(folder):
                order.append(item[1])
                if cache is None:
                    yield from in_order(ing.add(*item))
                    continue
                batch.append(item)
                if len(batch) >= _SMALL_BATCH:
                    yield from in_order(ing.add_cached(batch))
                    batch = []
                    ing.remember()
            if batch:
                yield from in_order(ing.add_cached(batch))
            yield from in_order(ing.flush())
            assert not order and not done
        finally:
            ing.close()
    ing.remember()


class _FolderIngest:
    """The state of one :func:`ingest_folder`: the batch of small files, what to record."""

    def __init__(
        self,
        writer: PackWriter,
        pool: ThreadPoolExecutor,
        progress: Progress | None,
        cache: StatCache | None,
        unchanged: Unchanged | None = None,
    ) -> None:
        self.writer, self.pool, self.progress, self.cache = writer, pool, progress, cache
        self.unchanged = unchanged
        self.small: list[tuple[str, str, os.stat_result]] = []
        self.large: list[tuple[str, str, os.stat_result, _Ahead]] = []
        self.record: list[tuple[str, Key, list[BlobRef]]] = []
        """(path, stat key, chunk refs) of every file read and stored (for the cache)."""

    def remember(self) -> None:
        """Write what was read so far to the stat cache (a bounded list, not one per file of
        the folder: the refs point into this commit's packs, which count only once indexed,
        so a commit that never finishes leaves nothing the cache trusts)."""
        if self.cache is not None and self.record:
            self.cache.put_many(self.record)
        self.record = []

    def _done(self, local: str, st: os.stat_result, e: Entry) -> Entry:
        if self.cache is not None:
            self.record.append((local, stat_key(st), list(e.refs)))
        return e

    def add(self, local: str, rel: str, st: os.stat_result) -> Iterator[tuple[str, Entry]]:
        """Read and store one file (small ones wait for their batch; large ones are cut and
        hashed on threads of their own, a few files at once, and stored in turn)."""
        if st.st_size <= SMALL_FILE:
            self.small.append((local, rel, st))
            if len(self.small) >= _SMALL_BATCH:
                yield from self.flush_small()
        elif st.st_size <= _THREADED:
            yield rel, self._done(local, st, ingest_source(self.writer, local, self.progress))
        else:
            self.large.append((local, rel, st, _Ahead(_batches(local, hashed=True, spans=True))))
            if len(self.large) >= _FILES_AHEAD:
                yield self._store_large()

    def _store_large(self) -> tuple[str, Entry]:
        local, rel, st, ahead = self.large.pop(0)
        try:
            return rel, self._done(local, st, _ingest_batches(self.writer, ahead, self.progress))
        finally:
            ahead.close()

    def close(self) -> None:
        """Stop the threads of large files not stored (on an error)."""
        for *_, ahead in self.large:
            ahead.close()
        self.large = []

    def flush(self) -> Iterator[tuple[str, Entry]]:
        """Store every waiting file."""
        while self.large:
            yield self._store_large()
        yield from self.flush_small()

    def flush_small(self) -> Iterator[tuple[str, Entry]]:
        """Read, hash and store the waiting small files."""
        small, self.small = self.small, []
        datas = list(self.pool.map(_read_file, [local for local, _, _ in small]))
        refs = self.writer.add_many(datas, files=True)
        for (local, rel, st), d, r in zip(small, datas, refs, strict=True):
            if self.progress:
                self.progress(len(d))
            yield rel, self._done(local, st, file_entry("", [r]))

    def add_cached(
        self, batch: list[tuple[str, str, os.stat_result]]
    ) -> Iterator[tuple[str, Entry | None]]:
        """Files whose stat matches the cache, from their recorded hashes (``None``: the same
        content as ``unchanged`` says the destination has, so nothing to store or pin); the
        rest read."""
        assert self.cache is not None
        known = self.cache.get_many([local for local, _, _ in batch])
        same: dict[str, str] = {}
        for local, rel, st in batch:
            hit = known.get(local)
            if hit is None or hit[0] != stat_key(st):
                continue
            if self.unchanged is not None and self.unchanged(rel, content_hash(hit[1])):
                same[local] = ""
            else:
                same[local] = hit[1]
        refs_of = {local: parse_refs(text) for local, text in same.items() if text}
        alive = self.writer.reuse([r for refs in refs_of.values() for r in refs])
        for local, rel, st in batch:
            text = same.get(local)
            if text == "":
                if self.progress:
                    self.progress(st.st_size)
                yield rel, None
                continue
            refs = refs_of.get(local)
            if refs and all(not r.in_pack or r.pack in alive for r in refs):
                if self.progress:
                    self.progress(st.st_size)
                yield rel, file_entry("", refs)
            else:  # new, changed, or its pack gone (gc): read it
                yield from self.add(local, rel, st)


def _read_file(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        parts = []
        while chunk := os.read(fd, SMALL_FILE + 1):
            parts.append(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def walk_folder(folder: str, rel: str = "") -> Iterator[tuple[str, str, int]]:
    """(local path, relative path, size) of every regular file under ``folder``: see
    :func:`walk_folder_stat`."""
    for local, r, st in walk_folder_stat(folder, rel):
        yield local, r, st.st_size


def walk_folder_stat(folder: str, rel: str = "") -> Iterator[tuple[str, str, os.stat_result]]:
    """(local path, relative path, stat) of every regular file under ``folder``, in name order
    (iteratively: a deep folder cannot exhaust the stack).

    Raises
    ------
    InvalidArgument
        On a symlink: uploading one could leak files from outside the folder; on a folder
        deeper than a store path may be.
    """
    stack = [(_entries(folder), rel)]
    while stack:
        entries, prefix = stack[-1]
        e = next(entries, None)
        if e is None:
            stack.pop()
            continue
        r = f"{prefix}/{e.name}" if prefix else e.name
        if e.is_symlink():
            raise InvalidArgument(
                f"refusing to upload symlink {e.path!r}: copy the target instead", path=e.path
            )
        if e.is_dir():
            if len(stack) >= MAX_DEPTH:
                raise InvalidArgument(
                    f"local folder {r[:60]!r}... is deeper than {MAX_DEPTH} levels", path=r[:200]
                )
            stack.append((_entries(e.path), r))
        elif e.is_file():
            yield e.path, r, e.stat()


def _entries(folder: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError as exc:
        raise NotFound(f"local folder {folder!r} not found", path=folder) from exc
    return iter(entries)


def export_entry(
    walk: Callable[[Entry, str], Iterable[tuple[str, Entry]]],
    reader: BlobReader,
    entry: Entry,
    path: str,
    dest: str | os.PathLike[str],
    progress: Progress | None = None,
) -> str:
    """Write the file or directory ``entry`` (found at store ``path``) to ``dest``; ``walk``
    lists a directory's files with their paths (:meth:`.trees.TreeStore.walk`).

    A file lands at ``dest`` (or inside it, if ``dest`` is an existing folder); a directory's
    files land under ``dest``. Each file is written to a temporary name and renamed.
    """
    dest = os.fspath(dest)
    if not entry.is_dir:
        if os.path.isdir(dest):
            dest = os.path.join(dest, path.rsplit("/", 1)[-1] or "file")
        write_file(reader, entry, dest, progress)
        return dest
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise InvalidArgument(f"{path} is a directory but {dest} is an existing file", path=dest)
    made: set[str] = set()
    skip = len(path.rstrip("/"))
    for p, child in walk(entry, path):
        local = dest + p[skip:]
        folder = os.path.dirname(local)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        write_file(reader, child, local, progress)
    os.makedirs(dest, exist_ok=True)
    return dest


def write_file(
    reader: BlobReader, entry: Entry, dest: str, progress: Progress | None = None
) -> None:
    """Write one file entry to ``dest`` atomically (temporary name, then rename)."""
    folder, name = os.path.split(dest)
    if folder:
        os.makedirs(folder, exist_ok=True)
    if os.path.islink(dest):
        raise InvalidArgument(f"refusing to write through symlink {dest}", path=dest)
    tmp = os.path.join(folder, f".{name}.pipes-tmp")
    try:
        with open(tmp, "wb") as f:
            for chunk in reader.read_many(entry.refs):
                f.write(chunk)
                if progress:
                    progress(len(chunk))
        os.replace(tmp, dest)
    except BaseException:  # a corrupt or missing object, a full disk: leave nothing behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
