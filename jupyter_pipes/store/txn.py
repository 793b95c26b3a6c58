"""Typed metadata transactions, as the layer above the store sees them.

The store moves branch heads inside one metadata transaction and tells its *head hooks* in that
same transaction, so whatever a hook writes (the pipeline layer's jobs) commits or rolls back
with the move. A hook receives a :class:`Txn` (and a :class:`HeadMove`), not a raw SQLAlchemy
connection: what it may read of the store (branch heads, commits, whether a repo exists) and
write through it (blobs its workers stored) are methods here. Its own tables — the pipeline
layer keeps pipelines, jobs and datums in the store's database — it writes through
:attr:`Txn.connection`, which never touches a store table.

:func:`write` and :func:`read` open such transactions outside a head move (the controller
records a failed job's datum results and their blobs in one).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..errors import AlreadyExists

if TYPE_CHECKING:
    from .datum_io import WrittenBlobs
    from .metadata import Metadata
    from .records import CommitInfo
    from .store import Store

MoveCause = Literal["commit", "pipeline", "revert", "branch", "delete", "global-delete"]
"""Why a head moved (as the branch timeline records it): a new commit finished on it — a user's
(``commit``), a job's output (``pipeline``, origin ``auto``) or a ``revert`` —, a branch was
created or pointed elsewhere, ``delete_commit`` moved it back to the parent, or a whole global
commit was deleted (its downstream heads move back with it, so nothing needs re-running)."""

NEW_COMMIT: tuple[str, ...] = ("commit", "pipeline", "revert")
"""The causes of a move onto a newly finished commit."""


def new_global_id() -> str:
    """A fresh global commit id (32 hex digits, like a commit id)."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class HeadMove:
    """A branch head that moved: what a head hook is told.

    Attributes
    ----------
    repo, branch:
        The branch.
    old, new:
        Its head before and after (``None``: no commit).
    cause:
        See :data:`MoveCause`.
    global_id:
        The global commit this move belongs to: the new commit's global id for ``commit``, a
        fresh id for a branch move or a deleted head (each starts a global commit of its own).
    """

    repo: str
    branch: str
    old: str | None
    new: str | None
    cause: MoveCause = "commit"
    global_id: str = ""


class Txn:
    """One open metadata transaction of a store.

    Parameters
    ----------
    meta:
        The store's metadata.
    conn:
        The transaction's connection (owned by whoever opened the transaction).
    """

    def __init__(self, meta: Metadata, conn: Connection) -> None:
        self._meta = meta
        self._conn = conn
        self.created_repos: list[tuple[str, str, float]] = []
        """(name, description, time) of the repos made in this transaction: whoever commits it
        writes them to the object journal afterwards."""

    @property
    def connection(self) -> Connection:
        """The connection, for the caller's *own* tables in the same transaction (the store's
        tables are read and written only through the methods of this class)."""
        return self._conn

    def repo_exists(self, name: str) -> bool:
        """Whether repo ``name`` exists."""
        return self._meta.get_repo(self._conn, name) is not None

    def create_repo(self, name: str, description: str, *, must_be_new: bool = False) -> None:
        """Create an empty repo (with ``master``) in this transaction, unless it exists
        (``must_be_new``: then ``AlreadyExists``, also when another transaction creates it at
        the same time)."""
        if self._meta.get_repo(self._conn, name) is not None:
            if must_be_new:
                raise AlreadyExists(f"repo {name!r} already exists", repo=name)
            return
        now = time.time()
        try:
            self._meta.insert_repo(self._conn, name, description, now)
        except sa.exc.IntegrityError:  # created concurrently (PostgreSQL): roll it all back
            raise AlreadyExists(f"repo {name!r} already exists", repo=name) from None
        self.created_repos.append((name, description, now))

    def branch_head(self, repo: str, branch: str) -> str | None:
        """The head commit of ``repo@branch`` (``None``: no commit yet, or no such branch)."""
        b = self._meta.get_branch(self._conn, repo, branch)
        return b.head if b is not None else None

    def commit(self, cid: str) -> CommitInfo | None:
        """The commit with exactly this id, or ``None``."""
        row = self._meta.get_commit(self._conn, cid)
        return None if row is None else self._meta.commit_infos(self._conn, [row])[0]

    def change_marker(self) -> tuple[object, ...]:
        """A cheap value that changes whenever a repo or branch is created or deleted (head
        moves go to the head hooks)."""
        return self._meta.change_marker(self._conn)

    def record_blobs(self, written: WrittenBlobs) -> None:
        """Add blobs that workers stored (datum outputs, executed notebooks, logs) to the
        store's chunk index, so deduplication and ``gc`` know them."""
        self._meta.record_blobs(self._conn, dict(written.blobs), dict(written.packs))


HeadHook = Callable[[Txn, HeadMove], None]
"""Called inside the transaction that moves a branch head (raising rolls the move back)."""


@contextlib.contextmanager
def write(store: Store) -> Iterator[Txn]:
    """A write transaction of ``store`` (committed when the block ends, rolled back if it
    raises)."""
    with store.meta.write() as conn:
        yield Txn(store.meta, conn)


@contextlib.contextmanager
def read(store: Store) -> Iterator[Txn]:
    """A read transaction of ``store`` (a consistent snapshot)."""
    with store.meta.read() as conn:
        yield Txn(store.meta, conn)
