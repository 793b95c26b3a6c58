"""Content-aware differences between two versions of a file, for "why did it change".

* Tables (``.csv``, ``.tsv``, ``.parquet``): rows added and removed (as multisets of rows over
  the columns both versions share) and columns added and removed.
* Notebooks: the code cells that were added, removed or edited (outputs, execution counts,
  metadata and markdown ignored, as the notebook fingerprint ignores them), each with a unified
  diff of its source.
* Specs: the fields (dotted paths) whose values differ.

Pure functions over bytes and dicts: no store access here.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..store.records import _Record

MAX_TABLE_BYTES = 64 * 1024 * 1024
"""Tables larger than this (either version) are compared by hash only."""
SAMPLE_ROWS = 5
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


@dataclass(frozen=True, slots=True)
class TableDiff(_Record):
    """How two versions of a table differ."""

    format: Literal["csv", "tsv", "parquet"]
    rows_old: int
    rows_new: int
    rows_added: int
    rows_removed: int
    columns_added: tuple[str, ...] = ()
    columns_removed: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    """The columns both versions share (what the sample rows hold)."""
    sample_added: tuple[tuple[str, ...], ...] = ()
    sample_removed: tuple[tuple[str, ...], ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class CellDiff(_Record):
    """A code cell added, removed or edited between two notebook versions."""

    change: Literal["added", "removed", "modified"]
    old_index: int | None
    """Index among the old notebook's cells (all cells, as JupyterLab numbers them)."""
    new_index: int | None
    old_source: str
    new_source: str
    diff: str
    """Unified diff of the source."""


@dataclass(frozen=True, slots=True)
class FieldDiff(_Record):
    """A spec field whose value differs (``None``: absent)."""

    field: str
    old: Any
    new: Any


def is_table(path: str) -> bool:
    """Whether ``path`` names a table this module compares row by row."""
    return path.lower().endswith(TABLE_SUFFIXES)


def table_diff(path: str, old: bytes | None, new: bytes | None) -> TableDiff | None:
    """Rows and columns added and removed between two versions of a table (``None`` for a
    version that does not exist); ``None`` when ``path`` is not a table or a version cannot be
    read as one."""
    low = path.lower()
    fmt: Literal["csv", "tsv", "parquet"] = (
        "parquet" if low.endswith((".parquet", ".pq")) else "tsv" if low.endswith(".tsv") else "csv"
    )
    if not is_table(path):
        return None
    if any(v is not None and len(v) > MAX_TABLE_BYTES for v in (old, new)):
        return TableDiff(fmt, 0, 0, 0, 0, note="too large to compare row by row")
    try:
        a = _read_table(fmt, old) if old is not None else ([], [])
        b = _read_table(fmt, new) if new is not None else ([], [])
    except _Unreadable as e:
        return TableDiff(fmt, 0, 0, 0, 0, note=str(e))
    (cols_a, rows_a), (cols_b, rows_b) = a, b
    if old is None:
        cols_a = cols_b
    if new is None:
        cols_b = cols_a
    shared = [c for c in cols_a if c in cols_b]
    ia = [cols_a.index(c) for c in shared]
    ib = [cols_b.index(c) for c in shared]
    ca = Counter(tuple(_cell(r, i) for i in ia) for r in rows_a)
    cb = Counter(tuple(_cell(r, i) for i in ib) for r in rows_b)
    added = cb - ca
    removed = ca - cb
    return TableDiff(
        format=fmt,
        rows_old=len(rows_a),
        rows_new=len(rows_b),
        rows_added=sum(added.values()),
        rows_removed=sum(removed.values()),
        columns_added=tuple(c for c in cols_b if c not in cols_a),
        columns_removed=tuple(c for c in cols_a if c not in cols_b),
        columns=tuple(shared),
        sample_added=tuple(_first(added, SAMPLE_ROWS)),
        sample_removed=tuple(_first(removed, SAMPLE_ROWS)),
    )


