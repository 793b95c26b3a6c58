"""Open commits: stage changes, write objects, then make the commit visible atomically.

Life of a commit:

1. ``open``: a metadata row in state ``open`` is written (so ``gc`` can find it if the writer dies).
2. Staging: file contents are chunked, hashed and appended to packs (uploaded as they fill);
   the changes are folded into a :class:`~jupyter_pipes.store.trees.Patch`.
3. ``finish``: every pack is made durable; the patch is applied to the branch head's tree (new
   directory blobs written and made durable); then **one** metadata transaction marks the commit
   finished, records its provenance and new blobs, and moves the branch head by compare-and-swap
   from the head the tree was built on. If another writer moved the head meanwhile, the patch is
   re-applied to the new head and the swap retried, so concurrent commits to one branch all land,
   in a linear history.

A process killed at any instant therefore leaves the old head (plus unreachable packs and an open
row that ``gc`` removes) or the whole new commit.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from .backend import Backend
from .local import Source, ingest_folder, ingest_source
from .metadata import Metadata
from .names import clean_path, join_path
from .objects import PackWriter
from .records import CommitInfo, CommitRef, Origin
from .trees import EMPTY_ROOT, Entry, Patch, Root, TreeStore
from .txn import Txn

Progress = Callable[[int], None]
HeadMoved = Callable[..., None]
"""``head_moved(conn, repo, branch, old, new, cause="commit", global_id=None)``."""
_MAX_REBASES = 1000


@dataclass(frozen=True, slots=True)
class CommitParts:
    """What an open commit needs of its store: the metadata, the object backend, the trees,
    and the callback that tells the head hooks about a move (inside the moving transaction)."""

    meta: Metadata
    backend: Backend
    trees: TreeStore
    head_moved: HeadMoved


class _HeadMoved(Exception):
    """Another writer moved the branch head first: rebase and retry."""


class OpenCommit:
    """A commit being written. Use :meth:`Store.start_commit`; finish or abort it exactly once."""

    def __init__(
        self,
        parts: CommitParts,
        repo: str,
        branch: str,
        *,
        message: str = "",
        origin: Origin = "user",
        provenance: tuple[CommitRef, ...] = (),
        root: Root | None = None,
        restores: str | None = None,
        on_finish: Callable[[Txn, str], None] | None = None,
        global_id: str | None = None,
        new_repo: str | None = None,
    ) -> None:
        self._parts = parts
        self._meta = meta = parts.meta
        self.repo = repo
        self.branch = branch
        self.message = message
        self.origin = origin
        self.provenance = provenance
        self.restores = restores
        self.on_finish = on_finish
        self.id = uuid.uuid4().hex
        self.global_id = global_id or self.id
        """The global commit this one belongs to: its own id, unless it is an output of a
        change (then the id of that change)."""
        self.new_repo = new_repo
        """Description of a repo that this commit creates, atomically with the commit."""
        self._root_override = root
        self.patch = Patch()
        self.writer = PackWriter(parts.backend, meta.lookup_chunks)
        self.done = False
        with meta.write() as conn:
            exists = meta.get_repo(conn, repo) is not None
            if new_repo is not None:
                if exists:
                    raise AlreadyExists(f"repo {repo!r} already exists", repo=repo)
                return  # its row is written with the repo's, in finish's transaction
            if not exists:
                raise NotFound(f"repo {repo!r} not found", repo=repo)
            self._insert_open(conn)

    def _insert_open(self, conn: sa.Connection) -> None:
        b = self._meta.get_branch(conn, self.repo, self.branch)
        self._meta.insert_open_commit(
            conn,
            self.id,
            self.repo,
            self.branch,
            b.head if b else None,
            self.origin,
            self.message,
            self.restores,
            time.time(),
            self.global_id,
        )

    def _create_repo(self, conn: sa.Connection) -> None:
        """The repo of a ``new_repo`` commit, in the transaction that finishes the commit."""
        meta = self._meta
        if meta.get_repo(conn, self.repo) is not None:
            raise AlreadyExists(f"repo {self.repo!r} already exists", repo=self.repo)
        now = time.time()
        try:
            meta.insert_repo(conn, self.repo, self.new_repo or "", now)
        except sa.exc.IntegrityError:  # created concurrently (PostgreSQL): roll it all back
            raise AlreadyExists(f"repo {self.repo!r} already exists", repo=self.repo) from None
        for name in dict.fromkeys(["master", self.branch]):
            if meta.get_branch(conn, self.repo, name) is None:
                meta.insert_branch(conn, self.repo, name, None, now)
        self._insert_open(conn)

    # -- staging -------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.done:
            raise Conflict(f"commit {self.id} is not open any more", commit=self.id)

    def put_file(
        self, path: str, source: Source, *, append: bool = False, progress: Progress | None = None
    ) -> None:
        """Stage a file from bytes, a local file or folder (recursively), or a binary stream."""
        self._check_open()
        path = clean_path(path)
        if isinstance(source, str | os.PathLike):
            st = _stat(source)
            if stat.S_ISDIR(st.st_mode):
                if append:
                    raise InvalidArgument(
                        "append is for files, not folders", path=os.fspath(source)
                    )
                self._put_folder(path, os.fspath(source), progress)
                return
            if not stat.S_ISREG(st.st_mode):
                raise InvalidArgument(f"{os.fspath(source)!r} is not a regular file", path=path)
            if path == "/":
                path = join_path("/", clean_path(os.path.basename(os.fspath(source))).lstrip("/"))
        elif path == "/":
            raise InvalidArgument("a file needs a path inside the repo, not '/'", path=path)
        if append:
            data = _read_all(source)
            self.patch.append(path, data)
            if progress:
                progress(len(data))
            return
        self.patch.put(path, ingest_source(self.writer, source, progress))

    def _put_folder(self, dest: str, folder: str, progress: Progress | None) -> None:
        for rel, entry in ingest_folder(self.writer, folder, progress):
            self.patch.put(clean_path(join_path(dest, rel)), entry)

    def delete_file(self, path: str) -> None:
        """Stage deleting a file or a directory (``/`` empties the repo)."""
        self._check_open()
        self.patch.delete(clean_path(path))

    def put_entry(self, path: str, entry: Entry) -> None:
        """Stage an existing entry (a file or whole directory of any commit) at ``path``."""
        self._check_open()
        path = clean_path(path)
        if path == "/":
            if not entry.is_dir:
                raise InvalidArgument("cannot copy a file onto '/'", path=path)
            self.patch.delete("/")
            for name, child in self._parts.trees.children(entry).items():
                self.patch.put("/" + name, child)
        else:
            self.patch.put(path, entry)

    # -- finishing -----------------------------------------------------------------------------

    def finish(self) -> CommitInfo:
        """Make the commit visible (atomically) and return it."""
        self._check_open()
        meta, trees = self._meta, self._parts.trees
        try:
            self.writer.flush()
            for attempt in range(_MAX_REBASES):
                with meta.read() as conn:
                    b = meta.get_branch(conn, self.repo, self.branch)
                    head = b.head if b else None
                    base = Root.from_json(meta.get_commit(conn, head).root) if head else EMPTY_ROOT
                root = self._root_override or trees.apply(base, self.patch, self.writer)
                self.writer.flush()
                try:
                    with meta.write() as conn:
                        if self.new_repo is not None:
                            self._create_repo(conn)
                        elif b is None and meta.get_branch(conn, self.repo, self.branch) is None:
                            meta.insert_branch(conn, self.repo, self.branch, None, time.time())
                        if not meta.move_branch(conn, self.repo, self.branch, head, self.id):
                            raise _HeadMoved
                        self._record(conn, head, root)
                        if self.on_finish is not None:
                            self.on_finish(Txn(meta, conn), self.id)
                        self._parts.head_moved(
                            conn, self.repo, self.branch, head, self.id, global_id=self.global_id
                        )
                    break
                except _HeadMoved:
                    time.sleep(min(0.001 * (attempt + 1), 0.05))
            else:  # pragma: no cover - needs >1000 concurrent writers
                raise Conflict(f"branch {self.repo}@{self.branch} kept moving; commit not made")
        except BaseException:
            self._abort_quietly()
            raise
        finally:
            self.writer.close()
        self.done = True
        with meta.read() as conn:
            row = meta.get_commit(conn, self.id)
            assert row is not None
            return meta.commit_infos(conn, [row])[0]

    def _record(self, conn: sa.Connection, head: str | None, root: Root) -> None:
        meta = self._meta
        meta.finish_commit(conn, self.id, head, root.to_json(), root.size, root.count)
        meta.insert_provenance(conn, self.id, self.provenance)
        meta.record_blobs(conn, self.writer.new_blobs, self.writer.new_packs)

    def abort(self) -> None:
        """Discard the commit: its row is removed; its objects become garbage for ``gc``."""
        if self.done:
            return
        self._abort_quietly()
        self.writer.close()

    def _abort_quietly(self) -> None:
        self.done = True
        try:
            with self._meta.write() as conn:
                self._meta.delete_open_commit(conn, self.id)
        except Exception:  # the row is left for gc; the original error matters more
            pass

    def __enter__(self) -> OpenCommit:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


def _read_all(source: Source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            return f.read()
    return source.read()


def _stat(source: str | os.PathLike[str]) -> os.stat_result:
    try:
        return os.stat(source)
    except FileNotFoundError as e:
        raise NotFound(f"local file {os.fspath(source)!r} not found", path=os.fspath(source)) from e
