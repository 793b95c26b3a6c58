"""Global commits (Pachyderm 2.x commit sets): one change and every output commit it caused.

A commit's ``global_id`` is its own id for a change a user made, and the id of the change for
the output commits of the jobs it caused (the pipeline layer passes it when it commits them).
This module reads a global commit's commits and deletes or squashes them all at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from ..errors import Conflict, InvalidArgument, NotFound
from .records import CommitInfo, CommitRow
from .txn import Txn

if TYPE_CHECKING:
    from .store import Store


def _global_rows(store: Store, conn: Connection, gid: str) -> tuple[str, list[CommitRow]]:
    rows = store.meta.global_commits(conn, gid, prefix=True)
    ids = {r.global_id or r.id for r in rows}
    if len(ids) > 1:
        raise InvalidArgument(
            f"global commit prefix {gid!r} is ambiguous: matches " + ", ".join(sorted(ids)[:5]),
            commit=gid,
        )
    return (ids.pop() if ids else gid), rows


def global_commit(store: Store, gid: str) -> tuple[str, list[CommitInfo]]:
    """The full id and the commits of a global commit (a unique prefix is enough), oldest
    first; no commits: the id as given and ``[]``."""
    with store.meta.read() as conn:
        full, rows = _global_rows(store, conn, gid)
        return full, store.meta.commit_infos(conn, rows)


def drop_global_commit(
    store: Store,
    gid: str,
    *,
    squash: bool = False,
    check: Callable[[Txn, str, list[CommitInfo]], None] | None = None,
) -> list[CommitInfo]:
    """Delete (or ``squash``) every commit of a global commit, in one transaction.

    Deleting needs each commit to be a head without children; the branches move back to
    the parents, and the moves start no new jobs (everything downstream of the change
    goes back with it). Squashing needs each to have children and not be a head; the
    children keep their full trees. Refused when commits outside the global commit were
    computed from it (drop those first). ``check(txn, full id, commits)`` may refuse too
    (by raising) or do its own part in the same transaction.
    """
    with store.meta.write() as conn:
        full, rows = _global_rows(store, conn, gid)
        if not rows:
            raise NotFound(f"global commit {gid!r} not found", commit=gid)
        ids = {r.id for r in rows}
        outside = sorted(
            {f"{d.repo}@{d.id}" for r in rows for d in store.meta.subvenance_of(conn, r.id)}
            - {f"{r.repo}@{r.id}" for r in rows}
        )
        verb = "squash" if squash else "delete"
        if outside:
            raise Conflict(
                f"cannot {verb} global commit {full}: {', '.join(outside[:5])} "
                f"{'was' if len(outside) == 1 else 'were'} computed from it; "
                f"{verb} {'that' if len(outside) == 1 else 'those'} first",
                commit=full,
                downstream=outside,
            )
        for r in rows:
            if r.state != "finished":
                raise Conflict(f"commit {r.repo}@{r.id} is still open", commit=r.id)
            kids = [c for c in store.meta.children(conn, r.id) if c.id not in ids]
            if squash and (not kids or store.meta.branches_at(conn, r.id)):
                raise Conflict(
                    f"cannot squash global commit {full}: {r.repo}@{r.id} is a branch "
                    "head; delete the global commit instead",
                    commit=full,
                )
            if not squash and kids:
                raise Conflict(
                    f"cannot delete global commit {full}: {r.repo}@{r.id} has children "
                    "(only the newest changes can be deleted; squash it instead)",
                    commit=full,
                )
        infos = store.meta.commit_infos(conn, rows)
        if check is not None:
            check(Txn(store.meta, conn), full, infos)
        moves: dict[str, list[Any]] = {}
        for r in rows:
            if squash:
                store.meta.reparent_children(conn, r.id, r.parent)
            else:
                moves[r.id] = [
                    store.head_moved(conn, b.repo, b.name, r.id, r.parent, "global-delete", full)
                    for b in store.meta.branches_at(conn, r.id)
                    if store.meta.move_branch(conn, b.repo, b.name, r.id, r.parent)
                ]
        for r in rows:
            store.meta.delete_commit(conn, r.id)
        now = time.time()
    for r in rows:  # the object journal, as squash_commit and delete_commit write it
        if squash:
            store.journal.append("squash", now, commit=r.id, parent=r.parent)
        else:
            store.journal.moves("commit-delete", moves[r.id], commit=r.id)
    return infos
