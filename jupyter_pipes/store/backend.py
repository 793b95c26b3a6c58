"""Where object bytes live: a thin layer over fsspec (the one place that talks to it).

A local folder is read and written with ``os`` directly; fsspec is imported only for other URLs
(it costs about a tenth of a second of start-up, which ``jupyter pipes list repo`` need not pay).

Keys are ``/``-separated relative names (``packs/0183...``). A write is atomic: readers see the
whole object or nothing. :meth:`Backend.put` is also durable at once: on a local folder the bytes
are written to a temporary name, fsynced, and renamed into place (then the folder is fsynced).
Packs are written in bulk with **batched durability** instead: :meth:`Backend.open_object` writes
a temporary file that :meth:`ObjectWriter.close` renames into place without an fsync, and
:meth:`Backend.sync` later fsyncs many such objects at once, in parallel, then their folders once
each. Until it has returned, such an object may be lost or torn by a crash, so nothing may refer to
it in the metadata before (a commit syncs its packs before its metadata transaction). Remote
object stores (S3) give atomic, durable puts natively: there ``sync`` has nothing to do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import CorruptObject, StorageError

if TYPE_CHECKING:
    import fsspec

_MAX_FDS = 64
_SYNC_THREADS = 4
_IOV_MAX = 512


def local_root(url: str) -> str | None:
    """The absolute folder of a local store URL (a path or ``file://...``), else ``None``."""
    if "::" in url:  # an fsspec chain (``simplecache::s3://...``)
        return None
    if url.startswith("file://"):
        url = url[len("file://") :]
    elif "://" in url:
        return None
    return os.path.abspath(os.path.expanduser(url))


@dataclass(frozen=True, slots=True)
class ObjectStat:
    """One stored object: its key, size and modification time (epoch seconds)."""

    key: str
    size: int
    mtime: float


class Backend:
    """An fsspec filesystem rooted at a folder or bucket prefix.

    Parameters
    ----------
    url:
        ``/some/folder``, ``file:///...``, ``memory://name`` or ``s3://bucket/prefix``;
        anything fsspec understands.
    storage_options:
        Passed to fsspec (credentials, endpoint URL, ...). Never logged.
    """

    def __init__(self, url: str, **storage_options: object) -> None:
        self.url = url
        local = local_root(url)
        self._fs: fsspec.AbstractFileSystem | None = None
        self.is_local = local is not None
        if local is None:
            import fsspec
            from fsspec.implementations.local import LocalFileSystem

            self._fs, local = fsspec.core.url_to_fs(url, **storage_options)
            self.is_local = isinstance(self._fs, LocalFileSystem)
        self.root = local.rstrip("/")
        if self.is_local:
            os.makedirs(self.root, exist_ok=True)
        # Objects are immutable, so open descriptors can be kept and read with pread.
        self._fds: OrderedDict[str, int] = OrderedDict()
        self._fd_lock = threading.Lock()

    @property
    def fs(self) -> fsspec.AbstractFileSystem:
        """The fsspec filesystem (for a local folder: fsspec's, made on first use)."""
        if self._fs is None:
            from fsspec.implementations.local import LocalFileSystem

            self._fs = LocalFileSystem()
        return self._fs

    def _fd(self, path: str) -> int:
        with self._fd_lock:
            fd = self._fds.get(path)
            if fd is not None:
                self._fds.move_to_end(path)
                return fd
            fd = os.open(path, os.O_RDONLY)
            self._fds[path] = fd
            if len(self._fds) > _MAX_FDS:
                os.close(self._fds.popitem(last=False)[1])
            return fd

    def close(self) -> None:
        """Close cached file descriptors."""
        with self._fd_lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    def _path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        """Store ``data`` under ``key`` atomically and durably."""
        path = self._path(key)
        try:
            if self.is_local:
                self._put_local(path, data)
            else:
                self.fs.pipe_file(path, bytes(data))  # a copy: callers may reuse their buffer
        except OSError as exc:
            raise StorageError(f"could not write object {key}: {_reason(exc)}", key=key) from exc

    def _put_local(self, path: str, data: bytes | bytearray | memoryview) -> None:
        folder = os.path.dirname(path)
        tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        os.close(fd)
        os.replace(tmp, path)
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def open_object(self, key: str) -> ObjectWriter:
        """A new object ``key`` written piecewise; it appears whole at
        :meth:`ObjectWriter.close` and is durable once :meth:`sync` has covered it."""
        if self.is_local:
            return _LocalWriter(self, key)
        return _BufferedWriter(self, key)

    def sync(self, keys: Iterable[str], *, files: bool = True, folders: bool = True) -> None:
        """Make the objects ``keys`` (closed :meth:`open_object` writers) durable: each file is
        fsynced, several at once (the disk and the kernel work in parallel), then each folder
        that holds one is fsynced once (``files=False`` / ``folders=False``: only the other
        half). Nothing to do on a remote object store."""
        if not self.is_local:
            return
        paths = [self._path(k) for k in keys]
        try:
            if files and len(paths) == 1:
                _fsync_path(paths[0])
            elif files and paths:
                with ThreadPoolExecutor(
                    max_workers=min(len(paths), _SYNC_THREADS), thread_name_prefix="pipes-sync"
                ) as pool:
                    list(pool.map(_fsync_path, paths))
            if folders:
                for folder in sorted({os.path.dirname(p) for p in paths}):
                    _fsync_path(folder)
        except OSError as exc:
            raise StorageError(f"could not make objects durable: {_reason(exc)}") from exc

    def get(self, key: str, start: int = 0, length: int | None = None) -> bytes:
        """Read ``length`` bytes of ``key`` from ``start`` (all of it by default)."""
        path = self._path(key)
        try:
            if self.is_local:
                fd = self._fd(path)
                if length is None:
                    length = os.fstat(fd).st_size - start
                return os.pread(fd, length, start)
            end = None if length is None else start + length
            return self.fs.cat_file(path, start=start, end=end)
        except FileNotFoundError as exc:
            # Something refers to it, so a missing object is damage, not a user's typo.
            raise CorruptObject(
                f"object {key} is missing from the store (run `jupyter pipes fsck`)", key=key
            ) from exc
        except OSError as exc:
            raise StorageError(f"could not read object {key}: {_reason(exc)}", key=key) from exc

    def delete(self, key: str) -> None:
        """Remove ``key`` (missing is fine)."""
        with self._fd_lock:
            fd = self._fds.pop(self._path(key), None)
            if fd is not None:
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            if self.is_local:
                os.unlink(self._path(key))
            else:
                self.fs.rm_file(self._path(key))

    def list(self, prefix: str) -> Iterator[ObjectStat]:
        """Every object whose key starts with the folder ``prefix`` (not temporary files; an
        object that vanishes while listing is left out)."""
        base = self._path(prefix).rstrip("/")
        if self.is_local:
            yield from self._list_local(base, prefix.rstrip("/"))
            return
        self.fs.invalidate_cache(base)  # other processes write too; never trust a stale listing
        try:
            found = self.fs.find(base, detail=True)
        except FileNotFoundError:
            return
        for path, info in found.items():
            key = path[len(self.root) + 1 :] if path.startswith(self.root) else path
            name = key.rsplit("/", 1)[-1]
            if name.startswith(".tmp-"):
                continue
            mtime = info.get("mtime") or info.get("created") or info.get("LastModified") or 0.0
            if hasattr(mtime, "timestamp"):
                mtime = mtime.timestamp()
            yield ObjectStat(key, int(info.get("size") or 0), float(mtime))

    def _list_local(self, folder: str, key: str) -> Iterator[ObjectStat]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".tmp-"):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    yield from self._list_local(entry.path, f"{key}/{entry.name}")
                    continue
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:  # removed while listing
                continue
            yield ObjectStat(f"{key}/{entry.name}", st.st_size, st.st_mtime)

    def list_temporary(self, prefix: str) -> Iterator[ObjectStat]:
        """Left-over temporary files of interrupted local writes (for gc); one that vanishes
        while listing (its write finished) is left out."""
        if not self.is_local:
            return
        folder = self._path(prefix)
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.name.startswith(".tmp-"):
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                yield ObjectStat(f"{prefix}/{entry.name}", st.st_size, st.st_mtime)


