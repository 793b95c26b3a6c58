"""``inspect file --lineage``, ``diff lineage``, ``list|inspect|diff metrics``, ``list
branch-log`` and ``inspect branch --at``: lineage on the command line (the rendering is shared
with the ``%pipe lineage`` magic)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from . import render
from .base import client, diff, inspect, json_option, list_

if TYPE_CHECKING:
    from ..pipeline.explain import Explanation
    from ..pipeline.lineage import Lineage, LineageCommit, LineageFile, LineageStep
    from ..pipeline.metrics import MetricsInfo
    from ..pipeline.metrics_diff import MetricChange, MetricsDiff


def _short(text: str | None) -> str:
    return (text or "-")[:8]


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S UTC") if t else "-"


def _first(text: str, width: int = 60) -> str:
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    return line if len(line) <= width else line[: width - 1] + "…"


def commit_line(c: LineageCommit) -> str:
    """``user commit repo@id by actor at time: "message" (global id)``."""
    what = {"user": "user commit", "auto": "output commit", "revert": "revert commit"}.get(
        c.origin, f"{c.origin} commit"
    )
    by = f" by {c.actor}" if c.actor else ""
    gid = f", global {_short(c.global_id)}" if c.global_id else ""
    return f'{what} {c.repo}@{_short(c.id)}{by} at {_when(c.time)}: "{_first(c.message)}"{gid}'


def step_lines(s: LineageStep) -> list[str]:
    """The lines describing one datum step (without its inputs)."""
    code = f"notebook {s.notebook} ({_short(s.notebook_hash)})" if s.notebook else "cmd"
    gid = f", global {_short(s.global_id)}" if s.global_id else ""
    lines = [
        f"datum {_short(s.datum)} of job {_short(s.job)}: pipeline {s.pipeline} version "
        f"{s.version} (spec {s.pipeline}@{_short(s.spec_commit)}), {code}{gid}"
    ]
    if s.parameters:
        lines.append("parameters: " + ", ".join(f"{k}={v!r}" for k, v in s.parameters.items()))
    if s.cell is not None:
        count = s.cell.execution_count if s.cell.execution_count is not None else " "
        lines.append(f"cell {s.cell.index} [{count}]: {_first(s.cell.source)}")
    if s.has_notebook:
        lines.append(f"executed notebook: jupyter pipes get notebook {s.job} {s.datum}")
    return lines


def _file_text(f: LineageFile) -> str:
    via = f" (via revert {', '.join(_short(v) for v in f.via)})" if f.via else ""
    return f"{f.repo}@{_short(f.commit)}:{f.path}  {_short(f.hash)}  " + (
        render.human_size(f.size_bytes) + via
    )


def lineage_lines(lin: Lineage) -> list[str]:
    """The lineage as a tree of text lines; a step met again is named, not repeated."""
    shown: set[str] = set()
    lines: list[str] = []

    def add(prefix: str, last: bool, text: str, top: bool = False) -> str:
        lines.append(text if top else prefix + ("└─ " if last else "├─ ") + text)
        return "" if top else prefix + ("   " if last else "│  ")

    def file(f: LineageFile, prefix: str, last: bool, top: bool = False) -> None:
        inner = add(prefix, last, _file_text(f), top)
        if f.written_by:
            step(lin.step(f.written_by), inner)
        elif f.written_in:
            add(inner, True, commit_line(lin.commit(f.written_in)))
        elif f.note:
            add(inner, True, f.note)

    def step(s: LineageStep, prefix: str) -> None:
        head, *rest = step_lines(s)
        if s.key in shown:
            add(prefix, True, head + " (shown above)")
            return
        shown.add(s.key)
        inner = add(prefix, True, head)
        for text in rest:
            lines.append(inner + ("│  " if s.inputs else "   ") + text)
        for i, inp in enumerate(s.inputs):
            last = i == len(s.inputs) - 1
            extra = f", {inp.more_files} more file(s) not listed" if inp.more_files else ""
            inner2 = add(
                inner, last, f"input {inp.name}: {inp.repo}@{_short(inp.commit)}:{inp.path}{extra}"
            )
            keys = inp.files
            for j, k in enumerate(keys):
                file(lin.file(k), inner2, j == len(keys) - 1)

    file(lin.file(), "", True, top=True)
    if lin.truncated:
        lines.append("(stopped: the lineage holds too many files; use --json for what was found)")
    return lines


def explain_lines(ex: Explanation) -> list[str]:
    """An explanation as text: the differences (indented by how far upstream), then the same."""
    head = f"{ex.old}\n→ {ex.new}" + ("  (same content)" if ex.same_content else "")
    lines = head.splitlines()
    if not ex.differences:
        lines.append("no differences in their lineages")
    for d in ex.differences:
        pad = "  " * (d.depth + 1)
        lines.append(f"{pad}{d.kind}: {d.summary}")
        for w, side in ((d.old_writer, "old"), (d.new_writer, "new")):
            if w is not None:
                lines.append(f"{pad}  {side}: {commit_line(w)}")
        for c in d.cells:
            lines.append(f"{pad}  cell {c.change} ({c.old_index} → {c.new_index})")
            lines += [f"{pad}    {line}" for line in c.diff.splitlines()[2:]]
        for fd in d.fields:
            lines.append(f"{pad}  {fd.field}: {fd.old!r} → {fd.new!r}")
        marks = {"added": "+", "removed": "-"}
        lines += [f"{pad}  {marks.get(pc.change, '~')} {pc.path}" for pc in d.files[:20]]
    if ex.unchanged:
        lines.append(f"unchanged ({len(ex.unchanged)}):")
        lines += [f"  {u}" for u in ex.unchanged]
    return lines


def show_lineage(ref: str, path: str | None, as_json: bool, cells: bool = True) -> None:
    """``inspect file --lineage``: print a file's lineage (``cli/files.py`` calls this)."""
    lin = client().lineage(ref, path, cells=cells)
    if as_json:
        render.echo_json(lin)
        return
    click.echo("\n".join(lineage_lines(lin)))


