"""Parsing of pachctl-style refs.

Grammar::

    commit ref   repo[@base[@{time}][suffix...]]  base: a branch name or a commit id (or prefix)
    time         an ISO 8601 date or time          the branch as it was then (UTC if no zone)
    suffix       ^  |  ^N  |  ~N               N-th ancestor (``^`` is ``^1``; ``~N`` is the same)
    file ref     commit-ref[:path]

``repo`` alone means ``repo@master``. ``model@master@{2026-11-30T10:00Z}`` is the commit that was
the head of ``model@master`` at that time, from the branch timeline (a deleted branch's too);
quote it in a shell, whose braces are special. Resolution (which commit a base names) is the
store's job; this module only parses, and refuses malformed text with a message that says what
is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

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
    at: datetime | None = None
    """With a branch base: the branch as it was at this time (an aware UTC datetime)."""

    def __str__(self) -> str:
        at = f"@{{{self.at.isoformat()}}}" if self.at is not None else ""
        return f"{self.repo}@{self.base}{at}" + (f"~{self.ancestors}" if self.ancestors else "")


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or date-time as an aware UTC datetime (no zone given: UTC)."""
    t = text.strip()
    if t[-1:] in ("Z", "z"):
        t = t[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(t)
    except ValueError:
        raise InvalidArgument(
            f"invalid time {text!r}: use ISO 8601, e.g. 2026-11-30T10:00Z or 2026-11-30",
            time=text,
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


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
    at = None
    if tail.startswith("@{"):
        end = tail.find("}")
        if end < 0:
            raise InvalidArgument(f"invalid ref {text!r}: '@{{' without a closing '}}'", ref=text)
        at, tail = parse_time(tail[2:end]), tail[end + 1 :]
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
    return Ref(repo, base, ancestors, explicit=True, at=at)


def parse_file_ref(text: str, default_path: str = "/") -> tuple[Ref, str]:
    """Parse ``repo@ref:/path`` into a :class:`Ref` and a cleaned path."""
    if not isinstance(text, str):
        raise InvalidArgument(f"invalid file ref {text!r}", ref=text)
    ref_text, path = split_file_ref(text)
    ref = parse_ref(ref_text)
    return ref, clean_path(path or default_path)


def split_file_ref(text: str) -> tuple[str, str | None]:
    """``repo@ref:/path`` as ``("repo@ref", "/path")`` (``None`` without a path): the first
    ``:`` after the ref's ``@{time}``, if any (names never contain ``:``; times do)."""
    start = 0
    brace = text.find("@{")
    if brace >= 0:
        close = text.find("}", brace)
        start = close + 1 if close >= 0 else len(text)
    colon = text.find(":", start)
    if colon < 0:
        return text, None
    return text[:colon], (text[colon + 1 :] or None)


def parse_branch(text: str) -> tuple[str, str]:
    """Parse ``repo@branch`` (``repo`` alone means master) for verbs that write to a branch."""
    from .names import check_branch_name

    ref = parse_ref(text)
    if ref.ancestors or ref.at is not None:
        raise InvalidArgument(f"{text!r} names a past commit; a branch is needed here", ref=text)
    return ref.repo, check_branch_name(ref.base)