class OpenFile:
    """A local file open for reading, closed when the last :class:`FileSpan` of it is gone."""

    __slots__ = ("fd",)

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.fd = os.open(path, os.O_RDONLY)

    def __del__(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class FileSpan:
    """A range of a local file to store as is (a large file's chunk).

    A local writer copies it in the kernel (``copy_file_range``: no pass through this process's
    memory); any other writer takes :attr:`view`, the same bytes as the chunker saw them. Writing
    a large file's chunks from views of its memory map instead made the write calls of a put
    bimodal on this project's VMs (about 130 ms or 600-900 ms of system time per 512 MiB; see
    benchmarks/RESULTS.md, #17), where the kernel copy is steady.
    """

    __slots__ = ("length", "offset", "source", "view")

    def __init__(self, source: OpenFile, offset: int, view: memoryview) -> None:
        self.source, self.offset, self.view = source, offset, view
        self.length = len(view)

    def __len__(self) -> int:
        return self.length


Part = bytes | bytearray | memoryview | FileSpan
"""What an :class:`ObjectWriter` appends."""


class ObjectWriter:
    """One object being written piecewise (see :meth:`Backend.open_object`)."""

    def __init__(self, backend: Backend, key: str) -> None:
        self.backend = backend
        self.key = key
        self.size = 0

    def write(self, parts: Sequence[Part]) -> None:
        """Append ``parts`` in order."""
        raise NotImplementedError

    def close(self) -> None:
        """Make the object appear, whole, under its key (durable only after ``sync``)."""
        raise NotImplementedError

    def abort(self) -> None:
        """Discard what was written (the object never appears)."""
        raise NotImplementedError


class _LocalWriter(ObjectWriter):
    """A temporary file in the object's folder, renamed into place at :meth:`close`."""

    def __init__(self, backend: Backend, key: str) -> None:
        super().__init__(backend, key)
        self.path = backend._path(key)
        folder = os.path.dirname(self.path)
        self.tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            try:
                self.fd = os.open(self.tmp, flags, 0o644)
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
                self.fd = os.open(self.tmp, flags, 0o644)
        except OSError as exc:
            raise StorageError(f"could not write object {key}: {_reason(exc)}", key=key) from exc

    def write(self, parts: Sequence[Part]) -> None:
        try:
            i = 0
            while i < len(parts):
                j = i
                while j < len(parts) and not isinstance(parts[j], FileSpan):
                    j += 1
                if j > i:
                    self._writev(parts[i:j])  # type: ignore[arg-type]
                    i = j
                else:
                    j += 1
                    while j < len(parts) and _follows(parts[j], parts[j - 1]):
                        j += 1
                    first: FileSpan = parts[i]  # type: ignore[assignment]
                    self._copy(first, sum(len(p) for p in parts[i:j]))
                    i = j
        except OSError as exc:
            self.abort()
            raise StorageError(
                f"could not write object {self.key}: {_reason(exc)}", key=self.key
            ) from exc

    def _writev(self, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        for i in range(0, len(parts), _IOV_MAX):
            batch = parts[i : i + _IOV_MAX]
            want = sum(len(p) for p in batch)
            done = os.writev(self.fd, batch)
            if done < want:  # a short write: finish piece by piece
                for part in batch:
                    view = memoryview(part)
                    if done >= len(view):
                        done -= len(view)
                        continue
                    view = view[done:]
                    done = 0
                    while view:
                        view = view[os.write(self.fd, view) :]
            self.size += want

    def _copy(self, span: FileSpan, length: int) -> None:
        """``length`` bytes of ``span``'s file from its offset (spans that follow each other,
        copied at once), in the kernel; read and written here where the kernel cannot."""
        offset, left = span.offset, length
        try:
            while left:
                n = os.copy_file_range(span.source.fd, self.fd, left, offset)
                if n == 0:
                    raise _truncated()
                offset, left, self.size = offset + n, left - n, self.size + n
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
            while left:  # (copy_file_range moved this file's position past what it copied)
                data = os.pread(span.source.fd, min(left, 8 << 20), offset)
                if not data:
                    raise _truncated() from exc
                self._writev([data])
                offset, left = offset + len(data), left - len(data)

    def close(self) -> None:
        try:
            os.close(self.fd)
            self.fd = -1
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise StorageError(
                f"could not write object {self.key}: {_reason(exc)}", key=self.key
            ) from exc

    def abort(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


class _BufferedWriter(ObjectWriter):
    """A remote object: the bytes gather in memory and are put at :meth:`close`."""

    def __init__(self, backend: Backend, key: str) -> None:
        super().__init__(backend, key)
        self.buf = bytearray()

    def write(self, parts: Sequence[Part]) -> None:
        for part in parts:
            self.buf += part.view if isinstance(part, FileSpan) else part
        self.size = len(self.buf)

    def close(self) -> None:
        buf, self.buf = self.buf, bytearray()
        self.backend.put(self.key, buf)

    def abort(self) -> None:
        self.buf = bytearray()


def _follows(part: Part, prev: Part) -> bool:
    """Whether ``part`` continues the run of file spans ending with ``prev``."""
    return (
        isinstance(part, FileSpan)
        and isinstance(prev, FileSpan)
        and part.source is prev.source
        and part.offset == prev.offset + prev.length
    )


def _truncated() -> OSError:
    return OSError(errno.EIO, "a file being stored was truncated meanwhile")


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(exc: OSError) -> str:
    """An OS error without the file name (which would show server paths)."""
    return exc.strerror or type(exc).__name__
