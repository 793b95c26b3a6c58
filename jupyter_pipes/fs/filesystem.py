"""The ``pipes://`` fsspec filesystem: the store read and written by pandas, Dask and pyarrow.

Thin by design: it parses ``repo@ref/path`` and maps each fsspec primitive onto one Client call
(reads through a :class:`~jupyter_pipes.store.ranges.RangeReader`, writes through
``Client.start_commit``); the store does the work. See ``docs/fsspec.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractFileSystem, make_instance
from fsspec.utils import isfilelike

from ..client import Client
from ..errors import InvalidArgument, NotFound, PathExists, PathNotFound, ReadOnlyRef
from ..store.commit import OpenCommit
from ..store.names import check_branch_name
from ..store.records import CommitInfo
from ..store.store import ENV_DB, ENV_STORE, default_store_url
from .files import PipesFile, PipesWriteFile
from .paths import (
    PROTOCOL,
    PipesPath,
    dir_dict,
    info_dict,
    is_a_directory,
    mapped_errors,
    parse,
    strip_protocol,
)
from .transaction import Op, PipesTransaction

_FSSPEC_OPTIONS = (
    "use_listings_cache",
    "listings_expiry_time",
    "max_paths",
    "skip_instance_cache",
    "asynchronous",
    "loop",
)
_HEX = frozenset("0123456789abcdef")


class _DefaultStoreSettings:
    """Read by fsspec's instance cache (``_extra_tokenize_attributes``): a filesystem created
    without ``store=`` is cached per the settings that choose the default store, so changing
    ``JUPYTER_PIPES_STORE`` (or the working directory) is not answered by a stale instance."""

    def __get__(self, obj: object, cls: type | None = None) -> tuple[str | None, ...]:
        try:
            cwd: str | None = os.getcwd()
        except FileNotFoundError:  # the working directory was removed
            cwd = None
        return (os.environ.get(ENV_STORE), os.environ.get(ENV_DB), cwd)


class PipesFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """The store as an fsspec filesystem: ``pipes://repo@ref/path``.

    Parameters
    ----------
    store:
        Where the store lives (a folder, ``memory://name``, ``s3://bucket/prefix``). Default:
        ``$JUPYTER_PIPES_STORE``, else ``.pipes`` in the working directory.
    db_url:
        SQLAlchemy URL of the metadata database. Default: ``$JUPYTER_PIPES_DB``, else the
        SQLite file inside a local store.
    **storage_options:
        The object store's own fsspec options (``key``, ``secret``, ``client_kwargs`` ...),
        passed to the :class:`~jupyter_pipes.Client`.

    Notes
    -----
    The store and database are resolved when the filesystem is created (a relative folder
    becomes absolute), and a pickled copy (a Dask worker's) opens exactly those, whatever the
    worker's own settings. fsspec caches one instance per options, thread and default-store
    settings; each holds its own :class:`~jupyter_pipes.Client`.
    """

    protocol = (PROTOCOL,)
    root_marker = ""
    transaction_type = PipesTransaction
    _default_store_settings = _DefaultStoreSettings()
    _extra_tokenize_attributes = ("_default_store_settings",)

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        db_url: str | None = None,
        **storage_options: Any,
    ) -> None:
        url = os.fspath(store) if store is not None else default_store_url()
        if "://" not in url:
            url = os.path.abspath(url)  # workers may start elsewhere
        db_url = db_url or os.environ.get(ENV_DB) or None
        super().__init__(store=url, db_url=db_url, **storage_options)
        self._pinned = {"store": url, "db_url": db_url}
        client_options = {k: v for k, v in storage_options.items() if k not in _FSSPEC_OPTIONS}
        self.client = Client(url, db_url=db_url, **client_options)
        """The :class:`~jupyter_pipes.Client` this filesystem reads and writes through."""
        self.last_commit: CommitInfo | None = None
        """The last commit this filesystem made (a write, a delete, or a transaction)."""

    def __reduce__(self) -> tuple[Any, ...]:
        # fsspec pickles the options as given; a copy (e.g. on a Dask worker, which may start
        # elsewhere with other settings) must open the store and database resolved here.
        return make_instance, (type(self), (), {**self.storage_options, **self._pinned})

    def to_arrow(self) -> Any:
        """This filesystem as a ``pyarrow.fs.FileSystem`` that also takes ``pipes://`` URLs:
        ``pyarrow.dataset.dataset("pipes://data@master/dir/", filesystem=fs.to_arrow())``
        (with ``filesystem=fs`` itself, pyarrow wants the path without ``pipes://``)."""
        from .arrow import arrow_filesystem

        return arrow_filesystem(self)

    def close(self) -> None:
        """Release the client's database connections (the instance stays in fsspec's cache
        until ``PipesFileSystem.clear_instance_cache()``)."""
        self.client.close()

    # -- paths ------------------------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        return strip_protocol(os.fspath(path) if isinstance(path, os.PathLike) else path)

    def unstrip_protocol(self, name: str) -> str:
        """``data@master/a.csv`` -> ``pipes://data@master/a.csv``."""
        return f"{PROTOCOL}://{strip_protocol(name)}"

    # -- listing ----------------------------------------------------------------------------------

    def _empty_branch(self, p: PipesPath) -> bool:
        """Whether ``p`` is the root of an existing branch that has no commit yet."""
        if p.ref is None or p.path != "/" or p.ref.ancestors:
            return False
        try:
            heads = {b.name: b.head for b in self.client.list_branch(p.ref.repo)}
        except NotFound:
            return False
        return p.ref.base in heads and heads[p.ref.base] is None

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        """A directory's entries (or the file itself); the root lists every ``repo@branch``."""
        p = parse(path)
        if p.ref is None:
            out = [dir_dict(f"{b.repo}@{b.name}", b.head) for b in self.client.list_branch()]
        else:
            try:
                with mapped_errors(p.text):
                    out = [p.child(i) for i in self.client.list_file(p.ref_text, p.path)]
            except PathNotFound:
                if not self._empty_branch(p):
                    raise
                out = []
        return out if detail else [o["name"] for o in out]

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        """fsspec's info: ``name``, ``size``, ``type``, plus the content ``hash`` (BLAKE3) and
        the ``commit`` it was read from."""
        p = parse(path)
        if p.ref is None:
            return dir_dict("")
        try:
            with mapped_errors(p.text):
                if p.path == "/":
                    c = self.client.inspect_commit(p.ref_text)
                    return {**dir_dict(p.prefix, c.id), "size": c.size_bytes}
                return info_dict(p.name(p.path), self.client.inspect_file(p.ref_text, p.path))
        except PathNotFound:
            if self._empty_branch(p):
                return dir_dict(p.prefix)
            raise

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        **kwargs: Any,
    ) -> Any:
        """Every file under ``path`` (with ``withdirs``, directories too), in one tree walk of
        one commit (a depth limit falls back to listing directory by directory)."""
        p = parse(path)
        if p.ref is None or maxdepth is not None:
            return super().find(path, maxdepth, withdirs, detail, **kwargs)
        try:
            with mapped_errors(p.text):
                infos = list(self.client.walk_file(p.ref_text, p.path))
        except PathNotFound:
            infos = []
        out: dict[str, Any] = {}
        if len(infos) == 1 and infos[0].type == "file" and infos[0].path == p.path:
            out[p.text] = p.child(infos[0])  # a file: find returns it
        else:
            if withdirs and infos:
                out[p.text] = dir_dict(p.text, infos[0].commit)
            for i in infos:
                if withdirs or i.type == "file":
                    out[p.name(i.path)] = p.child(i)
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def checksum(self, path: str) -> int:
        """The content hash (BLAKE3) as an int: equal bytes, equal checksum, in any commit."""
        h = self.info(path).get("hash")
        return int(h, 16) if h else super().checksum(path)

    def ukey(self, path: str) -> str:
        """A key that changes exactly when the content changes: the content hash."""
        h = self.info(path).get("hash")
        return str(h) if h else super().ukey(path)

    # -- reading ----------------------------------------------------------------------------------

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        message: str | None = None,
        **kwargs: Any,
    ) -> PipesFile | PipesWriteFile:
        p = parse(path)
        if "r" in mode:
            if p.ref is None or p.path == "/":
                raise is_a_directory(p.text or "/")
            with mapped_errors(p.text):
                info, reader = self.client.open_file_range(p.ref_text, p.path)
            return PipesFile(
                self,
                p.text,
                info,
                reader,
                block_size=block_size,
                # the range reader caches and reads ahead (sequential reads only)
                cache_type=kwargs.pop("cache_type", "none"),
                cache_options=cache_options,
            )
        branch = self._branch_for_write(p)
        if p.path == "/":
            raise is_a_directory(p.text)
        if mode == "xb" and self.exists(path):
            raise PathExists(f"{p.text} exists already", path=p.text)
        return PipesWriteFile(
            self, p.text, mode, branch, p.path, message, autocommit, block_size=block_size
        )

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        """A file's bytes, or a range of them (negative offsets count from the end)."""
        p = parse(path)
        if p.ref is None or p.path == "/":
            raise is_a_directory(p.text or "/")
        with mapped_errors(p.text):
            _, reader = self.client.open_file_range(p.ref_text, p.path)
        size = reader.size
        lo = 0 if start is None else (start if start >= 0 else max(0, size + start))
        hi = size if end is None else (end if end >= 0 else size + end)
        return reader.read(lo, hi)

    def get_file(
        self,
        rpath: str,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        """Copy one file to a local path (written atomically) or an open file."""
        if outfile is None and isfilelike(lpath):
            outfile = lpath
        p = parse(rpath)
        if outfile is not None:
            with mapped_errors(p.text):
                _, reader = self.client.open_file_range(p.ref_text, p.path)
            callback.set_size(reader.size)
            for pos in range(0, reader.size, self.blocksize):
                data = reader.read(pos, pos + self.blocksize)
                outfile.write(data)
                callback.relative_update(len(data))
            return
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        parent = os.path.dirname(os.fspath(lpath))
        if parent:
            os.makedirs(parent, exist_ok=True)
        with mapped_errors(p.text):
            callback.set_size(self.client.inspect_file(p.ref_text, p.path).size_bytes)
            self.client.get_file(p.ref_text, p.path, dest=lpath, progress=callback.relative_update)

    # -- writing ----------------------------------------------------------------------------------

    def _branch_for_write(self, p: PipesPath) -> str:
        """``repo@branch`` that a write to ``p`` goes to; refuses commits (immutable)."""
        if p.ref is None:
            raise InvalidArgument(
                "name a repo and branch to write to: pipes://repo@branch/path", path="/"
            )
        ref = p.ref
        if ref.ancestors:
            raise ReadOnlyRef(
                f"{p.prefix} names an ancestor commit; commits are immutable: write to a branch",
                ref=p.prefix,
            )
        with mapped_errors(p.prefix):
            branches = {b.name for b in self.client.list_branch(ref.repo)}
        if ref.base in branches:
            return f"{ref.repo}@{ref.base}"
        names_commit = len(ref.base) == 32 and set(ref.base) <= _HEX
        if not names_commit and len(ref.base) >= 4 and set(ref.base) <= _HEX:
            try:
                self.client.inspect_commit(p.prefix)
                names_commit = True
            except NotFound:
                pass
            except InvalidArgument:  # an ambiguous commit prefix
                names_commit = True
        if names_commit:
            raise ReadOnlyRef(
                f"{p.prefix} names a commit, and commits are immutable: write to a branch "
                f"(pipes://{ref.repo}@<branch>/...)",
                ref=p.prefix,
            )
        check_branch_name(ref.base)
        return f"{ref.repo}@{ref.base}"  # a new branch: the first write creates it

    def _commit(self, branch: str, ops: list[Op], message: str) -> CommitInfo:
        """Apply ``ops`` to ``branch`` as one commit."""
        with mapped_errors(branch):
            with self.client.start_commit(branch, message=message) as oc:
                for op in ops:
                    op(oc)
            info = self.client.store.inspect_commit_id(oc.id)
        self.last_commit = info
        return info

    def _change(
        self,
        branch: str,
        path: str,
        op: Op,
        message: str,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        """One change: a commit of its own, or part of the open transaction's commit."""
        if self._intrans:
            self.transaction.add(branch, path, op, cleanup)
            return
        try:
            self._commit(branch, [op], message)
        finally:
            if cleanup is not None:
                cleanup()

    def _write_spool(self, f: PipesWriteFile, spool: Any) -> None:
        """Called when a written file is closed: its bytes become a change of ``f.branch``."""
        append = f.mode == "ab"
        path = f.repo_path

        def op(oc: OpenCommit) -> None:
            oc.put_file(path, spool, append=append)

        if f.autocommit:
            self._change(f.branch, path, op, f.message or f"pipes:// write {path}", spool.close)
        else:
            self.transaction.add(f.branch, path, op, spool.close)

    def pipe_file(
        self,
        path: str,
        value: bytes,
        mode: str = "overwrite",
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Write ``value`` to ``path`` (``mode="create"`` refuses an existing file)."""
        p = parse(path)
        branch = self._branch_for_write(p)
        if mode == "create" and self.exists(path):
            raise PathExists(f"{p.text} exists already", path=p.text)
        data = bytes(value)

        def op(oc: OpenCommit) -> None:
            oc.put_file(p.path, data)

        self._change(branch, p.path, op, message or f"pipes:// write {p.path}")

    def put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        message: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Upload one local file (a local folder creates nothing: there are no empty
        directories). Inside a transaction the file is read when the transaction commits."""
        if os.path.isdir(lpath):
            return
        p = parse(rpath)
        branch = self._branch_for_write(p)
        if mode == "create" and self.exists(rpath):
            raise PathExists(f"{p.text} exists already", path=p.text)
        local = os.fspath(lpath)
        callback.set_size(os.path.getsize(local))

        def op(oc: OpenCommit) -> None:
            oc.put_file(p.path, local, progress=callback.relative_update)

        self._change(branch, p.path, op, message or f"pipes:// put {p.path}")

    def cp_file(self, path1: str, path2: str, message: str | None = None, **kwargs: Any) -> None:
        """Copy a file without copying bytes (the new entry reuses the stored chunks); a
        directory is skipped (its files are copied one by one by ``copy``)."""
        src, dst = parse(path1), parse(path2)
        if src.ref is None:
            raise is_a_directory("/")
        branch = self._branch_for_write(dst)
        with mapped_errors(src.text):
            entry = self.client.store.entry(src.ref, src.path)
        if entry.is_dir:
            return

        def op(oc: OpenCommit) -> None:
            oc.put_entry(dst.path, entry)

        self._change(branch, dst.path, op, message or f"pipes:// copy {src.text} to {dst.path}")

    def mv(self, path1: Any, path2: Any, recursive: bool = False, **kwargs: Any) -> None:
        """Move as one commit (copy and delete together) when both sides are on one branch."""
        if self._intrans or not (isinstance(path1, str) and isinstance(path2, str)):
            return super().mv(path1, path2, recursive=recursive, **kwargs)
        one_branch = self._branch_for_write(parse(path1)) == self._branch_for_write(parse(path2))
        if not one_branch:
            return super().mv(path1, path2, recursive=recursive, **kwargs)
        with self.transaction as t:
            t.message = f"pipes:// move {strip_protocol(path1)} to {strip_protocol(path2)}"
            super().mv(path1, path2, recursive=recursive, **kwargs)
        return None

    def rm_file(self, path: str, message: str | None = None) -> None:
        """Delete one file (as a commit, or a change of the open transaction)."""
        p = parse(path)
        branch = self._branch_for_write(p)
        with mapped_errors(p.text):
            info = self.client.inspect_file(p.ref_text, p.path)
        if info.type == "dir":
            raise is_a_directory(p.text)
        self._change(branch, p.path, _delete(p.path), message or f"pipes:// delete {p.path}")

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(
        self,
        path: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        message: str | None = None,
    ) -> None:
        """Delete files (and with ``recursive``, directories) as one commit per branch."""
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        by_branch: dict[str, list[str]] = {}
        for name in paths:
            p = parse(name)
            branch = self._branch_for_write(p)
            info = self.info(name)  # FileNotFoundError for a missing path
            if info["type"] == "directory" and (not recursive or maxdepth is not None):
                if not recursive:
                    raise is_a_directory(p.text or "/")
                continue  # with maxdepth, only the files found are deleted
            targets = by_branch.setdefault(branch, [])
            if not any(p.path == t or p.path.startswith(t.rstrip("/") + "/") for t in targets):
                targets.append(p.path)
        for branch, targets in by_branch.items():
            msg = message or f"pipes:// delete {', '.join(targets[:3])}" + (
                f" and {len(targets) - 3} more" if len(targets) > 3 else ""
            )
            if self._intrans:
                for t in targets:
                    self.transaction.add(branch, t, _delete(t), None)
            else:
                self._commit(branch, [_delete(t) for t in targets], msg)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """Create the repo if it does not exist; otherwise nothing: the store has no empty
        directories (as in Pachyderm), a directory exists while it holds a file."""
        p = parse(path)
        if p.ref is None:
            raise InvalidArgument("mkdir needs a repo: pipes://repo", path="/")
        names = {r.name for r in self.client.list_repo()}
        if p.ref.repo not in names:
            if p.path != "/" and not create_parents:
                raise PathNotFound(f"repo {p.ref.repo!r} not found", repo=p.ref.repo)
            self.client.create_repo(p.ref.repo, exist_ok=True)
        elif self.isfile(path):
            raise PathExists(f"{p.text} is a file", path=p.text)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """As :meth:`mkdir` (with parents); ``exist_ok=False`` refuses an existing path."""
        if not exist_ok and self.exists(path):
            raise PathExists(f"{strip_protocol(path)} exists already", path=strip_protocol(path))
        self.mkdir(path, create_parents=True)

    def rmdir(self, path: str) -> None:
        """Nothing to do: a directory disappears with its last file (use ``rm(recursive=True)``
        to delete one with its files)."""


def _delete(path: str) -> Op:
    def op(oc: OpenCommit) -> None:
        oc.delete_file(path)

    return op
