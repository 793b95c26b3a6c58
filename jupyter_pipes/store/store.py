"""The versioned data store: repos, branches, commits, files and provenance.

:class:`Store` joins the object backend (fsspec), the Merkle trees and the SQL metadata. It knows
nothing of pipelines, notebooks, Jupyter or Dask; the :class:`~jupyter_pipes.Client` is the public
face over it.
"""

from __future__ import annotations

import getpass
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.engine import make_url as sa_url

from ..errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    MetadataMissing,
    NotFound,
)
from .backend import Backend
from .commit import CommitParts, OpenCommit
from .journal import Journal
from .leases import Lease
from .metadata import Metadata
from .names import check_branch_name, check_repo_name
from .objects import PACK_PREFIX, BlobReader, BlobRef
from .reading import FileReads
from .records import (
    BranchInfo,
    CommitInfo,
    CommitRow,
    HeadMoveInfo,
    MoveRow,
    RepoInfo,
    move_info,
)
from .refs import Ref
from .schema import REBUILD_HINT
from .statcache import StatCache, cache_path
from .trees import Root, TreeStore
from .txn import HeadHook, HeadMove, Txn, new_global_id
from .where import ENV_DB, ENV_STORE, default_store_url, local_sqlite_path

__all__ = ["ENV_DB", "ENV_STORE", "HeadHook", "HeadMove", "Store", "default_store_url"]


def os_user() -> str:
    """The name of the OS user running this process (``uid <n>`` if it has none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no $USER (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def default_db_url(backend: Backend) -> str:
    """SQLite inside a local store; an in-memory SQLite for ``memory://``; else required."""
    if os.environ.get(ENV_DB):
        return os.environ[ENV_DB]
    if backend.is_local:
        return f"sqlite:///{local_sqlite_path(backend.root)}"
    if backend.url.startswith("memory://"):
        return "sqlite://"
    raise InvalidArgument(
        f"a store at {backend.url} needs a shared metadata database: pass db_url= or set "
        f"{ENV_DB} (for example postgresql+psycopg://user@host/db)",
        store=backend.url,
    )


