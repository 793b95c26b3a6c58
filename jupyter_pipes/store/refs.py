"""Parsing of pachctl-style refs.

Grammar::

    commit ref   repo[@base[suffix...]]        base: a branch name or a commit id (or unique prefix)
    suffix       ^  |  ^N  |  ~N               N-th ancestor (``^`` is ``^1``; ``~N`` is the same)
    file ref     commit-ref[:path]

``repo`` alone means ``repo@master``. Resolution (which commit a base names) is the store's job;
this module only parses, and refuses malformed text with a message that says what is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidArgument
from .names import check_repo_name, clean_path

DEFAULT_BRANCH = "master"
_SUFFIX = re.compile(r"(\^|~)(\d*)")


@dataclass(frozen=True, slots=True)
class Ref:
    """A parsed commit ref: ``repo@base`` followed by ``ancestors`` steps up the parent chain."""

    repo: str
    base: str = DEFAULT_BRANCH
    ancestors: int = 0
    explicit: bool = False
    """Whether the text named a base (``repo@x``) rather than defaulting to master."""

    def __str__(self) -> str:
        return f"{self.repo}@{self.base}" + (f"~{self.ancestors}" if self.ancestors else "")


def parse_ref(text: str) -> Ref:
    """Parse ``repo``, ``repo@branch``, ``repo@<id>``, ``repo@branch^2`` or ``repo@branch~3``."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidArgument(
            f"invalid ref {text!r}: expected repo@branch or repo@commit", ref=text
        )
    repo, sep, rest = text.strip().partition("@")
    check_repo_name(repo)
    if not sep:
        return Ref(repo)
    m = re.match(r"[A-Za-z0-9_-]+", rest)
    if not m:
        raise InvalidArgument(
            f"invalid ref {text!r}: expected a branch or commit id after '@'", ref=text
        )
    base, tail = m.group(0), rest[m.end() :]
    ancestors = 0
    pos = 0
    while pos < len(tail):
        s = _SUFFIX.match(tail, pos)
        if not s:
            raise InvalidArgument(
                f"invalid ref {text!r}: unexpected {tail[pos:]!r} (use ^N or ~N for ancestors)",
                ref=text,
            )
        ancestors += int(s.group(2)) if s.group(2) else 1
        pos = s.end()
    return Ref(repo, base, ancestors, explicit=True)


def parse_file_ref(text: str, default_path: str = "/") -> tuple[Ref, str]:
    """Parse ``repo@ref:/path`` into a :class:`Ref` and a cleaned path."""
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid file ref {text!r}", ref=text)
    ref_text, sep, path = text.partition(":")
    ref = parse_ref(ref_text)
    return ref, clean_path(path if sep and path else default_path)


def parse_branch(text: str) -> tuple[str, str]:
    """Parse ``repo@branch`` (``repo`` alone means master) for verbs that write to a branch."""
    from .names import check_branch_name

    ref = parse_ref(text)
    if ref.ancestors:
        raise InvalidArgument(f"{text!r} names an ancestor; a branch is needed here", ref=text)
    return ref.repo, check_branch_name(ref.base)
