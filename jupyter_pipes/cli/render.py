"""Rendering for the CLI: aligned tables, key/value blocks, sizes, relative times and JSON.

Everything here is presentation only; it never talks to the store. Inside :func:`recording`,
every table and key/value block is also kept as a :class:`Block` (its cells as well as its
text), so that an embedder (the ``%pipe`` magic) can show the same listing as an HTML table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import click

_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
NONE = "-"


def human_size(n: int | float) -> str:
    """A byte count the way pachctl prints it (Go's ``units.BytesSize``): ``1.205KiB``."""
    size = float(n)
    i = 0
    while size >= 1024 and i < len(_BINARY_UNITS) - 1:
        size /= 1024
        i += 1
    return f"{size:.4g}{_BINARY_UNITS[i]}"


def human_duration(seconds: float) -> str:
    """A duration the way pachctl (Go's ``units.HumanDuration``) says it: ``3 minutes``."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 2:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // (24 * 7)} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // (24 * 30)} months"
    return f"{hours // (24 * 365)} years"


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """``"3 minutes ago"`` for a timestamp; ``-`` for none."""
    if when is None:
        return NONE
    now = now or datetime.now(timezone.utc)
    return human_duration(max(0.0, (now - when).total_seconds())) + " ago"


def first_line(text: str | None) -> str:
    """The first line of a message (tables stay one row per record)."""
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def plural(n: int, word: str) -> str:
    """``"1 pack"``, ``"2 packs"``."""
    return f"{n} {word}" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Block:
    """A table or key/value block as rendered: its cells, and the exact text printed."""

    kind: Literal["table", "key_values"]
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    text: str


_recorded: ContextVar[list[Block] | None] = ContextVar("jupyter_pipes_render", default=None)


@contextmanager
def recording() -> Iterator[list[Block]]:
    """Collect a :class:`Block` for every :func:`table` and :func:`key_values` rendered inside."""
    blocks: list[Block] = []
    token = _recorded.set(blocks)
    try:
        yield blocks
    finally:
        _recorded.reset(token)


def _record(block: Block) -> str:
    blocks = _recorded.get()
    if blocks is not None:
        blocks.append(block)
    return block.text


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """An aligned text table with a header row, columns separated by at least three spaces."""
    cells = [[str(h) for h in headers]] + [[NONE if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for row in cells:
        padded = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        lines.append("   ".join(padded).rstrip())
    text = "\n".join(lines)
    return _record(Block("table", tuple(cells[0]), tuple(map(tuple, cells[1:])), text))


def stream_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], widths: Sequence[int]
) -> None:
    """Print a table row by row as ``rows`` yields them (pachctl prints its listings as it
    goes), each column but the last padded to a fixed width (a longer cell pushes the rest of
    its row right): memory holds one row, however many there are.

    Inside :func:`recording` (the ``%pipe`` magic) the rows are also kept, for its HTML table.
    """
    recorded = _recorded.get()
    kept: list[tuple[str, ...]] | None = [] if recorded is not None else None
    lines: list[str] = []

    def line(cells: Sequence[str]) -> str:
        padded = [c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False)]
        return "   ".join([*padded, cells[-1]]).rstrip()

    head = tuple(str(h) for h in headers)
    out = _Batched()
    out.write(line(head) + "\n")
    for r in rows:
        cells = tuple(NONE if c is None else str(c) for c in r)
        text = line(cells)
        out.write(text + "\n")
        if kept is not None:
            kept.append(cells)
            lines.append(text)
    out.flush()
    if kept is not None:
        _record(Block("table", head, tuple(kept), "\n".join([line(head), *lines])))


def key_values(pairs: Iterable[tuple[str, object]]) -> str:
    """``Key: value`` lines (pachctl's ``inspect`` layout); ``None`` values print as ``-``."""
    rows = tuple((str(k), NONE if v is None else str(v)) for k, v in pairs)
    text = "\n".join(f"{k}: {v}" for k, v in rows)
    return _record(Block("key_values", ("KEY", "VALUE"), rows, text))


def to_plain(value: Any) -> Any:
    """Records (anything with ``to_dict``) and lists of them as JSON-able values."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    return value


def echo_json(value: Any) -> None:
    """Print a record, a list of records or a plain value as indented JSON on stdout."""
    click.echo(json.dumps(to_plain(value), indent=2, sort_keys=False))


def echo_json_stream(records: Iterable[Any]) -> None:
    """Print records as one indented JSON list, each as it comes (the same text as
    :func:`echo_json` of the whole list): memory holds one record."""
    out = _Batched()
    sep = "[\n"
    for r in records:
        # indented one level, as inside the list (JSON text has no blank lines)
        out.write(sep + "  " + json.dumps(to_plain(r), indent=2).replace("\n", "\n  "))
        sep = ",\n"
    out.write("[]\n" if sep == "[\n" else "\n]\n")
    out.flush()


class _Batched:
    """Text for stdout, written (and flushed) every 64 KiB or 0.2 s instead of at each line:
    ``click.echo`` flushes every call, a system call per row that made a streamed listing of
    100,000 files up to 1.7 times slower than printing the whole list at once."""

    BYTES, SECONDS = 64 << 10, 0.2

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.since = time.monotonic()

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= self.BYTES or time.monotonic() - self.since >= self.SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            click.echo("".join(self.parts), nl=False)
        self.parts, self.size, self.since = [], 0, time.monotonic()
