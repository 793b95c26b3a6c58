"""The object journal: the metadata's history, also written to the object store.

The SQL database is an index, not the only copy. After each metadata transaction that changes
repos, branches or commits, the store appends one small JSON object under ``journal/``: a repo
made or deleted, a branch made, moved or deleted, a commit finished (its whole record: repo,
branch, parent, origin, message, times, root tree, provenance) with the head move it made, a
commit deleted or squashed. Keys sort by the time recorded inside the transaction
(``journal/<µs since epoch, 16 hex>-<random>``); every object carries ``"v": 1`` (its format).

:func:`replay` rebuilds repos, branches, commits, provenance and the branch timeline from the
journal alone (``jupyter pipes fsck --rebuild-metadata``); the chunk index is rebuilt by walking
the commits' trees. A store upgraded from before the journal gets a ``snapshot`` event of its
whole metadata at the upgrade. gc folds older event files into compressed ``segment-``
objects (:meth:`Journal.fold`); readers merge segments and files by key.

Writers on several hosts order events by their clocks: keep them synchronised (NTP), as for
any distributed log. An append that fails is logged, not raised: the transaction has already
made the change, and ``fsck`` reports commits missing from the journal.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Row

from ..errors import PipesError
from .backend import Backend
from .records import CommitRow, MoveRow, ProvenanceRow

PREFIX = "journal"
FORMAT = 1
SEGMENT = "segment-"
"""Key prefix (under ``journal/``) of a folded segment: many events in one object (#17)."""
SEGMENT_FORMAT = 1
_SNAPSHOT_PART = 2000
log = logging.getLogger(__name__)


def row_dict(
    row: Row[Any] | CommitRow | ProvenanceRow | MoveRow | None,
) -> dict[str, Any] | None:
    """A metadata row as a plain dict (every column, so columns added later travel too)."""
    return None if row is None else dict(row._asdict())


class Journal:
    """Appends events to, and reads them back from, ``journal/`` of one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def append(self, kind: str, at: float | None = None, **fields: Any) -> str | None:
        """Write one event (``at``: its time, as recorded in the transaction); its key."""
        at = time.time() if at is None else at
        event = {"v": FORMAT, "type": kind, "time": at, **fields}
        key = f"{PREFIX}/{int(at * 1e6):016x}-{uuid.uuid4().hex[:12]}"
        try:
            self.backend.put(key, json.dumps(event, separators=(",", ":"), default=str).encode())
        except PipesError:
            log.warning("could not write journal event %s (%s)", key, kind, exc_info=True)
            return None
        return key

    # -- what the store writes -----------------------------------------------------------------

    def commit(
        self, row: CommitRow, provenance: Sequence[ProvenanceRow], move: MoveRow | None
    ) -> None:
        """A finished commit and the head move it made."""
        record = row_dict(row)
        assert record is not None
        record["provenance"] = [
            [p.upstream_repo, p.upstream, p.upstream_branch] for p in provenance
        ]
        at = move.time if move is not None else record.get("finished_at")
        self.append("commit", at, commit=record, move=row_dict(move))

    def moves(self, kind: str, moves: Iterable[MoveRow | None], **fields: Any) -> None:
        """An event carrying head moves (``branch``, ``move``, ``branch-delete``,
        ``commit-delete``, ``repo-delete``)."""
        rows = [m for m in moves if m is not None]
        at = max((m.time for m in rows), default=None)
        self.append(kind, at, moves=[row_dict(m) for m in rows], **fields)

    def snapshot(self, meta: Any) -> int:
        """Write the whole metadata (repos, branches, commits, provenance, head moves) as
        ``snapshot`` events; how many. For stores that existed before the journal."""
        with meta.read() as conn:
            repos = [row_dict(r) for r in meta.all_rows(conn, "repos")]
            branches = [row_dict(r) for r in meta.all_rows(conn, "branches")]
            commits = [row_dict(r) for r in meta.all_rows(conn, "commits") if r.state == "finished"]
            prov = meta.provenance_of(conn, [c["id"] for c in commits])  # type: ignore[index]
            moves = [row_dict(r) for r in meta.all_rows(conn, "head_moves")]
        for c in commits:
            assert c is not None
            c["provenance"] = [
                [p.upstream_repo, p.upstream, p.upstream_branch] for p in prov.get(c["id"], [])
            ]
        at = time.time()
        parts = max(1, -(-max(len(commits), len(moves)) // _SNAPSHOT_PART))
        for i in range(parts):
            sl = slice(i * _SNAPSHOT_PART, (i + 1) * _SNAPSHOT_PART)
            self.append(
                "snapshot",
                at,
                part=i,
                parts=parts,
                repos=repos if i == 0 else [],
                branches=branches if i == 0 else [],
                commits=commits[sl],
                moves=moves[sl],
            )
        return parts

    # -- reading -------------------------------------------------------------------------------

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event, in order (of their keys: folded events keep theirs, and an event both
        folded and still a file of its own — a fold interrupted before its deletes — counts
        once)."""
        loose: list[str] = []
        folded: dict[str, dict[str, Any]] = {}
        for s in self.backend.list(PREFIX):
            if _is_segment(s.key):
                folded.update(self._segment(s.key))
            else:
                loose.append(s.key)
        if not folded:  # the common case: stream the files one by one
            for key in sorted(loose):
                yield json.loads(self.backend.get(key))
            return
        for key in sorted(set(loose) | folded.keys()):
            ev = folded.get(key)
            yield ev if ev is not None else json.loads(self.backend.get(key))

    def _segment(self, key: str) -> dict[str, dict[str, Any]]:
        try:
            seg = json.loads(zlib.decompress(self.backend.get(key)))
        except (zlib.error, ValueError) as exc:
            raise PipesError(f"journal segment {key} is damaged ({exc})") from exc
        if seg.get("v") != SEGMENT_FORMAT:
            raise PipesError(f"journal segment {key} of unknown format {seg.get('v')!r}")
        return {k: ev for k, ev in seg["events"]}

    def fold(self, before: float, minimum: int = 2) -> int:
        """Fold the event files written before ``before`` into one compressed segment object;
        how many were folded (0 when fewer than ``minimum``).

        A file costs at least one block of a file system (and a request of an object store)
        for a few hundred bytes: a store of 10,000 one-file commits had 10,000 event files.
        The segment is written (atomically) before the files are deleted, and readers count an
        event found in both once, so a crash at any point loses nothing. Only gc calls this
        (it runs alone), so two folds never race.
        """
        limit = f"{PREFIX}/{int(before * 1e6):016x}"
        keys = sorted(
            s.key for s in self.backend.list(PREFIX) if not _is_segment(s.key) and s.key < limit
        )
        if len(keys) < max(1, minimum):
            return 0
        events = [[k, json.loads(self.backend.get(k))] for k in keys]
        body = {"v": SEGMENT_FORMAT, "events": events}
        data = zlib.compress(json.dumps(body, separators=(",", ":"), default=str).encode(), 6)
        last = keys[-1].rsplit("/", 1)[-1]
        self.backend.put(f"{PREFIX}/{SEGMENT}{last}-{uuid.uuid4().hex[:12]}", data)
        for k in keys:
            self.backend.delete(k)
        return len(keys)

    def empty(self) -> bool:
        """True when no event was ever written."""
        return next(iter(self.backend.list(PREFIX)), None) is None


def _is_segment(key: str) -> bool:
    return key.rsplit("/", 1)[-1].startswith(SEGMENT)


@dataclass
class Replayed:
    """The metadata the journal describes."""

    repos: dict[str, dict[str, Any]] = field(default_factory=dict)
    branches: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    commits: dict[str, dict[str, Any]] = field(default_factory=dict)
    moves: list[dict[str, Any]] = field(default_factory=list)
    events: int = 0


def replay(events: Iterable[dict[str, Any]]) -> Replayed:
    """Fold the journal's events into the metadata they describe."""
    out = Replayed()
    for ev in events:
        if ev.get("v") != FORMAT:
            raise PipesError(f"journal event of unknown format {ev.get('v')!r}")
        out.events += 1
        kind = ev["type"]
        if kind == "snapshot":
            for r in ev["repos"]:
                out.repos[r["name"]] = r
            for b in ev["branches"]:
                out.branches[(b["repo"], b["name"])] = b
            for c in ev["commits"]:
                out.commits[c["id"]] = c
            out.moves += ev["moves"]
        elif kind == "repo":
            out.repos[ev["name"]] = {
                "name": ev["name"],
                "description": ev["description"],
                "created_at": ev["created_at"],
            }
            out.branches[(ev["name"], "master")] = {
                "repo": ev["name"],
                "name": "master",
                "head": None,
                "created_at": ev["created_at"],
            }
        elif kind == "repo-delete":
            name = ev["name"]
            out.repos.pop(name, None)
            out.branches = {k: v for k, v in out.branches.items() if k[0] != name}
            out.commits = {k: v for k, v in out.commits.items() if v["repo"] != name}
            out.moves += ev["moves"]
        elif kind == "branch":
            key = (ev["repo"], ev["name"])
            out.branches.setdefault(
                key,
                {"repo": key[0], "name": key[1], "head": None, "created_at": ev["created_at"]},
            )
            _apply_moves(out, ev["moves"])
        elif kind == "branch-delete":
            out.branches.pop((ev["repo"], ev["name"]), None)
            out.moves += ev["moves"]
        elif kind == "commit":
            c = ev["commit"]
            out.commits[c["id"]] = c
            if ev.get("move"):
                _apply_moves(out, [ev["move"]], created_at=c["finished_at"])
        elif kind == "commit-delete":
            out.commits.pop(ev["commit"], None)
            _apply_moves(out, ev["moves"])
        elif kind == "squash":
            gone = out.commits.pop(ev["commit"], None)
            for c in out.commits.values():
                if c["parent"] == ev["commit"]:
                    c["parent"] = ev["parent"] if gone is None else gone["parent"]
        else:
            raise PipesError(f"journal event of unknown type {kind!r}")
    return out


def _apply_moves(
    out: Replayed, moves: list[dict[str, Any]], created_at: float | None = None
) -> None:
    for m in moves:
        key = (m["repo"], m["branch"])
        b = out.branches.get(key)
        if b is None:
            b = out.branches[key] = {
                "repo": key[0],
                "name": key[1],
                "head": None,
                "created_at": created_at if created_at is not None else m["time"],
            }
        b["head"] = m["new"]
        out.moves.append(m)
