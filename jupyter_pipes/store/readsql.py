"""The store's read queries, as portable SQL text, and the rules built on them: the one
definition used both through SQLAlchemy and, for the CLI's fast path, through the standard
library's ``sqlite3`` (#17).

Every statement is plain SQL with ``:name`` parameters, which SQLAlchemy's ``text()`` binds on
SQLite and PostgreSQL alike and ``sqlite3`` binds natively; a :class:`Reads` runs them through
any :data:`Run` (a function ``(sql, params) -> rows``). :class:`~.metadata.Metadata`'s read
methods and :class:`~.store.Store`'s repo, ref and history rules delegate here, so the CLI's
fast path (:mod:`.fastread`) cannot drift from the normal one. This module imports neither
SQLAlchemy nor anything that does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from ..errors import InvalidArgument, NotFound
from .names import check_repo_name
from .records import (
    BranchRow,
    CommitInfo,
    CommitRef,
    CommitRow,
    MoveRow,
    ProvenanceRow,
    RepoInfo,
    RepoRow,
    utc,
)
from .refs import Ref

Run = Callable[[str, dict[str, Any]], Sequence[Sequence[Any]]]
"""Runs one statement with named parameters in the caller's transaction; its rows."""

_BATCH = 500
_NO_LIMIT = 2**62  # ``LIMIT`` without a bound, accepted by SQLite and PostgreSQL alike
_HEX = set("0123456789abcdef")


def _cols(fields: Iterable[str], table: str = "") -> str:
    prefix = f"{table}." if table else ""
    return ", ".join(f'{prefix}"{f}"' for f in fields)


REPO = _cols(RepoRow._fields)
BRANCH = _cols(BranchRow._fields)
COMMIT = _cols(CommitRow._fields)
COMMIT_C = _cols(CommitRow._fields, "c")
PROVENANCE = _cols(ProvenanceRow._fields)
MOVE = _cols(MoveRow._fields)

_ANCESTORS = (
    "WITH RECURSIVE anc(id, parent, depth) AS ("
    " SELECT id, parent, 0 FROM commits WHERE id = :head"
    " UNION ALL"
    " SELECT c2.id, c2.parent, anc.depth + 1 FROM commits c2 JOIN anc ON c2.id = anc.parent"
    " WHERE anc.depth + 1 < :stop) "
)