class _Unreadable(Exception):
    pass


def _cell(row: Sequence[str], i: int) -> str:
    return row[i] if i < len(row) else ""


def _first(rows: Counter[tuple[str, ...]], n: int) -> Iterable[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for row in rows.elements():
        if len(out) >= n:
            break
        out.append(row)
    return out


def _read_table(fmt: str, data: bytes) -> tuple[list[str], list[list[str]]]:
    """(column names, rows as strings)."""
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise _Unreadable("install pyarrow to compare Parquet files row by row") from None
        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as e:  # pyarrow raises several kinds for a damaged file
            raise _Unreadable(f"not a readable Parquet file ({type(e).__name__})") from None
        cols = [str(c) for c in table.column_names]
        columns = [table.column(c).to_pylist() for c in table.column_names]
        rows = [[_text(v) for v in values] for values in zip(*columns, strict=True)]
        return cols, rows
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter="\t" if fmt == "tsv" else ",")
    try:
        found = list(reader)
    except csv.Error as e:
        raise _Unreadable(f"not a readable {fmt.upper()} file ({e})") from None
    if not found:
        return [], []
    return found[0], found[1:]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


# -- notebooks ----------------------------------------------------------------------------------


def _code_cells(nb: dict[str, Any]) -> list[tuple[int, str]]:
    cells = []
    for i, cell in enumerate(nb.get("cells") or []):
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        text = "".join(src) if isinstance(src, list) else str(src)
        cells.append((i, text.replace("\r\n", "\n")))
    return cells


def notebook_diff(old: bytes | dict[str, Any], new: bytes | dict[str, Any]) -> list[CellDiff]:
    """The code cells added, removed or edited from ``old`` to ``new`` (notebook JSON, as bytes
    or parsed), in order. Outputs, metadata, execution counts and markdown are ignored."""
    a = _code_cells(old if isinstance(old, dict) else json.loads(old))
    b = _code_cells(new if isinstance(new, dict) else json.loads(new))
    sa, sb = [s for _, s in a], [s for _, s in b]
    out: list[CellDiff] = []
    matcher = difflib.SequenceMatcher(None, sa, sb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
        for k in range(pairs):
            out.append(_cell_diff("modified", a[i1 + k], b[j1 + k]))
        for k in range(i1 + pairs, i2):
            out.append(_cell_diff("removed", a[k], None))
        for k in range(j1 + pairs, j2):
            out.append(_cell_diff("added", None, b[k]))
    return out


def _cell_diff(
    change: Literal["added", "removed", "modified"],
    old: tuple[int, str] | None,
    new: tuple[int, str] | None,
) -> CellDiff:
    os_, ns = (old[1] if old else ""), (new[1] if new else "")
    lines = difflib.unified_diff(
        os_.splitlines(keepends=True),
        ns.splitlines(keepends=True),
        "old",
        "new",
        lineterm="",
    )
    diff = "\n".join(line.rstrip("\n") for line in lines)
    return CellDiff(change, old[0] if old else None, new[0] if new else None, os_, ns, diff)


# -- specs --------------------------------------------------------------------------------------


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON value as ``{dotted.path: leaf}`` (list items as ``name[i]``)."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


def field_diff(
    old: dict[str, Any], new: dict[str, Any], *, skip: tuple[str, ...] = ()
) -> list[FieldDiff]:
    """The fields whose values differ between two JSON documents, by dotted path; fields under
    a prefix in ``skip`` are left out."""
    a, b = flatten(old), flatten(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if any(key == s or key.startswith((s + ".", s + "[")) for s in skip):
            continue
        if a.get(key) != b.get(key) or (key in a) != (key in b):
            out.append(FieldDiff(key, a.get(key), b.get(key)))
    return out


__all__ = [
    "CellDiff",
    "FieldDiff",
    "TableDiff",
    "field_diff",
    "flatten",
    "is_table",
    "notebook_diff",
    "table_diff",
]
