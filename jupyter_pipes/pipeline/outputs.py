"""Symlinks in a datum's output, as Pachyderm stores them: as the input files they point at.

Pachyderm's shuffle pattern writes ``ln -s /pfs/fruits/apple.jpeg /pfs/out/apple/img.jpeg``
(often with ``empty_files: true`` inputs, whose files are empty placeholders): the output gets
the *input file*, by reference, without its bytes being read. :func:`take_symlinks` finds such
links under the output folder, removes them, and says which input file each one stands for;
the worker then stores those outputs as references to the input files. A link to anything
else (outside the datum's inputs, or dangling) is an error naming it.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass

from ..errors import InvalidArgument

__all__ = ["Link", "take_symlinks"]


@dataclass(frozen=True, slots=True)
class Link:
    """An output path that is an input file: ``/<out path>`` -> input ``name``'s ``/<path>``."""

    output: str
    name: str
    path: str


def take_symlinks(out: str, pfs: str, root: str, inputs: set[str]) -> list[Link]:
    """Remove the symlinks under ``out`` and return the input files they point at.

    Parameters
    ----------
    out : str
        The datum's output folder on the worker.
    pfs : str
        The datum's folder on the worker (holding ``<name>/`` and ``out/``).
    root : str
        Where the code saw that folder (``/pfs`` in the sandbox, else ``pfs`` itself): link
        targets are read as the code wrote them.
    inputs : set[str]
        The datum's input names.

    Raises
    ------
    InvalidArgument
        For a link that does not lead to a file of one of the inputs (or a link to a
        directory), naming the output path and its target.
    """
    links: list[Link] = []
    for folder, dirs, files in os.walk(out):
        for entry in [*files, *dirs]:
            local = os.path.join(folder, entry)
            if not os.path.islink(local):
                continue
            rel = "/" + os.path.relpath(local, out).replace(os.sep, "/")
            target = os.readlink(local)
            seen = posixpath.normpath(posixpath.join(posixpath.dirname(_seen(local, pfs, root)),
                                                     target))  # fmt: skip
            link = _input_file(seen, pfs, root, inputs)
            if link is None:
                raise InvalidArgument(
                    f"output {rel} is a symbolic link to {target!r}, which is not a file of "
                    "this datum's inputs: write a file there, or link to /pfs/<input>/...",
                    path=rel, target=target,
                )  # fmt: skip
            name, path = link
            local_target = os.path.join(pfs, name, path.lstrip("/"))
            if not os.path.isfile(local_target):
                kind = "a directory" if os.path.isdir(local_target) else "missing"
                raise InvalidArgument(
                    f"output {rel} links to {target!r}, which is {kind}: link files only",
                    path=rel, target=target,
                )  # fmt: skip
            links.append(Link(rel, name, path))
            os.unlink(local)
    return sorted(links, key=lambda link: link.output)


def _seen(local: str, pfs: str, root: str) -> str:
    """A worker path under ``pfs`` as the code saw it (under ``root``)."""
    return posixpath.join(root, os.path.relpath(local, pfs).replace(os.sep, "/"))


def _input_file(seen: str, pfs: str, root: str, inputs: set[str]) -> tuple[str, str] | None:
    for base in {root, pfs}:  # a link may name the /pfs path or the worker's path
        prefix = base.rstrip("/") + "/"
        if seen.startswith(prefix):
            name, _, path = seen[len(prefix) :].partition("/")
            if name in inputs and path:
                return name, "/" + path
    return None