@diff.command("lineage")
@click.argument("old", metavar="OLD_REF[:PATH]")
@click.argument("new", metavar="NEW_REF[:PATH]")
@json_option
def diff_lineage(old: str, new: str, as_json: bool) -> None:
    """Explain why NEW differs from OLD: walk both lineages, show only what differs.

    Give two versions of one file (a PATH given once applies to both) or two commits of one
    repo. Listed: the results (tables: rows added/removed, columns), the pipeline's parameters,
    notebook code cells and spec fields, upstream inputs (models) at other commits, and input
    data files added, removed or changed, step by step upstream; the rest is summed up as
    unchanged.

    \b
    Examples:
      jupyter pipes diff lineage predict@master^1:/batch-01.predictions.csv predict@master
      jupyter pipes diff lineage model@master~2 model@master --json
    """
    ex = client().explain(old, new)
    if as_json:
        render.echo_json(ex)
        return
    click.echo("\n".join(explain_lines(ex)))


# -- metrics ----------------------------------------------------------------------------------


def _metric_rows(found: list[MetricsInfo]) -> tuple[list[str], list[list[object]]]:
    names = list(dict.fromkeys(n for m in found for n in m.values))
    headers = ["COMMIT", "FINISHED", "ORIGIN", *(n.upper() for n in names)]
    rows: list[list[object]] = []
    for m in found:
        origin = m.origin + (f" ({_short(m.source)})" if m.source and m.source != m.commit else "")
        rows.append(
            [_short(m.commit), render.ago(m.time), origin, *(_num(m.values.get(n)) for n in names)]
        )
    return headers, rows


def _num(v: float | None) -> str | None:
    if v is None:
        return None
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"


@list_.command("metrics")
@click.argument("branch", metavar="REPO@BRANCH")
@click.option(
    "-n",
    "--number",
    type=click.IntRange(min=1),
    default=50,
    show_default=True,
    help="Show at most N commits.",
)
@json_option
def list_metrics(branch: str, number: int, as_json: bool) -> None:
    """List the metrics of each commit of a pipeline's output branch, newest first.

    The pipeline declares its metric files in its spec (metrics: [/metrics.json]); every
    number in them is indexed when the output commit is made. A revert commit shows the
    metrics of the commit it restores (its id in ORIGIN).

    \b
    Examples:
      jupyter pipes list metrics model@master
      jupyter pipes list metrics model@master -n 5 --json
    """
    found = client().list_metrics(branch, limit=number)
    if as_json:
        render.echo_json(found)
        return
    headers, rows = _metric_rows(found)
    click.echo(render.table(headers, rows))


@inspect.command("metrics")
@click.argument("ref", metavar="REPO@REF")
@json_option
def inspect_metrics(ref: str, as_json: bool) -> None:
    """Show the metrics of one output commit.

    \b
    Example:
      jupyter pipes inspect metrics model@master^1
    """
    m = client().inspect_metrics(ref)
    if as_json:
        render.echo_json(m)
        return
    pairs: list[tuple[str, object]] = [("Commit", f"{m.repo}@{m.commit}"), ("Origin", m.origin)]
    if m.source and m.source != m.commit:
        pairs.append(("Restores", m.source))
    pairs += [(k, _num(v)) for k, v in m.values.items()]
    click.echo(render.key_values(pairs))