class Store(FileReads):
    """A versioned file store on an fsspec URL with SQL metadata.

    Parameters
    ----------
    url:
        Where objects live: a local folder (default ``.pipes``), ``memory://name`` or
        ``s3://bucket/prefix``. Created on first use.
    db_url:
        SQLAlchemy URL of the metadata database (default: ``metadata.sqlite`` in a local store).
    actor:
        Who is making changes, as recorded in the branch timeline (default: the OS user).
    """

    def __init__(
        self,
        url: str | os.PathLike[str] | None = None,
        *,
        db_url: str | None = None,
        actor: str | None = None,
        **storage_options: Any,
    ) -> None:
        self.url = os.fspath(url) if url is not None else default_store_url()
        self.storage_options = storage_options
        """fsspec options (pipeline workers open the same store with them; never logged)."""
        self.actor = actor or os_user()
        """Recorded as the actor of every head move this store makes."""
        self.backend = Backend(self.url, **storage_options)
        self.journal = Journal(self.backend)
        """Every change to repos, branches and commits, also in the object store."""
        db_url = db_url or default_db_url(self.backend)
        path = sa_url(db_url).database if db_url.startswith("sqlite") else None
        if path and path != ":memory:" and (not os.path.exists(path) or not os.path.getsize(path)):
            self._refuse_lost_metadata(db_url)  # before SQLite creates or writes the file
        self.meta = Metadata(db_url, on_fresh=lambda: self._refuse_lost_metadata(db_url))
        status = self.meta.schema[0]
        if status.previous != status.version:  # created or upgraded just now
            self.journal_backfill()
        self.reader = BlobReader(self.backend)
        self.trees = TreeStore(self.reader)
        self.gc_roots: list[Callable[[], Iterable[BlobRef]]] = []
        """Extra blobs gc must keep (e.g. executed notebooks, which no commit tree holds)."""
        self.head_hooks: list[HeadHook] = []
        """Called inside the transaction that moves any branch head (the pipeline layer
        registers one to create downstream jobs atomically with the move)."""
        self.layer_loaders: list[Callable[[], None]] = []
        """Loaders of layers built on this store (the pipeline layer), run once before the
        first write transaction: a layer registers its head hooks there, so a process that
        only reads never imports it (the CLI answers ``list repo`` without the pipeline code)
        while no head can move without the hooks."""
        self._layers_lock = threading.RLock()
        self._loading: list[Callable[[], None]] = []
        self.meta.before_write = self.load_layers

    def load_layers(self) -> None:
        """Run the pending :attr:`layer_loaders` (each once; one that raises stays pending)."""
        if not self.layer_loaders:
            return
        with self._layers_lock:
            while self.layer_loaders:
                loader = self.layer_loaders[0]
                if loader in self._loading:  # a loader's own writes, in this thread
                    return
                self._loading.append(loader)
                try:
                    loader()
                finally:
                    self._loading.remove(loader)
                self.layer_loaders.pop(0)

    def _refuse_lost_metadata(self, db_url: str) -> None:
        """A new, empty database over a store that holds objects is a lost database, not a
        new store: refuse rather than start an empty history (gc would then delete it all)."""
        url = sa_url(db_url)
        if url.drivername.startswith("sqlite") and url.database in (None, "", ":memory:"):
            return  # an in-memory database is new by nature
        if self.journal.empty() and next(iter(self.backend.list(PACK_PREFIX)), None) is None:
            return
        where = os.path.basename(url.database) if url.database else "the database"
        raise MetadataMissing(
            f"the store holds objects but its metadata database ({where}) is missing or empty; "
            f"{REBUILD_HINT}",
            store=self.url if "://" in self.url else os.path.basename(self.url),
        )

    def journal_backfill(self) -> bool:
        """Make sure the journal holds this store's whole history: a store made before the
        journal gets a snapshot of its metadata once (True when one was written)."""
        if self.meta.get_info("journal") is not None:
            return False
        status = self.meta.schema[0]
        if status.previous is None and self.meta.is_empty():
            self.meta.set_info("journal", "since creation")
            return False
        self.journal.snapshot(self.meta)
        self.meta.set_info("journal", f"snapshot at {time.time():.0f}")
        return True

    def head_moved(
        self,
        conn: Connection,
        repo: str,
        branch: str,
        old: str | None,
        new: str | None,
        cause: str = "branch",
        global_id: str | None = None,
    ) -> MoveRow | None:
        """Record that ``repo@branch`` moved from ``old`` to ``new`` in the branch timeline and
        tell the hooks (in ``conn``'s transaction; a hook that raises rolls the move back); the
        timeline row (``None`` if nothing moved). A move that is not a new commit starts a
        global commit of its own (a fresh ``global_id``)."""
        if old == new:
            return None
        gid = global_id or new_global_id()
        move = self.meta.record_move(conn, repo, branch, old, new, cause, self.actor, gid)
        txn = Txn(self.meta, conn)
        for hook in self.head_hooks:
            hook(txn, HeadMove(repo, branch, old, new, cause, gid))  # type: ignore[arg-type]
        return move

    def close(self) -> None:
        """Release database connections and open files."""
        self.meta.close()
        self.backend.close()
        cache = self.__dict__.pop("_stat_cache", None)
        if cache is not None:
            cache.close()

    # -- records -------------------------------------------------------------------------------

    def _commit_infos(self, conn: Connection, rows: list[CommitRow]) -> list[CommitInfo]:
        return self.meta.commit_infos(conn, rows)

    def inspect_commit_id(self, cid: str) -> CommitInfo:
        """The commit with exactly this id."""
        with self.meta.read() as conn:
            row = self.meta.get_commit(conn, cid)
            if row is None:
                raise NotFound(f"commit {cid} not found", commit=cid)
            return self._commit_infos(conn, [row])[0]

    # -- repos ---------------------------------------------------------------------------------

    def create_repo(self, name: str, description: str = "", *, exist_ok: bool = False) -> RepoInfo:
        """Create an empty repo with a ``master`` branch (no commits yet)."""
        check_repo_name(name)
        with self.meta.write() as conn:
            if self.meta.get_repo(conn, name) is not None:
                if exist_ok:
                    return self._repo_info(conn, name)
                raise AlreadyExists(f"repo {name!r} already exists", repo=name)
            now = time.time()
            self.meta.insert_repo(conn, name, description, now)
            info = self._repo_info(conn, name)
        self.journal.append("repo", now, name=name, description=description, created_at=now)
        return info

    def _repo_info(self, conn: Connection, name: str) -> RepoInfo:
        return self.meta.reads(conn).repo_info(name)

    def inspect_repo(self, name: str) -> RepoInfo:
        """One repo."""
        with self.meta.read() as conn:
            return self.meta.reads(conn).inspect_repo(name)

    def list_repo(self) -> list[RepoInfo]:
        """Every repo, by name (a few queries however many repos: the DAG lists them all)."""
        with self.meta.read() as conn:
            return self.meta.reads(conn).list_repo()

    def delete_repo(self, name: str, *, force: bool = False) -> None:
        """Delete a repo, its branches and commits (objects go at the next ``gc``).

        Refused when commits of other repos have provenance in it, unless ``force``.
        """
        check_repo_name(name)
        with self.meta.write() as conn:
            if self.meta.get_repo(conn, name) is None:
                raise NotFound(f"repo {name!r} not found", repo=name)
            users = self.meta.repo_downstream(conn, name)
            if users and not force:
                raise Conflict(
                    f"repo {name!r} is upstream of {', '.join(users)}; "
                    "delete those first, or force the deletion",
                    repo=name,
                    downstream=users,
                )
            moves = [
                self.meta.record_move(conn, name, b.name, b.head, None, "delete", self.actor)
                for b in self.meta.list_branches(conn, name)
                if b.head is not None
            ]
            self.meta.delete_repo(conn, name)
        self.journal.moves("repo-delete", moves, name=name)

    # -- refs ----------------------------------------------------------------------------------

    def _resolve(self, conn: Connection, ref: Ref) -> CommitRow:
        return self.meta.reads(conn).resolve(ref)

    def resolve(self, ref: Ref) -> CommitInfo:
        """The commit a ref names."""
        with self.meta.read() as conn:
            return self.meta.reads(conn).inspect_commit(ref)

    def _root(self, ref: Ref) -> tuple[str, Root]:
        with self.meta.read() as conn:
            row = self._resolve(conn, ref)
            if row.state != "finished":
                raise Conflict(f"commit {row.id} is still open", commit=row.id)
            return row.id, Root.from_json(row.root, row.id)

    # -- branches ------------------------------------------------------------------------------

    def create_branch(self, repo: str, name: str, head: Ref | None = None) -> BranchInfo:
        """Create a branch, or move an existing one to ``head`` (compare-and-swap)."""
        check_branch_name(name)
        with self.meta.write() as conn:
            target = None
            if head is not None:
                if head.repo != repo:
                    raise InvalidArgument(
                        f"a branch of {repo!r} cannot point at a commit of {head.repo!r}",
                        ref=str(head),
                    )
                target = self._resolve(conn, head).id
            elif self.meta.get_repo(conn, repo) is None:
                raise NotFound(f"repo {repo!r} not found", repo=repo)
            b = self.meta.get_branch(conn, repo, name)
            now = time.time()
            if b is None:
                self.meta.insert_branch(conn, repo, name, target, now)
                move = self.head_moved(conn, repo, name, None, target)
            elif head is None:
                raise AlreadyExists(f"branch {repo}@{name} already exists", repo=repo, branch=name)
            elif not self.meta.move_branch(conn, repo, name, b.head, target):  # pragma: no cover
                raise Conflict(f"branch {repo}@{name} moved concurrently; try again")
            else:
                move = self.head_moved(conn, repo, name, b.head, target)
        self.journal.moves("branch", [move], repo=repo, name=name, created_at=now)
        return BranchInfo(repo, name, target)

    def list_branch(self, repo: str | None = None) -> list[BranchInfo]:
        """The branches of a repo, or (``None``) of every repo in one query."""
        with self.meta.read() as conn:
            if repo is None:
                return [BranchInfo(b.repo, b.name, b.head) for b in self.meta.list_branches(conn)]
            if self.meta.get_repo(conn, repo) is None:
                raise NotFound(f"repo {repo!r} not found", repo=repo)
            return [BranchInfo(b.repo, b.name, b.head) for b in self.meta.list_branches(conn, repo)]

    def delete_branch(self, repo: str, name: str) -> None:
        """Delete a branch pointer; its commits stay reachable by id."""
        with self.meta.write() as conn:
            b = self.meta.get_branch(conn, repo, name)
            if b is None or not self.meta.delete_branch(conn, repo, name):
                raise NotFound(f"branch {repo}@{name} not found", repo=repo, branch=name)
            move = None  # no hook: nothing reads a deleted branch
            if b.head is not None:
                move = self.meta.record_move(conn, repo, name, b.head, None, "delete", self.actor)
        self.journal.moves("branch-delete", [move], repo=repo, name=name)

    def write_lease(self, kind: str = "writer") -> Lease:
        """A lease renewed by heartbeat until released: while it lives, gc keeps every pack
        written since it started (for writers that upload objects outside a commit, such as
        pipeline workers, until the commit that uses them is finished). Release it after."""
        return Lease.open(self.meta, kind)

    # -- the branch timeline -------------------------------------------------------------------

    def branch_log(
        self,
        repo: str,
        branch: str | None = None,
        *,
        limit: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[HeadMoveInfo]:
        """Moves of a branch's head (or of every branch of ``repo``), newest first; a deleted
        branch's log stays readable."""
        check_repo_name(repo)
        with self.meta.read() as conn:
            rows = self.meta.moves(
                conn,
                repo,
                branch,
                limit=limit,
                since=since.timestamp() if since else None,
                until=until.timestamp() if until else None,
            )
        return [move_info(r) for r in rows]

    def head_at(self, repo: str, branch: str, when: datetime) -> str | None:
        """The commit ``repo@branch`` pointed at, at time ``when`` (``None``: no commit then, or
        no such branch)."""
        log = self.branch_log(repo, branch, limit=1, until=when)
        return log[0].new if log else None

    # -- commits -------------------------------------------------------------------------------

    def start_commit(self, repo: str, branch: str, **kw: Any) -> OpenCommit:
        """Open a commit on a branch (created if missing); see :class:`OpenCommit`."""
        check_repo_name(repo)
        check_branch_name(branch)
        return OpenCommit(self._parts(), repo, branch, **kw)

    def _parts(self) -> CommitParts:
        """What an open commit needs of this store (it never calls back into the store)."""
        return CommitParts(
            self.meta, self.backend, self.trees, self.head_moved, self.journal, self.stat_cache
        )

    @property
    def stat_cache(self) -> StatCache | None:
        """This machine's stat cache of local files put into this store (``None``: disabled by
        ``$JUPYTER_PIPES_STAT_CACHE=off``); opened on first use."""
        if "_stat_cache" not in self.__dict__:
            path = cache_path(self.url, self.backend.root if self.backend.is_local else None)
            self.__dict__["_stat_cache"] = StatCache(path) if path else None
        return self.__dict__["_stat_cache"]

    def list_commit(
        self, ref: Ref, *, limit: int | None = None, offset: int = 0
    ) -> list[CommitInfo]:
        """History newest first: a branch's (or commit's) ancestry, or every commit of a repo."""
        with self.meta.read() as conn:
            return self.meta.reads(conn).list_commit(ref, limit, offset)

    def list_subvenance(self, ref: Ref) -> list[CommitInfo]:
        """Commits whose provenance names this commit (downstream results)."""
        with self.meta.read() as conn:
            return self.meta.reads(conn).list_subvenance(ref)

    def revert(self, repo: str, branch: str, to: Ref, message: str | None = None) -> CommitInfo:
        """A new commit on ``branch`` whose tree equals ``to``'s (origin ``revert``).

        It also carries ``to``'s provenance: its files were computed from the same upstream
        commits, so lineage through a reverted model still reaches its training data.
        """
        if to.repo != repo:
            raise InvalidArgument(f"cannot revert {repo!r} to a commit of {to.repo!r}", ref=str(to))
        restored = self.resolve(to)
        _, root = self._root(to)
        with self.meta.read() as conn:
            if self.meta.get_branch(conn, repo, branch) is None:
                raise NotFound(f"branch {repo}@{branch} not found", repo=repo, branch=branch)
        oc = self.start_commit(
            repo,
            branch,
            message=message or f"revert to {restored.id}",
            origin="revert",
            root=root,
            restores=restored.id,
            provenance=restored.provenance,
        )
        return oc.finish()

    def squash_commit(self, ref: Ref) -> None:
        """Remove a commit from history; its children keep their full trees: nothing is lost."""
        with self.meta.write() as conn:
            row = self._resolve(conn, ref)
            self._check_removable(conn, row, "squash")
            if not self.meta.children(conn, row.id):
                raise Conflict(
                    f"commit {row.id} has no children to squash into; delete it instead",
                    commit=row.id,
                )
            self.meta.reparent_children(conn, row.id, row.parent)
            self.meta.delete_commit(conn, row.id)
            now = time.time()
        self.journal.append("squash", now, commit=row.id, parent=row.parent)

    def delete_commit(self, ref: Ref) -> None:
        """Delete a branch head with no children; the branch moves back to its parent."""
        with self.meta.write() as conn:
            row = self._resolve(conn, ref)
            self._check_removable(conn, row, "delete")
            if self.meta.children(conn, row.id):
                raise Conflict(
                    f"commit {row.id} has children; only a head can be deleted (squash it instead)",
                    commit=row.id,
                )
            moves = [
                self.head_moved(conn, b.repo, b.name, row.id, row.parent, "delete")
                for b in self.meta.branches_at(conn, row.id)
                if self.meta.move_branch(conn, b.repo, b.name, row.id, row.parent)
            ]
            self.meta.delete_commit(conn, row.id)
        self.journal.moves("commit-delete", moves, commit=row.id)

    def _check_removable(self, conn: Connection, row: CommitRow, verb: str) -> None:
        downstream = self.meta.subvenance_of(conn, row.id)
        if downstream:
            raise Conflict(
                f"cannot {verb} commit {row.id}: results in "
                + ", ".join(sorted({d.repo for d in downstream}))
                + " were computed from it",
                commit=row.id,
            )
        if verb == "squash" and self.meta.branches_at(conn, row.id):
            raise Conflict(
                f"commit {row.id} is a branch head; delete it instead of squashing", commit=row.id
            )
