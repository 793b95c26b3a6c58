"""Reading files of commits: the read half of :class:`~jupyter_pipes.store.store.Store`.

Every method validates its path first (before resolving the ref), then reads one commit's tree:
a ref is resolved once, so a read sees one consistent snapshot even if the branch moves.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidArgument, IsADirectory, NotFound
from . import glob as globmod
from .local import export_entry
from .names import clean_path, join_path
from .ranges import RangeReader
from .records import DiffEntry, FileInfo
from .refs import Ref
from .trees import EMPTY_ROOT, Entry, Root

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from .metadata import Metadata
    from .objects import BlobReader
    from .records import CommitRow
    from .trees import TreeStore


class FileReads:
    """Mixed into :class:`Store`: inspect, list, walk, glob, read, export and diff files."""

    meta: Metadata
    trees: TreeStore
    reader: BlobReader

    if TYPE_CHECKING:  # Store's

        def _root(self, ref: Ref) -> tuple[str, Root]: ...

        def _resolve(self, conn: Connection, ref: Ref) -> CommitRow: ...

    @staticmethod
    def _file_info(path: str, e: Entry, commit: str | None) -> FileInfo:
        if e.is_dir:
            path = path.rstrip("/") + "/"
        return FileInfo(path, "dir" if e.is_dir else "file", e.size, e.hash, commit)

    def inspect_file(self, ref: Ref, path: str) -> FileInfo:
        """The file or directory at ``path``."""
        path = clean_path(path)
        cid, root = self._root(ref)
        return self._file_info(path, self.trees.require(root, path), cid)

    def list_file(self, ref: Ref, path: str = "/") -> list[FileInfo]:
        """A directory's entries (or the file itself), directories ending in ``/``."""
        return list(self.iter_list_file(ref, path))

    def iter_list_file(self, ref: Ref, path: str = "/") -> Iterator[FileInfo]:
        """Like :meth:`list_file`, streamed: one node of the directory in memory at a time.

        The ref and path are resolved now (a bad ref or a missing path raises here, not at the
        first ``next``); the iterator then reads that one commit's tree.
        """
        path = clean_path(path)
        cid, root = self._root(ref)
        if path == "/" and root.count == 0:
            return iter(())
        e = self.trees.require(root, path)
        if not e.is_dir:
            return iter([self._file_info(path, e, cid)])
        children = self.trees.iter_children(e)
        return (self._file_info(join_path(path, c.name), c, cid) for c in children)

    def walk_file(self, ref: Ref, path: str = "/") -> Iterator[FileInfo]:
        """Every file and directory under ``path``, depth first, in path order, streamed.

        Resolved now, like :meth:`iter_list_file`; the walk holds one node per level.
        """
        path = clean_path(path)
        cid, root = self._root(ref)
        e = self.trees.lookup(root, path)
        if e is None:
            if path == "/":
                return iter(())
            raise NotFound(f"no file or directory at {path}", path=path)
        if not e.is_dir:
            return iter([self._file_info(path, e, cid)])
        return (self._file_info(p, c, cid) for p, c in self.trees.walk_all(e, path))

    def glob_file(self, ref: Ref, pattern: str) -> list[FileInfo]:
        """Entries matching a Pachyderm glob, in Pachyderm's (lexicographic) order."""
        return list(self.iter_glob_file(ref, pattern))

    def iter_glob_file(self, ref: Ref, pattern: str) -> Iterator[FileInfo]:
        """Like :meth:`glob_file`, streamed: the tree is walked in path order below the
        glob's literal prefix, one node per level in memory, however many files match.

        The pattern and ref are checked and resolved now, like :meth:`iter_list_file`.
        """
        glob = globmod.clean_glob(pattern)
        match = globmod.Glob.compile(glob, "/").regex.match
        cid, root = self._root(ref)
        if root.count == 0:
            return iter(())
        if glob == "/":
            return iter([self._file_info("/", root.as_entry(), cid)])
        prefix = globmod.literal_prefix(glob)
        start = self.trees.lookup(root, prefix.rstrip("/") or "/")
        if start is None or not start.is_dir:
            return iter(())
        walk = self.trees.walk_sorted(start, prefix)
        return (self._file_info(p, e, cid) for p, e in walk if match(p.rstrip("/")))

    def iter_file(self, ref: Ref, path: str) -> tuple[FileInfo, Iterator[bytes]]:
        """A file's info and its verified bytes, chunk by chunk."""
        path = clean_path(path)
        cid, root = self._root(ref)
        e = self.trees.require(root, path)
        if e.is_dir:
            raise InvalidArgument(
                f"{path} is a directory; give a file path or a destination", path=path
            )
        return self._file_info(path, e, cid), self.reader.read_many(e.refs)

    def open_range(self, ref: Ref, path: str) -> tuple[FileInfo, RangeReader]:
        """A file's info and random access to its verified bytes by offset.

        The ref is resolved once: the reader keeps returning that commit's bytes even if the
        branch moves meanwhile.
        """
        path = clean_path(path)
        cid, root = self._root(ref)
        e = self.trees.require(root, path)
        if e.is_dir:
            raise IsADirectory(f"{path} is a directory, not a file", path=path)
        return self._file_info(path, e, cid), RangeReader(self.reader, e.refs)

    def get_file(self, ref: Ref, path: str) -> bytes:
        """A whole file's bytes."""
        _, chunks = self.iter_file(ref, path)
        return b"".join(chunks)

    def get_to(
        self,
        ref: Ref,
        path: str,
        dest: str | os.PathLike[str],
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Write a file, or a directory recursively, to a local path (atomically per file)."""
        path = clean_path(path)
        _, root = self._root(ref)
        e = self.trees.require(root, path)
        return Path(export_entry(self.trees.walk, self.reader, e, path, dest, progress))

    def entry(self, ref: Ref, path: str) -> Entry:
        """The raw tree entry at ``path`` (for copy)."""
        return self.entry_at(ref, path)[1]

    def entry_at(self, ref: Ref, path: str) -> tuple[str, Entry]:
        """The commit ``ref`` names and its raw tree entry at ``path`` (for copy: pass the
        commit as ``source`` to :meth:`OpenCommit.put_entry`)."""
        path = clean_path(path)
        cid, root = self._root(ref)
        return cid, self.trees.require(root, path)

    def diff_file(self, new: Ref, old: Ref | None = None, path: str = "/") -> list[DiffEntry]:
        """Files added, removed or modified between ``old`` (default: new's parent) and ``new``."""
        path = clean_path(path)
        with self.meta.read() as conn:
            nrow = self._resolve(conn, new)
            orow = (
                self._resolve(conn, old)
                if old is not None
                else (self.meta.get_commit(conn, nrow.parent) if nrow.parent else None)
            )
        nroot = Root.from_json(nrow.root, nrow.id)
        oroot = Root.from_json(orow.root, orow.id) if orow is not None else EMPTY_ROOT
        out = []
        for p, a, b in self.trees.diff(
            self.trees.lookup(oroot, path), self.trees.lookup(nroot, path), path
        ):
            change = "added" if a is None else "removed" if b is None else "modified"
            out.append(
                DiffEntry(
                    p,
                    change,  # type: ignore[arg-type]
                    self._file_info(p, a, orow.id if orow else None) if a else None,
                    self._file_info(p, b, nrow.id) if b else None,
                )
            )
        return out
