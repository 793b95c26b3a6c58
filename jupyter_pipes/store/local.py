"""Moving files between the local file system and the store.

:func:`ingest_folder` and :func:`ingest_source` turn local bytes into blobs and tree entries (used
by commits and by pipeline workers uploading outputs); :func:`export_entry` writes an entry
(a file or a whole directory) back to local files (used by ``get_file`` and by workers
materialising datum inputs). Symlinks are refused both ways so nothing escapes its folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from ..errors import InvalidArgument, NotFound
from .names import MAX_DEPTH
from .objects import SMALL_FILE, BlobReader, BlobRef, PackWriter, iter_chunks
from .trees import Entry, TreeStore, file_entry

Progress = Callable[[int], None]
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO
_CHUNK_BATCH = 64
_SMALL_BATCH = 1024
_READERS = 8


def ingest_source(writer: PackWriter, source: Source, progress: Progress | None = None) -> Entry:
    """Store one file's content (bytes, a local file path, or a binary stream) as a file entry."""
    refs: list[BlobRef] = []
    batch: list[memoryview] = []
    for c in iter_chunks(source):
        batch.append(c)
        if len(batch) >= _CHUNK_BATCH:
            refs += writer.add_many(batch)
            if progress:
                progress(sum(len(b) for b in batch))
            batch = []
    if batch or not refs:
        refs += writer.add_many(batch or [b""])
        if progress:
            progress(sum(len(b) for b in batch))
    return file_entry("", refs)


def ingest_folder(
    writer: PackWriter, folder: str | os.PathLike[str], progress: Progress | None = None
) -> Iterator[tuple[str, Entry]]:
    """Store every file under ``folder``; yields (relative path, file entry).

    Small files are read by a few threads at once (reads release the GIL, and a cold read is
    mostly waiting), then hashed in batches (one index lookup per batch) and packed together.
    """
    small: list[tuple[str, str]] = []

    def flush(pool: ThreadPoolExecutor) -> Iterator[tuple[str, Entry]]:
        datas = list(pool.map(_read_file, [local for local, _ in small]))
        refs = writer.add_many(datas)
        for (_, rel), d, r in zip(small, datas, refs, strict=True):
            if progress:
                progress(len(d))
            yield rel, file_entry("", [r])
        small.clear()

    with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="pipes-read") as pool:
        for local, rel, size in walk_folder(os.fspath(folder)):
            if size <= SMALL_FILE:
                small.append((local, rel))
                if len(small) >= _SMALL_BATCH:
                    yield from flush(pool)
            else:
                yield rel, ingest_source(writer, local, progress)
        yield from flush(pool)


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
    """(local path, relative path, size) of every regular file under ``folder``, in name order
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
            yield e.path, r, e.stat().st_size


def _entries(folder: str) -> Iterator[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError as exc:
        raise NotFound(f"local folder {folder!r} not found", path=folder) from exc
    return iter(entries)


def export_entry(
    trees: TreeStore,
    reader: BlobReader,
    entry: Entry,
    path: str,
    dest: str | os.PathLike[str],
    progress: Progress | None = None,
) -> str:
    """Write the file or directory ``entry`` (found at store ``path``) to ``dest``.

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
    for p, child in trees.walk(entry, path):
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