def _batches(items: list[str], n: int = _BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _in(values: list[str]) -> tuple[str, dict[str, Any]]:
    """``(:p0, :p1, ...)`` and its parameters."""
    params = {f"p{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


class Reads:
    """The store's read queries over one transaction (``run``)."""

    def __init__(self, run: Run) -> None:
        self.run = run

    # -- rows ------------------------------------------------------------------------------

    def get_repo(self, name: str) -> RepoRow | None:
        rows = self.run(f"SELECT {REPO} FROM repos WHERE name = :name", {"name": name})
        return RepoRow._make(rows[0]) if rows else None

    def all_repos(self) -> list[RepoRow]:
        """Every repo's row, by name."""
        return [RepoRow._make(r) for r in self.run(f"SELECT {REPO} FROM repos ORDER BY name", {})]

    def get_branch(self, repo: str, name: str) -> BranchRow | None:
        rows = self.run(
            f"SELECT {BRANCH} FROM branches WHERE repo = :repo AND name = :name",
            {"repo": repo, "name": name},
        )
        return BranchRow._make(rows[0]) if rows else None

    def list_branches(self, repo: str | None = None) -> list[BranchRow]:
        where = "" if repo is None else " WHERE repo = :repo"
        rows = self.run(
            f"SELECT {BRANCH} FROM branches{where} ORDER BY repo, name",
            {} if repo is None else {"repo": repo},
        )
        return [BranchRow._make(r) for r in rows]

    def get_commit(self, cid: str) -> CommitRow | None:
        rows = self.run(f"SELECT {COMMIT} FROM commits WHERE id = :id", {"id": cid})
        return CommitRow._make(rows[0]) if rows else None

    def find_commits(self, repo: str, prefix: str, limit: int = 2) -> list[CommitRow]:
        """Commits of ``repo`` whose id starts with ``prefix``."""
        rows = self.run(
            f"SELECT {COMMIT} FROM commits WHERE repo = :repo"
            " AND substr(id, 1, :n) = :prefix LIMIT :limit",
            {"repo": repo, "n": len(prefix), "prefix": prefix, "limit": limit},
        )
        return [CommitRow._make(r) for r in rows]

    def global_commits(
        self, gid: str, repo: str | None = None, *, prefix: bool = False
    ) -> list[CommitRow]:
        """The commits of a global commit, of one repo or all, oldest first; ``prefix``:
        ``gid`` may be the start of the id."""
        params: dict[str, Any] = {"gid": gid}
        if prefix and len(gid) < 32:
            where = "substr(global_id, 1, :n) = :gid"
            params["n"] = len(gid)
        else:
            where = "global_id = :gid"
        if repo is not None:
            where += " AND repo = :repo"
            params["repo"] = repo
        rows = self.run(
            f"SELECT {COMMIT} FROM commits WHERE {where} ORDER BY started_at, id", params
        )
        return [CommitRow._make(r) for r in rows]

    def repo_commits(
        self, repo: str, limit: int | None, offset: int = 0, state: str | None = "finished"
    ) -> list[CommitRow]:
        """A repo's commits, newest first (only those in ``state`` unless it is ``None``)."""
        params: dict[str, Any] = {"repo": repo, "limit": _limit(limit), "offset": offset}
        where = "repo = :repo"
        if state:
            where += " AND state = :state"
            params["state"] = state
        rows = self.run(
            f"SELECT {COMMIT} FROM commits WHERE {where}"
            " ORDER BY started_at DESC, id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        return [CommitRow._make(r) for r in rows]

    def ancestry(self, head: str, limit: int | None, offset: int = 0) -> list[CommitRow]:
        """Commits from ``head`` following parents (newest first), by a recursive CTE."""
        stop = _NO_LIMIT if limit is None else offset + limit
        rows = self.run(
            _ANCESTORS + f"SELECT {COMMIT_C} FROM commits c JOIN anc ON anc.id = c.id"
            " ORDER BY anc.depth LIMIT :limit OFFSET :offset",
            {"head": head, "stop": stop, "limit": _limit(limit), "offset": offset},
        )
        return [CommitRow._make(r) for r in rows]

    def ancestor(self, cid: str, n: int) -> tuple[CommitRow | None, int]:
        """The ``n``-th first-parent ancestor of commit ``cid``, in one query (a recursive CTE):
        ``(row, n)``, or ``(None, k)`` when only ``k < n`` ancestors exist."""
        params = {"head": cid, "stop": n + 1, "n": n}
        rows = self.run(
            _ANCESTORS + f"SELECT {COMMIT_C} FROM commits c JOIN anc ON anc.id = c.id"
            " WHERE anc.depth = :n",
            params,
        )
        if rows:
            return CommitRow._make(rows[0]), n
        depth = self.run(_ANCESTORS + "SELECT max(depth) FROM anc", {"head": cid, "stop": n + 1})
        return None, (depth[0][0] if depth else 0) or 0

    def commit_sizes(self, ids: Iterable[str]) -> dict[str, int]:
        """The size of each of these commits (one query per 500)."""
        out: dict[str, int] = {}
        for batch in _batches(list(ids)):
            marks, params = _in(batch)
            for cid, size in self.run(f"SELECT id, size FROM commits WHERE id IN {marks}", params):
                out[cid] = size
        return out

    def provenance_of(self, ids: Iterable[str]) -> dict[str, list[ProvenanceRow]]:
        """The provenance rows of each of these commits, by upstream repo and id."""
        out: dict[str, list[ProvenanceRow]] = {}
        for batch in _batches(list(ids)):
            marks, params = _in(batch)
            for row in self.run(
                f'SELECT {PROVENANCE} FROM provenance WHERE "commit" IN {marks}'
                " ORDER BY upstream_repo, upstream",
                params,
            ):
                out.setdefault(row[0], []).append(ProvenanceRow._make(row))
        return out

    def subvenance_of(self, cid: str) -> list[CommitRow]:
        """Commits whose provenance names ``cid``, oldest first."""
        rows = self.run(
            f'SELECT {COMMIT_C} FROM commits c JOIN provenance p ON p."commit" = c.id'
            " WHERE p.upstream = :cid ORDER BY c.started_at",
            {"cid": cid},
        )
        return [CommitRow._make(r) for r in rows]

    def moves(
        self,
        repo: str,
        branch: str | None = None,
        *,
        until: float | None = None,
        since: float | None = None,
        limit: int | None = None,
    ) -> list[MoveRow]:
        """Head moves of a repo (or one branch), newest first."""
        where = "repo = :repo"
        params: dict[str, Any] = {"repo": repo, "limit": _limit(limit)}
        bounds = (("branch", "=", branch), ("time", "<=", until), ("time", ">=", since))
        for col, op, value in bounds:
            if value is not None:
                key = f"v{len(params)}"
                where += f' AND "{col}" {op} :{key}'
                params[key] = value
        rows = self.run(
            f"SELECT {MOVE} FROM head_moves WHERE {where}"
            ' ORDER BY "time" DESC, id DESC LIMIT :limit',
            params,
        )
        return [MoveRow(*r) for r in rows]

    # -- records ---------------------------------------------------------------------------

    def commit_infos(self, rows: Sequence[CommitRow]) -> list[CommitInfo]:
        """Records of commit rows, with their provenance (one query for all)."""
        prov = self.provenance_of([r.id for r in rows])
        return [
            CommitInfo(
                id=r.id,
                repo=r.repo,
                branch=r.branch,
                parent=r.parent,
                origin=r.origin,
                message=r.message,
                state=r.state,
                started=utc(r.started_at),  # type: ignore[arg-type]
                finished=utc(r.finished_at),
                size_bytes=r.size,
                file_count=r.file_count,
                provenance=tuple(
                    CommitRef(p.upstream_repo, p.upstream, p.upstream_branch)
                    for p in prov.get(r.id, [])
                ),
                restores=r.restores,
                global_id=r.global_id or r.id,
            )
            for r in rows
        ]

    def repo_info(self, name: str) -> RepoInfo:
        """One repo: its branches, the size of its master head (or newest commit), that head."""
        r = self.get_repo(name)
        if r is None:
            raise NotFound(f"repo {name!r} not found", repo=name)
        bs = self.list_branches(name)
        heads = {b.name: b.head for b in bs}
        head = heads.get("master")
        if head is None:
            newest = self.repo_commits(name, limit=1)
            head = newest[0].id if newest else None
        row = self.get_commit(head) if head else None
        return RepoInfo(
            name=r.name,
            description=r.description,
            created=utc(r.created_at),  # type: ignore[arg-type]
            branches=tuple(b.name for b in bs),
            size_bytes=row.size if row else 0,
            last_commit=head,
        )

    def inspect_repo(self, name: str) -> RepoInfo:
        """One repo, by a valid name (:meth:`repo_info`)."""
        check_repo_name(name)
        return self.repo_info(name)

    def list_repo(self) -> list[RepoInfo]:
        """Every repo, by name (a few queries however many repos: the DAG lists them all)."""
        rows = {r.name: r for r in self.all_repos()}
        by_repo: dict[str, list[BranchRow]] = {}
        for b in self.list_branches():
            by_repo.setdefault(b.repo, []).append(b)
        heads: dict[str, str | None] = {}
        for name in rows:
            head = next((b.head for b in by_repo.get(name, []) if b.name == "master"), None)
            if head is None:  # no master head: the newest commit, as repo_info does
                newest = self.repo_commits(name, limit=1)
                head = newest[0].id if newest else None
            heads[name] = head
        sizes = self.commit_sizes([h for h in heads.values() if h])
        return [
            RepoInfo(
                name=name,
                description=r.description,
                created=utc(r.created_at),  # type: ignore[arg-type]
                branches=tuple(b.name for b in by_repo.get(name, [])),
                size_bytes=sizes.get(heads[name] or "", 0),
                last_commit=heads[name],
            )
            for name, r in rows.items()
        ]

    def _resolve_at(self, ref: Ref) -> CommitRow:
        """The commit that was the head of a branch at ``ref.at`` (from the timeline)."""
        assert ref.at is not None
        when = ref.at.isoformat()
        moves = self.moves(ref.repo, ref.base, until=ref.at.timestamp(), limit=1)
        if not moves:
            if set(ref.base) <= _HEX and len(ref.base) >= 4:
                raise InvalidArgument(
                    f"{ref}: a time applies to a branch, not to a commit", ref=str(ref)
                )
            raise NotFound(f"{ref.repo}@{ref.base} had no commit at {when}", ref=str(ref))
        head = moves[0].new
        if head is None:
            raise NotFound(f"{ref.repo}@{ref.base} was deleted at {when}", ref=str(ref))
        row = self.get_commit(head)
        if row is None:
            raise NotFound(
                f"commit {head}, the head of {ref.repo}@{ref.base} at {when}, was deleted since",
                ref=str(ref),
                commit=head,
            )
        return row

    def resolve(self, ref: Ref) -> CommitRow:
        """The commit row a ref names (branch, commit id or unique prefix, global id,
        ``@{time}``, ``~N``/``^N``)."""
        if self.get_repo(ref.repo) is None:
            raise NotFound(f"repo {ref.repo!r} not found", repo=ref.repo)
        b = self.get_branch(ref.repo, ref.base)
        row: CommitRow | None
        if ref.at is not None:
            row = self._resolve_at(ref)
        elif b is not None:
            if b.head is None:
                raise NotFound(f"branch {ref.repo}@{ref.base} has no commits yet", ref=str(ref))
            row = self.get_commit(b.head)
        elif set(ref.base) <= _HEX and len(ref.base) >= 4:
            found = self.find_commits(ref.repo, ref.base, limit=6)
            if not found:  # repo@<global id>: the repo's commit of that global commit
                found = self.global_commits(ref.base, ref.repo, prefix=True)[:6]
            found = [r for r in found if r.state == "finished"] or found
            if not found:
                raise NotFound(
                    f"no branch or commit {ref.base!r} in repo {ref.repo!r}", ref=str(ref)
                )
            if len(found) > 1:
                raise InvalidArgument(
                    f"commit prefix {ref.base!r} is ambiguous in {ref.repo!r}: matches "
                    + ", ".join(r.id for r in found[:5]),
                    ref=str(ref),
                )
            row = found[0]
        else:
            raise NotFound(f"no branch or commit {ref.base!r} in repo {ref.repo!r}", ref=str(ref))
        assert row is not None  # a branch head is a commit
        if ref.ancestors:  # ~N / ^N: one recursive query however far back
            older, depth = self.ancestor(row.id, ref.ancestors)
            if older is None:
                raise NotFound(f"{ref.repo}@{ref.base} has only {depth} ancestor(s)", ref=str(ref))
            row = older
        return row

    def inspect_commit(self, ref: Ref) -> CommitInfo:
        """The commit a ref names, with its provenance."""
        return self.commit_infos([self.resolve(ref)])[0]

    def list_subvenance(self, ref: Ref) -> list[CommitInfo]:
        """Commits whose provenance names the commit ``ref`` names (downstream results)."""
        return self.commit_infos(self.subvenance_of(self.resolve(ref).id))

    def list_commit(self, ref: Ref, limit: int | None = None, offset: int = 0) -> list[CommitInfo]:
        """History newest first: a branch's (or commit's) ancestry, or every commit of a repo."""
        if not ref.explicit:
            if self.get_repo(ref.repo) is None:
                raise NotFound(f"repo {ref.repo!r} not found", repo=ref.repo)
            rows = self.repo_commits(ref.repo, limit, offset)
        else:
            b = self.get_branch(ref.repo, ref.base)
            if b is not None and b.head is None and not ref.ancestors and ref.at is None:
                return []
            rows = self.ancestry(self.resolve(ref).id, limit, offset)
        return self.commit_infos(rows)


def _limit(limit: int | None) -> int:
    return _NO_LIMIT if limit is None else limit
