"""Validation of repo names, branch names and in-repo paths.

Names follow Pachyderm (letters, digits, ``_`` and ``-``) and may not begin with ``-`` (a
command line would read them as options). Paths are absolute, ``/``-separated, at most
``MAX_DEPTH`` components and ``MAX_PATH`` bytes, and may not contain ``.``/``..`` components or
control characters, so a path from the store can never escape the folder it is materialised
into, and every tree walk stays shallow.
"""

from __future__ import annotations

import re

from ..errors import InvalidArgument

_NAME = re.compile(r"[A-Za-z0-9_-]+")
_HEX = re.compile(r"[0-9a-f]+")
MAX_NAME = 63
MAX_COMPONENT = 255
MAX_DEPTH = 255
"""Most components an in-repo path may have (Linux allows ~2,000 in PATH_MAX; datasets use
tens)."""
MAX_PATH = 4096
"""Most bytes (UTF-8) an in-repo path may have, as Linux's PATH_MAX."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_repo_name(name: str) -> str:
    """Return ``name`` if it is a valid repo name, else raise :class:`InvalidArgument`."""
    return _check_name(name, "repo")


def check_branch_name(name: str) -> str:
    """Return ``name`` if it is a valid branch name, else raise :class:`InvalidArgument`.

    A branch name may not look like a commit id (32 hex digits), so refs stay unambiguous.
    """
    _check_name(name, "branch")
    if len(name) == 32 and _HEX.fullmatch(name):
        raise InvalidArgument(
            f"invalid branch name {name!r}: 32 hex digits would read as a commit id", branch=name
        )
    return name


def _check_name(name: object, kind: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"invalid {kind} name: it must be a non-empty string", **{kind: name})
    if len(name) > MAX_NAME:
        raise InvalidArgument(
            f"invalid {kind} name {name!r}: longer than {MAX_NAME} characters", **{kind: name}
        )
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"invalid {kind} name {name!r}: use only letters, digits, '_' and '-'",
            **{kind: name},
        )
    if name.startswith("-"):
        raise InvalidArgument(
            f"invalid {kind} name {name!r}: it may not begin with '-' (it would read as an "
            "option on a command line)",
            **{kind: name},
        )
    return name


def clean_path(path: str) -> str:
    """Normalise an in-repo path to ``/a/b`` form (no trailing slash; root is ``/``).

    Raises
    ------
    InvalidArgument
        If the path has ``.`` or ``..`` components, control characters, over-long components,
        more than ``MAX_DEPTH`` components or more than ``MAX_PATH`` bytes.
    """
    if not isinstance(path, str):
        raise InvalidArgument(f"invalid path {path!r}: it must be a string", path=path)
    if _CONTROL.search(path):
        raise InvalidArgument(
            f"invalid path {path!r}: control characters are not allowed", path=path
        )
    if len(path.encode(errors="replace")) > MAX_PATH:
        raise InvalidArgument(
            f"invalid path {path[:60]!r}...: longer than {MAX_PATH} bytes", path=path[:200]
        )
    parts = [p for p in path.split("/") if p]
    if len(parts) > MAX_DEPTH:
        raise InvalidArgument(
            f"invalid path {path[:60]!r}...: deeper than {MAX_DEPTH} components", path=path[:200]
        )
    for p in parts:
        if p in (".", ".."):
            raise InvalidArgument(
                f"invalid path {path!r}: '.' and '..' components are not allowed", path=path
            )
        if len(p.encode()) > MAX_COMPONENT:
            raise InvalidArgument(
                f"invalid path {path!r}: a component is longer than {MAX_COMPONENT} bytes",
                path=path,
            )
    return "/" + "/".join(parts)


def split_path(path: str) -> list[str]:
    """The components of a cleaned path (``/`` gives ``[]``)."""
    return [p for p in path.split("/") if p]


def join_path(parent: str, name: str) -> str:
    """Join a cleaned directory path and one name."""
    return (parent.rstrip("/") + "/" + name) if parent != "/" else "/" + name
