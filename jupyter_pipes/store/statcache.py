"""A local stat cache: re-putting an unchanged folder costs a ``stat`` per file (#17).

For every local file a commit ingested, the cache remembers ``(path, size, mtime_ns, inode,
ctime_ns)`` and the refs of its chunks (hash, pack, offset, length). The next put of the same
folder skips reading and hashing a file whose stat is unchanged: the packs its refs point into are
pinned by the commit's lease if they are still indexed, exactly as deduplication pins the packs
it reuses (so gc cannot take them; a pack gc removed meanwhile sends the file down the normal
path, read and stored again). Packs are immutable, so a ref into a live pack is valid.

The cache is a hint, never the truth: it lives in a small SQLite file beside the store (a local
store: ``<store>/cache/stat.sqlite``; otherwise in the user's cache folder, one file per store
URL), is machine-local (paths and inodes mean nothing elsewhere), may be deleted at any time, and
is recreated if unreadable. ``JUPYTER_PIPES_STAT_CACHE=off`` disables it; another value is the
file to use.

Like git's index, an entry is not trusted when the file's mtime is within
:data:`RACY_SECONDS` of the moment it was recorded: a write in the same timestamp tick could
otherwise go unnoticed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable

from .blobref import INLINE, BlobRef

ENV = "JUPYTER_PIPES_STAT_CACHE"
RACY_SECONDS = 2.0
"""Files modified this recently (relative to when they were recorded) are re-read next time."""
_VERSION = 2
Key = tuple[int, int, int, int]
"""(size, mtime_ns, inode, ctime_ns)"""


def content_hash(text: str) -> str:
    """The content hash of a file from its recorded refs (as :func:`~.trees.file_entry` gives
    it), without building the refs."""
    if "," not in text:
        return text.split(":", 1)[0]
    import blake3

    hashes = ",".join(part.split(":", 1)[0] for part in text.split(","))
    return blake3.blake3(("cdc:" + hashes).encode()).hexdigest()


def parse_refs(text: str) -> list[BlobRef]:
    """The chunk refs recorded for a file."""
    return _refs(text)


def _refs(text: str) -> list[BlobRef]:
    return [_ref(part) for part in text.split(",")]


def _ref(text: str) -> BlobRef:
    """One ref from ``hash:pack:offset:length``, or ``hash::0:length:hex`` for an inline one."""
    parts = text.split(":")
    if len(parts) == 5:
        return BlobRef(parts[0], INLINE, 0, int(parts[3]), bytes.fromhex(parts[4]))
    h, pack, offset, length = parts
    return BlobRef(h, pack, int(offset), int(length))


def _text(r: BlobRef) -> str:
    """Inverse of :func:`_ref`."""
    if r.data is not None:
        return f"{r.hash}:{INLINE}:0:{r.length}:{r.data.hex()}"
    return f"{r.hash}:{r.pack}:{r.offset}:{r.length}"


def stat_key(st: os.stat_result) -> Key:
    """What must be unchanged for a file to be taken as unchanged."""
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def cache_path(store_url: str, local_root: str | None) -> str | None:
    """Where the stat cache of the store at ``store_url`` lives (``None``: disabled)."""
    configured = os.environ.get(ENV, "")
    if configured.lower() in ("off", "0", "no", "false"):
        return None
    if configured:
        return configured
    if store_url.startswith("memory://"):  # gone with the process: nothing to remember
        return None
    if local_root is not None:
        return os.path.join(local_root, "cache", "stat.sqlite")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    digest = hashlib.sha256(store_url.encode()).hexdigest()[:24]
    return os.path.join(base, "jupyter_pipes", f"stat-{digest}.sqlite")


class StatCache:
    """The stat cache file of one store (thread-safe; every failure just disables it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._broken = False

    def _conn(self) -> sqlite3.Connection | None:
        if self._db is not None or self._broken:
            return self._db
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=5)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=OFF")  # a lost cache only costs a re-read
            if db.execute("PRAGMA user_version").fetchone()[0] != _VERSION:
                db.executescript(
                    "DROP TABLE IF EXISTS files;"
                    "CREATE TABLE files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER,"
                    " ino INTEGER, ctime_ns INTEGER, refs TEXT);"
                    f"PRAGMA user_version={_VERSION};"
                )
            self._db = db
        except (sqlite3.Error, OSError):
            self._broken = True
        return self._db

    def get_many(self, paths: list[str]) -> dict[str, tuple[Key, str]]:
        """The recorded stat key and chunk refs (as text: see :func:`parse_refs` and
        :func:`content_hash`) of each of ``paths`` that has an entry."""
        out: dict[str, tuple[Key, str]] = {}
        with self._lock:
            db = self._conn()
            if db is None or not paths:
                return out
            try:
                for i in range(0, len(paths), 500):
                    part = paths[i : i + 500]
                    marks = ",".join("?" * len(part))
                    for p, size, mtime, ino, ctime, refs in db.execute(
                        f"SELECT path, size, mtime_ns, ino, ctime_ns, refs FROM files "
                        f"WHERE path IN ({marks})",
                        part,
                    ):
                        out[p] = ((size, mtime, ino, ctime), refs)
            except (sqlite3.Error, ValueError):
                self._broken = True
        return out

    def put_many(self, entries: Iterable[tuple[str, Key, list[BlobRef]]]) -> None:
        """Record files just ingested (racily fresh ones are left out)."""
        now_ns = time.time_ns()
        rows = [
            (p, *key, ",".join(_text(r) for r in refs))
            for p, key, refs in entries
            if now_ns - key[1] > RACY_SECONDS * 1e9 and now_ns - key[3] > RACY_SECONDS * 1e9
        ]
        with self._lock:
            db = self._conn()
            if db is None or not rows:
                return
            try:
                with db:
                    db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.Error:
                self._broken = True

    def close(self) -> None:
        """Close the cache file."""
        with self._lock:
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._db.close()
                self._db = None
