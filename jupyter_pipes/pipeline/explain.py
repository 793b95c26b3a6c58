""" "Why did it change": compare two versions of one result through their lineages.

:func:`explain` takes two file refs (``predict@<a>:/batch-01.predictions.csv`` and the same path
at ``<b>``) or two commit refs (``model@<a>``, ``model@<b>``). For files it walks both lineages
(:mod:`.lineage`) and compares the datum steps that wrote them; for commits it compares the jobs
that made them. At each step it reports only what differs:

* ``result``: the two versions themselves (for tables: rows added and removed, columns);
* ``parameters``, ``notebook`` (code cells), ``spec`` (other fields) of the pipeline;
* ``upstream``: an input read from another pipeline's output at a different commit with different
  files (an upstream model); the comparison then continues one step up;
* ``file``: an input data file added, removed or changed (tables: rows and columns), with the
  user commits that wrote each version.

What is the same is collapsed into one line each in :attr:`Explanation.unchanged`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from ..errors import InvalidArgument, NotFound
from ..store.records import CommitInfo, _Record
from ..store.refs import parse_ref
from .diffs import CellDiff, FieldDiff, TableDiff, field_diff, is_table, notebook_diff, table_diff
from .lineage import Lineage, LineageCommit, LineageFile, LineageStep, LineageWalker
from .manager import NOTEBOOK_FILE

if TYPE_CHECKING:
    from ..store.store import Store
    from .manager import Pipelines

Kind = Literal["result", "upstream", "file", "notebook", "parameters", "spec", "pipeline"]
MAX_FILE_ITEMS = 50
"""Changed data files reported one by one per input (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class PathChange(_Record):
    """A path added, removed or modified."""

    path: str
    change: Literal["added", "removed", "modified"]


@dataclass(frozen=True, slots=True)
class Difference(_Record):
    """One thing that differs between the two lineages."""

    kind: Kind
    summary: str
    """One line for a human."""
    depth: int = 0
    """Steps upstream of the compared results (0: the results and the step that made them)."""
    pipeline: str | None = None
    """The pipeline whose step this belongs to."""
    input: str | None = None
    """The input name (``upstream`` and ``file``)."""
    repo: str | None = None
    path: str | None = None
    change: str = "modified"
    old_commit: str | None = None
    new_commit: str | None = None
    old_hash: str | None = None
    new_hash: str | None = None
    old_writer: LineageCommit | None = None
    """For a data file: the user commit that wrote the old version (who, when, message)."""
    new_writer: LineageCommit | None = None
    old_step: str | None = None
    """``job/datum`` of the old side's step (for links)."""
    new_step: str | None = None
    table: TableDiff | None = None
    cells: tuple[CellDiff, ...] = ()
    fields: tuple[FieldDiff, ...] = ()
    files: tuple[PathChange, ...] = ()
    """``result`` and ``upstream``: the paths that differ."""
    more_files: int = 0


class _SpecSides(TypedDict):  # what the spec Differences of one pipeline share
    pipeline: str
    depth: int
    old_commit: str
    new_commit: str


@dataclass(frozen=True, slots=True)
class Explanation(_Record):
    """Why two versions of a result differ: only what differs, the rest collapsed."""

    old: str
    """``repo@commit:path`` (or ``repo@commit``) of the old version, the id resolved."""
    new: str
    same_content: bool
    """True when the two versions hold the same bytes (their lineages may still differ)."""
    differences: tuple[Difference, ...] = ()
    unchanged: tuple[str, ...] = ()
    old_global_id: str | None = None
    new_global_id: str | None = None

    def kinds(self) -> list[tuple[str, str | None, str | None]]:
        """``(kind, repo, path)`` of every difference (what tests and scripts check)."""
        return [(d.kind, d.repo, d.path) for d in self.differences]


def _short(cid: str | None) -> str:
    return (cid or "-")[:8]


class _Explainer:
    def __init__(self, store: Store, pipelines: Pipelines) -> None:
        self.store = store
        self.walker = LineageWalker(store, pipelines, cells=False)
        self.diffs: list[Difference] = []
        self.same: list[str] = []
        self._seen: set[tuple[str, str]] = set()
        self._files: set[tuple[str, str, str | None, str | None]] = set()

    # -- shared ------------------------------------------------------------------------------

    def bytes_at(self, repo: str, commit: str, path: str, size: int) -> bytes | None:
        from .diffs import MAX_TABLE_BYTES

        if size > MAX_TABLE_BYTES:
            return b"\0" * (MAX_TABLE_BYTES + 1)  # compared by hash only
        try:
            data = self.store.get_file(parse_ref(f"{repo}@{commit}"), path)
        except NotFound:
            return None
        return data if isinstance(data, bytes) else None

    def table(self, repo: str, path: str, old: LineageFile | None, new: LineageFile | None) -> Any:
        if not is_table(path):
            return None
        a = self.bytes_at(repo, old.commit, path, old.size_bytes) if old else None
        b = self.bytes_at(repo, new.commit, path, new.size_bytes) if new else None
        return table_diff(path, a, b)

    def compare_spec(
        self, pipeline: str, a: tuple[str | None, int], b: tuple[str | None, int], depth: int
    ) -> None:
        """Parameters, notebook code cells and other spec fields of two spec commits."""
        (ca, va), (cb, vb) = a, b
        if ca == cb or ca is None or cb is None:
            self.same.append(f"{pipeline}: spec and notebook version {va} ({_short(ca)})")
            return
        da, ha = self.walker.spec(ca, pipeline)
        db, hb = self.walker.spec(cb, pipeline)
        common = _SpecSides(pipeline=pipeline, depth=depth, old_commit=ca, new_commit=cb)
        found = False
        params = field_diff(
            (da.get("transform") or {}).get("parameters") or {},
            (db.get("transform") or {}).get("parameters") or {},
        )
        if params:
            found = True
            names = ", ".join(f.field for f in params)
            self.diffs.append(
                Difference(
                    "parameters", f"{pipeline}: parameters {names}", fields=tuple(params), **common
                )
            )
        if ha != hb and ha is not None and hb is not None:
            cells = self._notebook_cells(pipeline, ca, cb)
            if cells:
                found = True
                self.diffs.append(
                    Difference(
                        "notebook",
                        f"{pipeline}: {len(cells)} code cell(s) differ "
                        f"(notebook version {va} → {vb})",
                        cells=tuple(cells),
                        old_hash=ha,
                        new_hash=hb,
                        **common,
                    )
                )
            else:
                self.same.append(f"{pipeline}: notebook code (only outputs or text differ)")
        fields = field_diff(da, db, skip=("transform.parameters",))
        if fields:
            found = True
            names = ", ".join(f.field for f in fields[:6]) + (" ..." if len(fields) > 6 else "")
            self.diffs.append(
                Difference(
                    "spec", f"{pipeline}: spec fields {names}", fields=tuple(fields), **common
                )
            )
        if not found:
            self.same.append(
                f"{pipeline}: spec and notebook (versions {va} and {vb} hold the same content)"
            )

    def _notebook_cells(self, pipeline: str, ca: str, cb: str) -> list[CellDiff]:
        try:
            a = self.store.get_file(parse_ref(f"{pipeline}@{ca}"), NOTEBOOK_FILE)
            b = self.store.get_file(parse_ref(f"{pipeline}@{cb}"), NOTEBOOK_FILE)
            return notebook_diff(a, b)
        except (NotFound, ValueError):
            return []

    # -- files: compare datum steps ----------------------------------------------------------

    def steps(self, la: Lineage, lb: Lineage, sa: LineageStep, sb: LineageStep, depth: int) -> None:
        if (sa.key, sb.key) in self._seen:
            return
        self._seen.add((sa.key, sb.key))
        if sa.key == sb.key:
            self.same.append(f"{sa.pipeline}: the same datum run (job {_short(sa.job)})")
            return
        if sa.pipeline != sb.pipeline:
            self.diffs.append(
                Difference(
                    "pipeline",
                    f"written by pipeline {sa.pipeline}, then by {sb.pipeline}",
                    depth=depth,
                    old_step=sa.key,
                    new_step=sb.key,
                )
            )
            return
        self.compare_spec(
            sa.pipeline, (sa.spec_commit, sa.version), (sb.spec_commit, sb.version), depth
        )
        names = list(dict.fromkeys([i.name for i in sa.inputs] + [i.name for i in sb.inputs]))
        for name in names:
            self.step_input(la, lb, sa, sb, name, depth)

    def step_input(
        self, la: Lineage, lb: Lineage, sa: LineageStep, sb: LineageStep, name: str, depth: int
    ) -> None:
        ia = [i for i in sa.inputs if i.name == name]
        ib = [i for i in sb.inputs if i.name == name]
        fa = {(f.repo, f.path): f for i in ia for f in map(la.file, i.files)}
        fb = {(f.repo, f.path): f for i in ib for f in map(lb.file, i.files)}
        repo = (ia or ib)[0].repo
        ca = next((i.commit for i in ia if i.commit), None)
        cb = next((i.commit for i in ib if i.commit), None)
        changed = [
            (k, fa.get(k), fb.get(k))
            for k in sorted(set(fa) | set(fb))
            if (fa[k].hash if k in fa else None) != (fb[k].hash if k in fb else None)
        ]
        produced = any(f.written_by for f in [*fa.values(), *fb.values()])
        if not changed:
            what = f"{len(fa)} file(s)" if len(fa) != 1 else next(iter(fa))[1]
            where = (
                f"{repo}@{_short(ca)}"
                if ca == cb
                else f"{repo}@{_short(ca)} and {repo}@{_short(cb)}"
            )
            self.same.append(f"{sa.pipeline} input {name}: {what}, the same at {where}")
            return
        if produced:
            files = tuple(PathChange(k[1], _change(a, b)) for k, a, b in changed)
            self.diffs.append(
                Difference(
                    "upstream",
                    f"{sa.pipeline} input {name}: {_commit_text(la, repo, ca)} → "
                    f"{_commit_text(lb, repo, cb)} ({len(files)} file(s) differ)",
                    depth=depth,
                    pipeline=sa.pipeline,
                    input=name,
                    repo=repo,
                    change="modified",
                    old_commit=ca,
                    new_commit=cb,
                    files=files,
                    old_step=sa.key,
                    new_step=sb.key,
                )
            )
            pairs = {
                (a.written_by, b.written_by)
                for _, a, b in changed
                if a and b and a.written_by and b.written_by
            }
            for ka, kb in sorted(pairs):
                self.steps(la, lb, la.step(ka), lb.step(kb), depth + 1)
            for _, a, b in changed:
                if a is None or b is None:
                    self.data_file(la, lb, sa.pipeline, name, a, b, depth + 1)
            return
        for _, a, b in changed[:MAX_FILE_ITEMS]:
            self.data_file(la, lb, sa.pipeline, name, a, b, depth)
        if len(changed) > MAX_FILE_ITEMS:
            self.same.append(
                f"... and {len(changed) - MAX_FILE_ITEMS} more changed files of {repo}"
            )
        same = len(fa.keys() & fb.keys()) - sum(1 for _, a, b in changed if a and b)
        if same:
            self.same.append(f"{sa.pipeline} input {name}: {same} other file(s) of {repo} the same")

    def data_file(
        self,
        la: Lineage,
        lb: Lineage,
        pipeline: str,
        name: str,
        a: LineageFile | None,
        b: LineageFile | None,
        depth: int,
    ) -> None:
        one = a or b
        assert one is not None
        seen = (one.repo, one.path, a.hash if a else None, b.hash if b else None)
        if seen in self._files:
            return  # met again on another path of a diamond: listed once
        self._files.add(seen)
        change = _change(a, b)
        table = self.table(one.repo, one.path, a, b)
        rows = _rows_text(table)
        self.diffs.append(
            Difference(
                "file",
                f"{pipeline} input {name}: {one.repo}:{one.path} {change}{rows}",
                depth=depth,
                pipeline=pipeline,
                input=name,
                repo=one.repo,
                path=one.path,
                change=change,
                old_commit=a.commit if a else None,
                new_commit=b.commit if b else None,
                old_hash=a.hash if a else None,
                new_hash=b.hash if b else None,
                old_writer=_writer(la, a),
                new_writer=_writer(lb, b),
                table=table,
            )
        )

    # -- commits: compare jobs ---------------------------------------------------------------

    def source(self, c: CommitInfo) -> CommitInfo:
        hops = 0
        while c.origin == "revert" and c.restores and hops < 64:
            c, hops = self.walker.commit(c.restores), hops + 1
        return c

    def jobs(self, ja: str, jb: str, depth: int) -> None:
        if (ja, jb) in self._seen:
            return
        self._seen.add((ja, jb))
        a, b = self.walker.job(ja), self.walker.job(jb)
        if ja == jb:
            self.same.append(f"{a.pipeline}: the same job ({_short(ja)})")
            return
        if a.pipeline != b.pipeline:
            self.diffs.append(
                Difference(
                    "pipeline", f"made by pipeline {a.pipeline}, then by {b.pipeline}", depth=depth
                )
            )
            return
        self.compare_spec(a.pipeline, (a.spec_commit, a.version), (b.spec_commit, b.version), depth)
        ins_a = {(r.repo, r.branch): r.id for r in a.inputs}
        ins_b = {(r.repo, r.branch): r.id for r in b.inputs}
        for key in sorted(set(ins_a) | set(ins_b), key=str):
            self.job_input(a.pipeline, key[0], ins_a.get(key), ins_b.get(key), depth)

    def job_input(
        self, pipeline: str, repo: str, ca: str | None, cb: str | None, depth: int
    ) -> None:
        if ca == cb:
            self.same.append(f"{pipeline} input {repo}: the same commit {repo}@{_short(ca)}")
            return
        if ca is None or cb is None:
            self.diffs.append(
                Difference(
                    "spec",
                    f"{pipeline}: input {repo} {'added' if ca is None else 'removed'}",
                    depth=depth,
                    pipeline=pipeline,
                    repo=repo,
                    old_commit=ca,
                    new_commit=cb,
                )
            )
            return
        entries = [
            e
            for e in self.store.diff_file(parse_ref(f"{repo}@{cb}"), parse_ref(f"{repo}@{ca}"))
            if (f := e.new or e.old) is not None and f.type == "file"
        ]
        if not entries:
            self.same.append(
                f"{pipeline} input {repo}: the same files at {repo}@{_short(ca)} and "
                f"{repo}@{_short(cb)}"
            )
            return
        sa, sb = self.source(self.walker.commit(ca)), self.source(self.walker.commit(cb))
        ja, jb = self.walker.job_of_output(sa.id), self.walker.job_of_output(sb.id)
        if ja and jb:
            files = tuple(PathChange(e.path, e.change) for e in entries)
            self.diffs.append(
                Difference(
                    "upstream",
                    f"{pipeline} input {repo}: {repo}@{_short(ca)} → "
                    f"{repo}@{_short(cb)} ({len(files)} file(s) differ)",
                    depth=depth,
                    pipeline=pipeline,
                    input=repo,
                    repo=repo,
                    old_commit=ca,
                    new_commit=cb,
                    files=files,
                )
            )
            self.jobs(ja, jb, depth + 1)
            return
        for e in entries[:MAX_FILE_ITEMS]:
            a = _as_file(repo, ca, e.old)
            b = _as_file(repo, cb, e.new)
            table = self.table(repo, e.path, a, b)
            self.diffs.append(
                Difference(
                    "file",
                    f"{pipeline} input {repo}: {repo}:{e.path} {e.change}{_rows_text(table)}",
                    depth=depth,
                    pipeline=pipeline,
                    input=repo,
                    repo=repo,
                    path=e.path,
                    change=e.change,
                    old_commit=ca,
                    new_commit=cb,
                    old_hash=a.hash if a else None,
                    new_hash=b.hash if b else None,
                    table=table,
                )
            )
        if len(entries) > MAX_FILE_ITEMS:
            self.same.append(
                f"... and {len(entries) - MAX_FILE_ITEMS} more changed files of {repo}"
            )


def _as_file(repo: str, commit: str, info: Any) -> LineageFile | None:
    if info is None:
        return None
    return LineageFile(
        f"{repo}@{commit}:{info.path}", repo, commit, info.path, info.hash, info.size_bytes
    )


def _change(a: Any, b: Any) -> Literal["added", "removed", "modified"]:
    return "added" if a is None else "removed" if b is None else "modified"


def _rows_text(t: TableDiff | None) -> str:
    if t is None or t.note:
        return ""
    parts = []
    if t.rows_added or t.rows_removed:
        parts.append(f"+{t.rows_added} -{t.rows_removed} rows")
    if t.columns_added:
        parts.append("columns added: " + ", ".join(t.columns_added))
    if t.columns_removed:
        parts.append("columns removed: " + ", ".join(t.columns_removed))
    return f" ({'; '.join(parts)})" if parts else ""


def _writer(lin: Lineage, f: LineageFile | None) -> LineageCommit | None:
    if f is None or f.written_in is None:
        return None
    with contextlib.suppress(NotFound):
        return lin.commit(f.written_in)
    return None


def _commit_text(lin: Lineage, repo: str, cid: str | None) -> str:
    text = f"{repo}@{_short(cid)}"
    with contextlib.suppress(NotFound):
        c = lin.commit(cid or "")
        if c.origin == "revert" and c.restores:
            text += f" (revert to {_short(c.restores)})"
    return text


def _split(ref: str) -> tuple[str, str | None]:
    text, sep, path = ref.partition(":")
    return text, (path if sep and path and path != "/" else None)


def explain(store: Store, pipelines: Pipelines, old: str, new: str) -> Explanation:
    """Why ``new`` differs from ``old``: two file refs (a path on one side only applies to both)
    or two commit refs. See the module docstring."""
    (ra, pa), (rb, pb) = _split(old), _split(new)
    path = pa or pb
    if pa and pb and pa != pb and parse_ref(ra).repo != parse_ref(rb).repo:
        raise InvalidArgument(
            "compare two versions of one result: the same repo, or the same path", old=old, new=new
        )
    ex = _Explainer(store, pipelines)
    if path is None:
        return _explain_commits(ex, ra, rb)
    la = ex.walker.lineage(ra, pa or path)
    lb = ex.walker.lineage(rb, pb or path)
    fa, fb = la.file(), lb.file()
    if fa.hash != fb.hash:
        table = ex.table(fb.repo, fb.path, fa, fb)
        ex.diffs.append(
            Difference(
                "result",
                f"{fb.repo}:{fb.path} modified{_rows_text(table)}",
                repo=fb.repo,
                path=fb.path,
                old_commit=fa.commit,
                new_commit=fb.commit,
                old_hash=fa.hash,
                new_hash=fb.hash,
                old_step=fa.written_by,
                new_step=fb.written_by,
                old_writer=_writer(la, fa),
                new_writer=_writer(lb, fb),
                table=table,
            )
        )
    if fa.written_by and fb.written_by:
        ex.steps(la, lb, la.step(fa.written_by), lb.step(fb.written_by), 0)
    elif fa.written_by or fb.written_by:
        ex.diffs.append(
            Difference(
                "pipeline",
                "one version was written by a pipeline, the other by a user commit",
                old_step=fa.written_by,
                new_step=fb.written_by,
            )
        )
    return Explanation(
        old=fa.key,
        new=fb.key,
        same_content=fa.hash == fb.hash,
        differences=tuple(ex.diffs),
        unchanged=tuple(dict.fromkeys(ex.same)),
        old_global_id=_gid(la, fa),
        new_global_id=_gid(lb, fb),
    )


def _gid(lin: Lineage, f: LineageFile) -> str | None:
    with contextlib.suppress(NotFound):
        return lin.commit(f.commit).global_id
    return None


def _explain_commits(ex: _Explainer, ra: str, rb: str) -> Explanation:
    a = ex.store.resolve(parse_ref(ra))
    b = ex.store.resolve(parse_ref(rb))
    if a.repo != b.repo:
        raise InvalidArgument(
            f"compare two commits of one repo (got {a.repo} and {b.repo}), or give a path",
            old=ra,
            new=rb,
        )
    entries = [
        e
        for e in ex.store.diff_file(parse_ref(f"{b.repo}@{b.id}"), parse_ref(f"{a.repo}@{a.id}"))
        if (f := e.new or e.old) is not None and f.type == "file"
    ]
    if entries:
        files = tuple(PathChange(e.path, e.change) for e in entries)
        ex.diffs.append(
            Difference(
                "result",
                f"{b.repo}: {len(files)} file(s) differ",
                repo=b.repo,
                old_commit=a.id,
                new_commit=b.id,
                files=files,
            )
        )
    sa, sb = ex.source(a), ex.source(b)
    ja, jb = ex.walker.job_of_output(sa.id), ex.walker.job_of_output(sb.id)
    if ja and jb:
        ex.jobs(ja, jb, 0)
    return Explanation(
        old=f"{a.repo}@{a.id}",
        new=f"{b.repo}@{b.id}",
        same_content=not entries,
        differences=tuple(ex.diffs),
        unchanged=tuple(dict.fromkeys(ex.same)),
        old_global_id=getattr(a, "global_id", None),
        new_global_id=getattr(b, "global_id", None),
    )


def summary_lines(ex: Explanation) -> Sequence[str]:
    """The explanation as text lines (the differences indented by depth, then the same parts)."""
    lines = [f"{ex.old} → {ex.new}" + (" (same content)" if ex.same_content else "")]
    for d in ex.differences:
        lines.append("  " * (d.depth + 1) + f"{d.kind}: {d.summary}")
    if ex.unchanged:
        lines.append(f"  unchanged ({len(ex.unchanged)}):")
        lines += [f"    {u}" for u in ex.unchanged]
    return lines


__all__ = ["Difference", "Explanation", "PathChange", "explain", "summary_lines"]