def _change(c: MetricChange) -> str:
    if c.change is None:
        return "added" if c.old is None else "removed"
    text = ("+" if c.change > 0 else "") + (_num(c.change) or "")
    if c.relative is not None:
        text += f" ({c.relative:+.1%})"
    return text


def metrics_diff_lines(d: MetricsDiff) -> list[str]:
    """A metrics diff as text: a table of the metrics that changed, then why (shared with
    ``%pipe``)."""
    a, b = d.old, d.new
    lines = [f"{a.repo}@{_short(a.commit)} → {b.repo}@{_short(b.commit)}"]
    for side in (a, b):
        if side.source and side.source != side.commit:
            lines.append(f"  ({_short(side.commit)} is a revert: metrics of {_short(side.source)})")
    if d.changes:
        rows = [[c.name, _num(c.old), _num(c.new), _change(c)] for c in d.changes]
        table = render.table(["METRIC", "OLD", "NEW", "CHANGE"], rows)
        lines += ["", *table.splitlines()]
    else:
        lines.append("no metric changed")
    if d.unchanged:
        lines.append(f"unchanged: {', '.join(c.name for c in d.unchanged)}")
    if d.explanation is not None:
        lines += ["", "Why (what differs in their lineages):", *explain_lines(d.explanation)]
    return lines


@diff.command("metrics")
@click.argument("old", metavar="OLD_REF")
@click.argument("new", metavar="NEW_REF")
@click.option(
    "--why/--no-why",
    default=True,
    show_default=True,
    help="Also explain the change (diff lineage of the two commits).",
)
@json_option
def diff_metrics(old: str, new: str, why: bool, as_json: bool) -> None:
    """Compare the metrics of two commits of a pipeline's output, and say why they differ.

    Lists each metric whose value changed (old, new, change), then what differs between the
    jobs that made the two commits: input files, upstream models, parameters, notebook cells
    and spec fields (as diff lineage does). A revert commit counts as the commit it restores.

    \b
    Examples:
      jupyter pipes diff metrics model@master^1 model@master
      jupyter pipes diff metrics model@3f2a9c1d model@master --no-why --json
    """
    d = client().diff_metrics(old, new, why=why)
    if as_json:
        render.echo_json(d)
        return
    click.echo("\n".join(metrics_diff_lines(d)))


# -- the branch timeline ----------------------------------------------------------------------


def _local(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S") if t else "-"


@list_.command("branch-log")
@click.argument("branch", metavar="REPO[@BRANCH]")
@click.option("--since", metavar="TIME", help="Only moves at or after TIME.")
@click.option("--until", metavar="TIME", help="Only moves at or before TIME.")
@click.option("-n", "--number", type=click.IntRange(min=1), default=None, help="At most N moves.")
@json_option
def list_branch_log(
    branch: str, since: str | None, until: str | None, number: int | None, as_json: bool
) -> None:
    """List every move of a branch head, newest first: when, why (commit, pipeline, revert,
    branch, delete), the new and previous commits, who, and the global commit.

    REPO alone lists the moves of all its branches. TIME is ISO 8601 in local time unless it
    names a zone (2024-05-01T10:00, 2024-05-01 10:00:00+00:00), or 10:00 for today. To ask
    which commit was live at a moment: jupyter pipes inspect branch REPO@BRANCH --at TIME.

    \b
    Examples:
      jupyter pipes list branch-log model@master
      jupyter pipes list branch-log model --since 2024-05-01 --until 2024-05-02 --json
    """
    moves = client().branch_log(branch, since=since, until=until, limit=number)
    if as_json:
        render.echo_json(moves)
        return
    click.echo(
        render.table(
            ["TIME", "BRANCH", "CAUSE", "COMMIT", "PREVIOUS", "ACTOR", "GLOBAL"],
            [
                [
                    _local(m.time),
                    m.branch,
                    m.cause,
                    _short(m.new),
                    _short(m.old),
                    m.actor,
                    _short(m.global_id) if m.global_id else None,
                ]
                for m in moves
            ],
        )
    )


def show_head_at(branch: str, at: str, as_json: bool) -> None:
    """``inspect branch --at``: which commit the branch pointed at, at a moment."""
    found = client().head_at(branch, at)
    if as_json:
        render.echo_json(found)
        return
    c, m = found.commit, found.move
    pairs: list[tuple[str, object]] = [
        ("Name", f"{found.repo}@{found.branch}"),
        ("At", _local(found.time)),
        ("Head", c.id if c else (m.new if m else None)),
    ]
    if m is not None:
        pairs += [("Since", _local(m.time)), ("Cause", m.cause), ("Actor", m.actor)]
    if c is not None:
        restores = f" (restores {c.restores})" if c.restores else ""
        pairs += [("Origin", c.origin + restores), ("Message", render.first_line(c.message))]
    click.echo(render.key_values(pairs))
