"""The DAG of a store (repos → pipelines → output repos) as data and as an SVG picture.

Pure functions over :meth:`Client.dag <jupyter_pipes.Client.dag>`: :func:`build` lays the
graph out in columns (a pipeline one column right of its deepest input, its output repo one
further), :func:`to_svg`
draws it, each pipeline coloured by the state of its newest job. No widget code here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

STATE_COLOURS = {
    "success": "#c8e6c9",
    "running": "#bbdefb",
    "created": "#fff9c4",
    "failure": "#ffcdd2",
    "killed": "#e0e0e0",
    "unrunnable": "#ffe0b2",
    None: "#ffffff",
    # the sidebar's names of the same states (the widgets draw with those)
    "queued": "#fff9c4",
    "starting": "#bbdefb",
    "idle": "#ffffff",
}
"""Fill of a pipeline node by its newest job's state (``None``: no job yet)."""
REPO_COLOUR = "#eef3fb"
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 40, 60, 18, 10


@dataclass(frozen=True)
class Node:
    """A repo (``repo:NAME``) or a pipeline (``pipeline:NAME``) at a column and row."""

    id: str
    kind: str
    name: str
    detail: str
    state: str | None
    column: int
    row: int = 0


@dataclass(frozen=True)
class Dag:
    """Nodes (ordered by column, then row) and edges ``(from id, to id, label)``."""

    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str, str], ...]

    def node(self, node_id: str) -> Node:
        """The node with this id."""
        return next(n for n in self.nodes if n.id == node_id)


def _size(n: int) -> str:
    from ..cli.render import human_size

    return human_size(n)


def build(dag: Mapping[str, Any]) -> Dag:
    """Lay out the graph of :meth:`Client.dag <jupyter_pipes.Client.dag>` in columns and rows
    (the graph itself is built in one place, :mod:`jupyter_pipes.pipeline.dag`)."""
    edges: list[tuple[str, str, str]] = [
        (e["from"], e["to"], "" if e.get("branch") in (None, "master") else str(e["branch"]))
        for e in dag.get("edges", [])
    ]
    info = {n["id"]: n for n in dag.get("nodes", [])}
    column: dict[str, int] = {}

    def col(node_id: str, seen: frozenset[str] = frozenset()) -> int:
        if node_id not in column:
            if node_id in seen:  # a cycle cannot be created, but never loop
                return 0
            parents = [a for a, b, _ in edges if b == node_id]
            column[node_id] = 1 + max((col(a, seen | {node_id}) for a in parents), default=-1)
        return column[node_id]

    ids = [n["id"] for n in dag.get("nodes", []) if n["kind"] == "repo"]
    ids += [n["id"] for n in dag.get("nodes", []) if n["kind"] == "pipeline"]
    ids += [b for _, b, _ in edges if b not in ids] + [a for a, _, _ in edges if a not in ids]
    ids = list(dict.fromkeys(ids))
    for i in ids:
        col(i)
    for i in ids:  # a source repo sits just left of its first reader, not always in column 0
        readers = [column[b] for a, b, _ in edges if a == i]
        if readers and not any(b == i for _, b, _ in edges):
            column[i] = min(readers) - 1
    row: dict[str, int] = {}
    rows: dict[int, list[str]] = {}

    def key(i: str) -> tuple[float, str]:  # under its parents' mean row; sources last
        parents = [row[a] for a, b, _ in edges if b == i and a in row]
        return (sum(parents) / len(parents) if parents else float("inf"), i)

    for c in sorted(set(column.values())):  # left to right
        rows[c] = sorted((i for i in ids if column[i] == c), key=key)
        row.update((i, r) for r, i in enumerate(rows[c]))
    nodes = []
    for c, members in sorted(rows.items()):
        for r, i in enumerate(members):
            kind, _, name = i.partition(":")
            n = info.get(i)
            if kind == "pipeline":
                state = n.get("state") if n else None
                detail = f"v{n.get('version')} · {state or 'no job'}" if n else ""
            else:
                state = None
                detail = _size(n.get("size_bytes") or 0) if n else "missing"
            nodes.append(Node(i, kind, name, detail, state, c, r))
    return Dag(tuple(nodes), tuple(edges))


def to_text(dag: Dag) -> str:
    """The DAG as text, one edge per line (for terminals): ``training -> [model] -> model``."""
    if not dag.nodes:
        return "no repos yet"

    def name(node_id: str) -> str:
        n = dag.node(node_id)
        return f"[{n.name}: {n.state or 'no job'}]" if n.kind == "pipeline" else n.name

    lines = [
        f"{name(a)} -> {name(b)}" + (f" (@{label})" if label else "") for a, b, label in dag.edges
    ]
    alone = [n.name for n in dag.nodes if not any(n.id in (a, b) for a, b, _ in dag.edges)]
    return "\n".join(lines + [f"{n} (no pipeline reads it)" for n in alone])


def _xy(n: Node) -> tuple[int, int]:
    return PAD + n.column * (NODE_W + GAP_X), PAD + n.row * (NODE_H + GAP_Y)


def to_svg(dag: Dag) -> str:
    """An SVG picture of the DAG (inline-able in HTML), with a ``<title>`` tooltip per node."""
    if not dag.nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="30"><text x="5" '
            'y="20" font-family="sans-serif" font-size="13">no repos yet</text></svg>'
        )
    width = PAD * 2 + (max(n.column for n in dag.nodes) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + (max(n.row for n in dag.nodes) + 1) * (NODE_H + GAP_Y) - GAP_Y
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="jupyter-pipes-dag" width="{width}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="jp-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#607d8b"/></marker>'
        "</defs>",
    ]
    for a, b, label in dag.edges:
        na, nb = dag.node(a), dag.node(b)
        (xa, ya), (xb, yb) = _xy(na), _xy(nb)
        x1, y1, x2, y2 = xa + NODE_W, ya + NODE_H // 2, xb, yb + NODE_H // 2
        mid = (x1 + x2) // 2
        parts.append(
            f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
            f'stroke="#607d8b" stroke-width="1.4" marker-end="url(#jp-arrow)"/>'
        )
        if label:
            parts.append(
                f'<text x="{mid}" y="{(y1 + y2) // 2 - 3}" text-anchor="middle" '
                f'fill="#455a64">@{html.escape(label)}</text>'
            )
    for n in dag.nodes:
        x, y = _xy(n)
        name, detail = html.escape(n.name), html.escape(n.detail)
        if n.kind == "pipeline":
            fill, rx, tip = STATE_COLOURS.get(n.state, "#ffffff"), 18, f"pipeline {name}: {detail}"
        else:
            fill, rx, tip = REPO_COLOUR, 3, f"repo {name}: {detail}"
        parts.append(
            f'<g class="jp-node jp-{n.kind}" data-id="{html.escape(n.id)}" '
            f'data-state="{n.state or ""}"><title>{tip}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="{rx}" fill="{fill}" '
            f'stroke="#37474f"/>'
            f'<text x="{x + NODE_W // 2}" y="{y + 16}" text-anchor="middle" '
            f'font-weight="bold">{name}</text>'
            f'<text x="{x + NODE_W // 2}" y="{y + 32}" text-anchor="middle" fill="#455a64">'
            f"{detail}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def legend_html() -> str:
    """A one-line legend of the pipeline colours."""
    items = "".join(
        f'<span style="background:{colour};border:1px solid #37474f;border-radius:8px;'
        f'padding:0 6px;margin-right:4px">{state or "no job"}</span>'
        for state, colour in STATE_COLOURS.items()
    )
    return f'<div style="font-size:11px;margin-top:4px">pipelines by newest job: {items}</div>'
