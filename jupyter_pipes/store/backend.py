"""Where object bytes live: a thin layer over fsspec (the one place that talks to it).

A local folder is read and written with ``os`` directly; fsspec is imported only for other URLs
(it costs about a tenth of a second of start-up, which ``jupyter pipes list repo`` need not pay).

Keys are ``/``-separated relative names (``packs/0183...``). A write is atomic: readers see the
whole object or nothing. On a local folder the bytes are written to a temporary name, fsynced, and
renamed into place (then the folder is fsynced), so an object that exists is durable. Remote object
stores (S3) give atomic puts natively.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import CorruptObject, StorageError

if TYPE_CHECKING:
    import fsspec

_MAX_FDS = 64


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


def _reason(exc: OSError) -> str:
    """An OS error without the file name (which would show server paths)."""
    return exc.strerror or type(exc).__name__
