"""Open commits: stage changes, write objects, then make the commit visible atomically.

Life of a commit:

1. ``open``: a metadata row in state ``open`` is written with a lease (renewed by heartbeat)
   that pins the first pack the commit will write; gc leaves leased commits alone.
2. Staging: file contents are chunked, hashed and appended to packs (uploaded as they fill, each
   pinned before its first byte); packs that deduplication reuses are pinned first (see
   :mod:`.leases`); the changes are folded into a :class:`~jupyter_pipes.store.trees.Patch`.
3. ``finish``: every pack is made durable; the patch is applied to the branch head's tree (new
   directory blobs written and made durable); then **one** metadata transaction confirms the
   lease is still held (gc has not collected the commit) and every reused pack is still indexed,
   marks the commit finished, records its provenance and new blobs, records the head move, and
   moves the branch head by compare-and-swap from the head the tree was built on. If another
   writer moved the head meanwhile, the patch is re-applied to the new head and the swap retried,
   so concurrent commits to one branch all land, in a linear history. If the lease is gone, the
   commit fails with :class:`~jupyter_pipes.errors.CommitAbandoned` and the head stays.

A process killed at any instant therefore leaves the old head (plus unreachable packs and an open
row that ``gc`` removes once the lease has expired) or the whole new commit.
"""

from __future__ import annotations

import os
import stat
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from ..errors import AlreadyExists, CommitAbandoned, Conflict, InvalidArgument, NotFound
from .backend import Backend
from .journal import Journal
from .leases import Lease
from .local import Source, ingest_folder, ingest_source
from .metadata import Metadata
from .names import clean_path, join_path
from .objects import PackWriter
from .records import CommitInfo, CommitRef, MoveRow, Origin
from .statcache import StatCache
from .treebuild import FolderOver, build_folder
from .trees import EMPTY_ROOT, Entry, Patch, Root, TreeStore
from .txn import Txn

Progress = Callable[[int], None]
HeadMoved = Callable[..., "MoveRow | None"]
"""``(conn, repo, branch, old, new, cause, global_id=None)``: record a head move and tell the
hooks; the timeline row."""
_MAX_REBASES = 1000
CAUSES: dict[str, str] = {"user": "commit", "auto": "pipeline", "revert": "revert"}
"""The head-move cause of finishing a commit of each origin."""


