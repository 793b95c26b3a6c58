"""Repos and files: create, write, read (the store verbs of pachctl)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import Conflict
from ..store.commit import OpenCommit, Source
from ..store.ranges import RangeReader
from ..store.records import CommitInfo, CommitRef, DiffEntry, FileInfo, RepoInfo
from ..store.refs import parse_branch, parse_file_ref, parse_ref
from ._base import ClientBase

Progress = Callable[[int], None]


class DataMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    # -- repos ------------------------------------------------------------------------------------

    def create_repo(self, name: str, description: str = "", *, exist_ok: bool = False) -> RepoInfo:
        """Create a repo (with an empty ``master`` branch)."""
        return self._store.create_repo(name, description, exist_ok=exist_ok)

    def list_repo(self) -> list[RepoInfo]:
        """Every repo, by name."""
        return self._store.list_repo()

    def inspect_repo(self, name: str) -> RepoInfo:
        """One repo: branches, size of its master head, last commit."""
        return self._store.inspect_repo(name)

    def delete_repo(self, name: str, *, force: bool = False) -> None:
        """Delete a repo; refused while pipelines read it or other repos hold results computed
        from it (unless ``force``), and for a pipeline's output repo (delete the pipeline)."""
        if self._pipelines.is_pipeline(name):
            raise Conflict(
                f"repo {name!r} is the output of pipeline {name!r}; delete the pipeline instead",
                repo=name,
            )
        users = self._pipelines.users_of_repo(name)
        if users and not force:
            raise Conflict(
                f"repo {name!r} is an input of pipeline(s) {', '.join(users)}; "
                "delete those first, or force the deletion",
                repo=name,
                pipelines=users,
            )
        self._store.delete_repo(name, force=force)

    # -- writing files ----------------------------------------------------------------------------

    @contextmanager
    def start_commit(
        self,
        branch: str,
        *,
        message: str = "",
        provenance: tuple[CommitRef, ...] = (),
        origin: str = "user",
    ) -> Iterator[OpenCommit]:
        """Open a commit on ``repo@branch`` for several changes in one atomic commit.

        The commit becomes visible when the ``with`` block ends, and is aborted (nothing
        changes) if the block raises::

            with client.start_commit("data@master", message="new batch") as c:
                c.put_file("/a.csv", "local/a.csv")
                c.delete_file("/old.csv")
            print(c.id)
        """
        repo, name = parse_branch(branch)
        if origin == "user":
            self._pipelines.check_user_write(repo, name)
        oc = self._store.start_commit(
            repo,
            name,
            message=message,
            provenance=provenance,
            origin=origin,  # type: ignore[arg-type]
        )
        try:
            yield oc
        except BaseException:
            oc.abort()
            raise
        oc.finish()

    def put_file(
        self,
        branch: str,
        path: str,
        source: Source,
        *,
        append: bool = False,
        message: str = "",
        progress: Progress | None = None,
    ) -> CommitInfo:
        """Write one file (or a local folder, recursively) as a new commit on ``repo@branch``.

        ``source`` is the content as ``bytes``, a local path (``str``/``Path``; a folder is put
        recursively under ``path``), or a binary file-like object. ``append=True`` appends to
        the existing file instead of replacing it.
        """
        repo, name = parse_branch(branch)
        self._pipelines.check_user_write(repo, name)
        oc = self._store.start_commit(repo, name, message=message)
        try:
            oc.put_file(path, source, append=append, progress=progress)
        except BaseException:
            oc.abort()
            raise
        return oc.finish()

    def delete_file(self, branch: str, path: str, *, message: str = "") -> CommitInfo:
        """Delete a file or directory, as a new commit (``NotFound`` if it does not exist)."""
        repo, name = parse_branch(branch)
        self._pipelines.check_user_write(repo, name)
        self._store.inspect_file(parse_ref(f"{repo}@{name}"), path)
        with self.start_commit(branch, message=message) as oc:
            oc.delete_file(path)
        return self._store.inspect_commit_id(oc.id)

    def copy_file(self, src: str, branch: str, dst_path: str, *, message: str = "") -> CommitInfo:
        """Copy ``repo@ref:/path`` (a file or a whole directory, without copying bytes) to
        ``dst_path`` on ``branch``, as a new commit."""
        ref, path = parse_file_ref(src)
        source, entry = self._store.entry_at(ref, path)
        with self.start_commit(branch, message=message) as oc:
            oc.put_entry(dst_path, entry, source=source)
        return self._store.inspect_commit_id(oc.id)

    # -- reading files ----------------------------------------------------------------------------

    def get_file(
        self,
        ref: str,
        path: str,
        *,
        dest: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
    ) -> Any:
        """A file's bytes; with ``dest``, write the file (or a directory, recursively) to that
        local path instead and return the path."""
        r = parse_ref(ref)
        if dest is None:
            return self._store.get_file(r, path)
        return self._store.get_to(r, path, dest, progress)

    def open_file(self, ref: str, path: str) -> tuple[FileInfo, Iterator[bytes]]:
        """A file's info and an iterator over its verified bytes, chunk by chunk (streaming)."""
        return self._store.iter_file(parse_ref(ref), path)

    def open_file_range(self, ref: str, path: str) -> tuple[FileInfo, RangeReader]:
        """A file's info and random access to its verified bytes: ``reader.read(start, end)``
        fetches only the chunks covering the range (for ``seek``, e.g. parquet footers). The
        ref is resolved once, so the reader stays on that commit if the branch moves."""
        return self._store.open_range(parse_ref(ref), path)

    def inspect_file(self, ref: str, path: str) -> FileInfo:
        """The file or directory at ``path``."""
        return self._store.inspect_file(parse_ref(ref), path)

    def list_file(self, ref: str, path: str = "/") -> Iterator[FileInfo]:
        """A directory's entries (directories end in ``/``), or the file itself, streamed.

        Returns an iterator (wrap it in ``list()`` to keep the entries): the ref and path are
        resolved at the call, so a bad ref or a missing path raises here, and the entries are
        then read from that one commit's tree as they are consumed, in memory that does not
        grow with the size of the directory.
        """
        return self._store.iter_list_file(parse_ref(ref), path)

    def walk_file(self, ref: str, path: str = "/") -> Iterator[FileInfo]:
        """Every file and directory under ``path``, recursively, in path order, streamed
        (an iterator, resolved at the call like :meth:`list_file`)."""
        return self._store.walk_file(parse_ref(ref), path)

    def glob_file(self, ref: str, pattern: str) -> Iterator[FileInfo]:
        """Entries matching a Pachyderm glob (``/*``, ``/**.csv``, ``/{a,b}/*`` ...), in
        Pachyderm's order, streamed (an iterator, resolved at the call like
        :meth:`list_file`)."""
        return self._store.iter_glob_file(parse_ref(ref), pattern)

    def diff_file(self, new: str, path: str = "/", *, old: str | None = None) -> list[DiffEntry]:
        """Files added, removed or modified from ``old`` (default: the parent) to ``new``."""
        return self._store.diff_file(parse_ref(new), parse_ref(old) if old else None, path)
