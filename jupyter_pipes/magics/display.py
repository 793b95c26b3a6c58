"""Rich display of a command's output: plain text in terminals, HTML tables in notebooks.

:class:`Listing` holds exactly the text the CLI printed plus the tables and key/value blocks
recorded while printing it (:func:`jupyter_pipes.cli.render.recording`). IPython shows
``text/plain`` (the CLI's text, unchanged) where there is no HTML, and ``text/html`` in
notebooks: each block as an HTML table, everything else as preformatted text.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from ..cli.render import Block

_CELL = 'style="text-align:left; vertical-align:top"'


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def block_html(block: Block) -> str:
    """One recorded block as an HTML table (a header row for tables; key cells for
    key/value blocks)."""
    if block.kind == "key_values":
        body = "".join(
            f"<tr><th {_CELL}>{_escape(k)}</th><td {_CELL}>{_escape(v)}</td></tr>"
            for k, v in block.rows
        )
        return f'<table class="jupyter-pipes jupyter-pipes-kv"><tbody>{body}</tbody></table>'
    head = "".join(f"<th {_CELL}>{_escape(h)}</th>" for h in block.headers)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{_escape(c)}</td>" for c in row) + "</tr>"
        for row in block.rows
    )
    if not block.rows:
        body = f'<tr><td {_CELL} colspan="{len(block.headers)}"><i>none</i></td></tr>'
    return (
        f'<table class="jupyter-pipes"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def segments(text: str, blocks: Sequence[Block]) -> list[str | Block]:
    """``text`` cut into the recorded blocks (in printing order) and the plain text around
    them; a block whose text cannot be found (never printed) is left out."""
    out: list[str | Block] = []
    pos = 0
    for block in blocks:
        at = text.find(block.text, pos)
        if at < 0 or not block.text:
            continue
        if text[pos:at].strip("\n"):
            out.append(text[pos:at].strip("\n"))
        out.append(block)
        pos = at + len(block.text)
    if text[pos:].strip("\n"):
        out.append(text[pos:].strip("\n"))
    return out


class Listing:
    """A command's output for IPython's display: the CLI's text, and HTML for notebooks."""

    def __init__(self, text: str, blocks: Sequence[Block] = ()) -> None:
        self.text = text.rstrip("\n")
        self.blocks = list(blocks)

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(self.text)  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        parts = []
        for seg in segments(self.text, self.blocks):
            if isinstance(seg, Block):
                parts.append(block_html(seg))
            else:
                parts.append(f"<pre>{_escape(seg)}</pre>")
        return "\n".join(parts)
