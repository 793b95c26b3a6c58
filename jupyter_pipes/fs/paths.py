"""``pipes://`` URLs: parsing, and the project's errors as the OSErrors fsspec callers catch.

Grammar (fsspec strips the protocol and trailing slashes first)::

    pipes://repo@ref/path/inside/the/repo
    pipes://repo/path                       repo alone means repo@master, as everywhere
    pipes://                                the root: every repo@branch, as directories

``ref`` is anything the Client accepts: a branch, a commit id or unique prefix, and ``^N`` /
``~N`` ancestor suffixes. The ref text is kept as written: names listed under a path are
spelled with the same prefix, as fsspec's ``glob`` and ``find`` need.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import InvalidArgument, IsADirectory, NotFound, PathNotFound
from ..store.names import clean_path
from ..store.records import FileInfo
from ..store.refs import Ref, parse_ref

PROTOCOL = "pipes"


@dataclass(frozen=True, slots=True)
class PipesPath:
    """A parsed ``pipes://`` path: ``ref`` is ``None`` for the root."""

    text: str
    """The stripped path as given (``data@master/a/b.csv``)."""
    ref: Ref | None
    prefix: str
    """The ref as written (``data@master``): how names under this path are spelled."""
    path: str
    """The absolute in-repo path (``/a/b.csv``; ``/`` for the repo's root)."""

    @property
    def is_root(self) -> bool:
        """Whether this is the filesystem's root (every repo@branch)."""
        return self.ref is None

    @property
    def ref_text(self) -> str:
        """The ref for the Client (``data@master``)."""
        return self.prefix

    def name(self, path: str) -> str:
        """The fsspec name of an in-repo path under this path's ref."""
        path = path.rstrip("/")
        return f"{self.prefix}{path}" if path else self.prefix

    def child(self, info: FileInfo) -> dict[str, object]:
        """An fsspec info dict for a store :class:`FileInfo` under this ref."""
        return info_dict(self.name(info.path), info)


def strip_protocol(path: str) -> str:
    """``pipes://data@master/a/`` -> ``data@master/a`` (also accepts paths without protocol)."""
    path = str(path)
    if path.startswith(f"{PROTOCOL}://"):
        path = path[len(PROTOCOL) + 3 :]
    elif path.startswith(f"{PROTOCOL}::"):
        path = path[len(PROTOCOL) + 2 :]
    return path.strip("/")


def parse(path: str) -> PipesPath:
    """Parse a ``pipes://`` path (with or without the protocol).

    Raises
    ------
    InvalidArgument
        For a malformed ref or path (``..`` components, bad names, bad suffixes).
    """
    text = strip_protocol(path)
    if not text:
        return PipesPath("", None, "", "/")
    head, _, rest = text.partition("/")
    if head.startswith(":") or ":" in head:
        raise InvalidArgument(
            f"invalid pipes:// path {path!r}: write repo@ref/path (no ':' before the path)",
            path=str(path),
        )
    return PipesPath(text, parse_ref(head), head, clean_path("/" + rest))


def info_dict(name: str, info: FileInfo) -> dict[str, object]:
    """fsspec's info dict: ``name``, ``size``, ``type``, plus the content ``hash`` (BLAKE3)
    and the ``commit`` the entry was read from."""
    return {
        "name": name,
        "size": info.size_bytes,
        "type": "directory" if info.type == "dir" else "file",
        "hash": info.hash,
        "commit": info.commit,
    }


def dir_dict(name: str, commit: str | None = None) -> dict[str, object]:
    """An info dict for a directory with no stored entry (the root, an empty branch)."""
    return {"name": name, "size": 0, "type": "directory", "hash": None, "commit": commit}


@contextmanager
def mapped_errors(name: str | None = None) -> Iterator[None]:
    """Raise the project's :class:`NotFound` as :class:`PathNotFound` (a ``FileNotFoundError``
    too), so pandas, Dask and pyarrow handle a missing path as they do everywhere; the message
    names the ``pipes://`` URL when ``name`` is given."""
    try:
        yield
    except PathNotFound:
        raise
    except NotFound as exc:
        message = f"{PROTOCOL}://{name}: {exc.message}" if name else exc.message
        raise PathNotFound(message, **exc.fields) from exc


def is_a_directory(name: str) -> IsADirectory:
    """The error for opening a directory as a file."""
    return IsADirectory(f"{name} is a directory, not a file", path=name)
