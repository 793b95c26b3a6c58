"""A datum's folder on the worker: its inputs laid out as Pachyderm lays them out, and the
output symlinks that stand for input files.

Inputs go under ``<pfs>/<name>/<path>`` (the sandbox shows ``<pfs>`` at ``/pfs``): copied, or
for ``empty_files`` inputs as empty files with their names (nothing read), or for ``lazy``
inputs as named pipes fed from the store when opened (:mod:`.lazy`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument
from .lazy import Pipes
from .outputs import take_symlinks

if TYPE_CHECKING:
    from ..store.datum_io import DatumIO, Token
    from .task_input import TaskInput

__all__ = ["lay_out", "linked_outputs"]


def lay_out(io: DatumIO, items: Sequence[TaskInput], pfs: str, pipes: Pipes) -> dict[str, str]:
    """Write (or announce) each input item under ``pfs/<name>/<path>``; each name's folder."""
    plain = [(i.name, i.path, i.token) for i in items if not (i.empty_files or i.lazy)]
    folders = io.materialise(plain, pfs)
    for item in items:
        if not (item.empty_files or item.lazy):
            continue
        base = os.path.join(pfs, item.name)
        folders[item.name] = base
        os.makedirs(base, exist_ok=True)
        path = item.path.rstrip("/")
        dest = base if not path or path == "/" else base + path
        for rel, tok in io.files(item.token):
            target = dest + rel
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if item.empty_files:  # names only: nothing is read from the store
                open(target, "wb").close()
            else:
                pipes.add(target, _feeder(io, tok))
    return folders


def _feeder(io: DatumIO, tok: Token) -> Any:
    def feed(writer: Any) -> None:
        for chunk in io.read(tok):
            writer.write(chunk)

    return feed


def linked_outputs(
    io: DatumIO, items: Sequence[TaskInput], out: str, pfs: str, root: str
) -> list[tuple[str, Token]]:
    """Take the output symlinks to input files away; ``(output path, input file token)`` each.

    Raises InvalidArgument for a link to anything else (see :func:`~.outputs.take_symlinks`).
    """
    links = take_symlinks(out, pfs, root, {i.name for i in items})
    found = []
    for link in links:
        tok = None
        for item in items:  # the item whose path holds the linked file
            if item.name != link.name:
                continue
            base = item.path.rstrip("/") or ""
            if link.path == base:
                tok = item.token
            elif link.path.startswith(base + "/"):
                tok = io.child(item.token, link.path[len(base) :])
            if tok is not None:
                break
        if tok is None:
            raise InvalidArgument(f"output {link.output} links to an input file that is not in "
                                  "this datum", path=link.output)  # fmt: skip
        found.append((link.output, tok))
    return found