@dataclass(frozen=True, slots=True)
class CommitParts:
    """What an open commit needs of its store: the metadata, the object backend, the trees,
    the callback that records a head move and tells the hooks (inside the moving transaction),
    and the journal the finished commit is also written to."""

    meta: Metadata
    backend: Backend
    trees: TreeStore
    head_moved: HeadMoved
    journal: Journal
    stat_cache: StatCache | None = None
    """Where folder puts remember unchanged files (see :mod:`.statcache`)."""


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
        """Description of a repo that this commit creates, atomically with the commit (its
        row is written then too)."""
        self._root_override = root
        self.patch = Patch()
        self.lease = Lease(meta, self.id)
        self.writer = PackWriter(
            parts.backend,
            self.lease.lookup,
            on_pack=self.lease.pin_new_packs,
            pin_reused=self.lease.pin_reused,
        )
        self.done = False
        try:
            with meta.write() as conn:
                exists = meta.get_repo(conn, repo) is not None
                if new_repo is not None and exists:
                    raise AlreadyExists(f"repo {repo!r} already exists", repo=repo)
                if new_repo is None and not exists:
                    raise NotFound(f"repo {repo!r} not found", repo=repo)
                if new_repo is None:
                    self._insert_open(conn)
                self.lease.insert(conn, "commit", (self.writer.current_pack,))
            self.lease.keep()
            if root is not None:
                self.lease.pin_entry(root.as_entry(), restores)
        except BaseException:
            self.writer.close()
            if self.lease.kept:
                self._abort_quietly()
            raise

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
        """Stage a folder: built as a tree against the branch's (#17, #19: an unchanged file
        costs a ``stat``, memory does not grow with the files), or, if something is staged on
        its path already, file by file."""
        cache = self._parts.stat_cache
        if self.patch.can_overlay(dest):
            found, base = self._folder_base(dest)
            if found:
                folder = os.path.abspath(folder)
                trees = self._parts.trees
                merged = build_folder(trees, self.writer, folder, dest, base, progress, cache)
                self.patch.overlay(dest, FolderOver(base, merged, folder))
                return
        for rel, entry in ingest_folder(self.writer, folder, progress, cache):
            self.patch.put(clean_path(join_path(dest, rel)), entry)

    def _folder_base(self, dest: str) -> tuple[bool, Entry | None]:
        """The directory at ``dest`` in the branch's head (pinned: gc keeps it until this
        commit ends), or ``None``; ``(False, None)`` if there is a file there (staging file by
        file then reports the conflict when the commit finishes) or the head went away."""
        with self._meta.read() as conn:
            b = self._meta.get_branch(conn, self.repo, self.branch)
            head = self._meta.get_commit(conn, b.head) if b is not None and b.head else None
        if head is None:
            return True, None
        base = self._parts.trees.lookup(Root.from_json(head.root, head.id), dest)
        if base is None:
            return True, None
        if not base.is_dir:
            return False, None
        try:
            self.lease.pin_entry(base, head.id)
        except NotFound:
            return False, None
        return True, base

    def delete_file(self, path: str) -> None:
        """Stage deleting a file or a directory (``/`` empties the repo)."""
        self._check_open()
        self.patch.delete(clean_path(path))

    def put_entry(self, path: str, entry: Entry, *, source: str | None = None) -> None:
        """Stage an existing entry (a file or whole directory of commit ``source``) at ``path``.

        The entry is pinned first, so gc keeps its bytes until this commit is finished; with
        ``source``, that commit must still exist (``NotFound`` otherwise).
        """
        self._check_open()
        path = clean_path(path)
        self.lease.pin_entry(entry, source)
        if path == "/":
            if not entry.is_dir:
                raise InvalidArgument("cannot copy a file onto '/'", path=path)
            self.patch.delete("/")
            for child in self._parts.trees.iter_children(entry):
                self.patch.put("/" + child.name, child)
        else:
            self.patch.put(path, entry)

    # -- finishing -----------------------------------------------------------------------------

    def finish(self) -> CommitInfo:
        """Make the commit visible (atomically) and return it."""
        self._check_open()
        meta, trees = self._meta, self._parts.trees
        move = None
        txn: Txn | None = None
        try:
            # The directory blobs go into the same pack as the files' blobs (one pack per small
            # commit, #17); one flush below makes all of them durable before the transaction.
            # Only an append to a file put in this commit reads back a blob first.
            if self.patch.reads_staged:
                self.writer.flush()
            for attempt in range(_MAX_REBASES):
                with meta.read() as conn:
                    b = meta.get_branch(conn, self.repo, self.branch)
                    head = b.head if b else None
                    head_row = meta.get_commit(conn, head) if head else None
                    assert head is None or head_row is not None  # a head is a commit
                    base = Root.from_json(head_row.root, head) if head_row else EMPTY_ROOT
                root = self._root_override or trees.apply(base, self.patch, self.writer)
                self.writer.flush()
                try:
                    with meta.write() as conn:
                        txn = Txn(meta, conn)
                        if self.new_repo is not None:
                            txn.create_repo(self.repo, self.new_repo, must_be_new=True)
                            self._insert_open(conn)
                        self._confirm(conn)
                        if b is None and meta.get_branch(conn, self.repo, self.branch) is None:
                            meta.insert_branch(conn, self.repo, self.branch, None, time.time())
                        if not meta.move_branch(conn, self.repo, self.branch, head, self.id):
                            raise _HeadMoved
                        self._record(conn, head, root)
                        meta.end_lease(conn, self.id)
                        if self.on_finish is not None:
                            self.on_finish(txn, self.id)
                        move = self._parts.head_moved(
                            conn,
                            self.repo,
                            self.branch,
                            head,
                            self.id,
                            CAUSES[self.origin],
                            global_id=self.global_id,
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
        self.lease.released = True
        meta.keeper.drop(self.id)
        with meta.read() as conn:
            row = meta.get_commit(conn, self.id)
            assert row is not None
            info = meta.commit_infos(conn, [row])[0]
            prov = meta.provenance_of(conn, [self.id]).get(self.id, [])
        for name, description, created in txn.created_repos if txn is not None else ():
            self._parts.journal.append(
                "repo", created, name=name, description=description, created_at=created
            )
        self._parts.journal.commit(row, prov, move)
        return info

    def _confirm(self, conn: sa.Connection) -> None:
        """In the finishing transaction: the lease is still held, so gc has deleted nothing
        this commit wrote, reuses or copies; the reused packs are still indexed."""
        lease = self._meta.lock_lease(conn, self.id)
        row = self._meta.get_commit(conn, self.id)
        if lease is None or lease.state != "live" or row is None or row.state != "open":
            raise CommitAbandoned(
                f"commit {self.id} to {self.repo}@{self.branch} was abandoned: its lease expired "
                "(no heartbeat) and gc removed it; nothing was changed, write it again",
                commit=self.id,
            )
        lost = self._meta.unindexed_pins(conn, self.id, self.lease.reused)
        if lost:  # pragma: no cover - gc never removes a pinned pack; kept as a last check
            raise CommitAbandoned(
                f"commit {self.id}: pack {lost[0]} it reuses was removed; nothing was changed",
                commit=self.id,
            )

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
        self.lease.released = True
        self._meta.keeper.drop(self.id)
        try:
            with self._meta.write() as conn:
                self._meta.delete_open_commit(conn, self.id)
                self._meta.end_lease(conn, self.id)
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
