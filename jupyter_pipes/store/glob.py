"""Glob patterns with Pachyderm 2.x semantics.

Pachyderm matches datum globs with the Go library ``pachyderm/ohmyglob`` (compiled with the
separator ``'/'``), which translates a glob into a backtracking regular expression. This module
ports its lexer, parser and regex compiler to Python's :mod:`re`, so that matches, capture group
numbering and the peculiar scoping of ``!(...)`` behave exactly like Pachyderm's.

Syntax: ``*`` (a run without separators), ``**`` (any run), ``?`` (one non-separator char),
``[abc]``, ``[a-z]``, ``[!a-z]``/``[^a-z]``, ``[[:alpha:]]``, ``{a,b}`` (alternatives, no
capture), ``\\`` escapes, and capturing groups ``(a|b)``/``@(a|b)``, ``?(..)``, ``*(..)``,
``+(..)``, ``!(..)``. Only parenthesised groups capture.

Deliberate deviation: ohmyglob silently auto-closes an unclosed ``{``/``(`` and reads a stray
``)``/``}``/``]`` as text; we raise :class:`~jupyter_pipes.errors.InvalidArgument` for any
unbalanced bracket, brace or parenthesis (unescaped, outside ``[...]``). Balanced patterns are
lexed exactly like ohmyglob, quirks included: e.g. in ``(a+|b)`` the ``+|b)`` is literal text.
"""

from __future__ import annotations

import functools
import posixpath
import re
import warnings
from collections.abc import Iterable

from jupyter_pipes.errors import InvalidArgument

__all__ = ["Glob", "clean_glob", "glob_entries", "literal_prefix"]

# --- Lexer (port of ohmyglob syntax/lexer) ---

_BASIC = frozenset("?*[{(")
_EXTENDED = _BASIC | frozenset("@!^+")
_IN_CAPTURE = _EXTENDED | frozenset(")|")
_IN_TERMS = _EXTENDED | frozenset("},")
_META = frozenset("*?[]{}()!@+^\\")  # characters that make a path component non-literal

# POSIX classes are expanded textually inside [...] by ohmyglob (":graph:" really ends in "]").
# fmt: off
_POSIX = {
    ":alnum:": "0-9A-Za-z", ":alpha:": "A-Za-z", ":ascii:": "\x00-\x7f", ":blank:": "\t ",
    ":cntrl:": "\x00-\x1f\x7f", ":digit:": "0-9", ":graph:": "!-~]", ":lower:": "a-z",
    ":print:": " -~", ":punct:": "!-/:-@[-`{-~", ":space:": "\t\n\v\f\r ", ":upper:": "A-Z",
    ":word:": "0-9A-Za-z_", ":xdigit:": "0-9A-Fa-f",
}
# fmt: on

# Token kinds.
_TEXT, _ANY, _SUPER, _SINGLE, _LIST, _OPEN, _CLOSE, _SEP = range(8)


def _bad(pattern: str, reason: str) -> InvalidArgument:
    return InvalidArgument(f"invalid glob pattern {pattern!r}: {reason}", pattern=pattern)


def _check_balance(pattern: str) -> None:
    """Reject unbalanced ``{}``/``()``/``]`` (ohmyglob would silently auto-close or go literal)."""
    stack: list[tuple[str, int]] = []
    pos, n = 0, len(pattern)
    while pos < n:
        r = pattern[pos]
        pos += 1
        if r == "\\":
            if pos == n:
                raise _bad(pattern, "dangling escape '\\' at the end")
            pos += 1
        elif r == "[":
            pos = _lex_range(pattern, pos, [])
        elif r in "({":
            stack.append((r, pos - 1))
        elif r in ")}]" and (r == "]" or not stack or stack.pop()[0] != {")": "(", "}": "{"}[r]):
            raise _bad(pattern, f"unbalanced {r!r} at offset {pos - 1}")
    if stack:
        raise _bad(pattern, f"unclosed {stack[-1][0]!r} at offset {stack[-1][1]}")


def _lex(pattern: str) -> list[tuple[int, object]]:
    """Tokenize exactly like ohmyglob's lexer (including its quirks with nested groups)."""
    _check_balance(pattern)
    toks: list[tuple[int, object]] = []
    terms = capture = 0  # ohmyglob tracks nesting with two independent counters
    pos, n = 0, len(pattern)

    def text(pos: int, breakers: frozenset[str]) -> int:
        data: list[str] = []
        escaped = False
        while pos < n:
            r = pattern[pos]
            if not escaped:
                if r == "\\":
                    escaped, pos = True, pos + 1
                    continue
                if r in breakers:
                    break
            escaped = False
            data.append(r)
            pos += 1
        toks.append((_TEXT, "".join(data)))
        return pos

    while pos < n:
        r, nxt = pattern[pos], pattern[pos + 1 : pos + 2]
        pos += 1
        quantifier = ""
        if r == "{":
            terms += 1
            toks.append((_OPEN, None))
        elif (r == "," and terms) or (r == "|" and capture):
            toks.append((_SEP, None))
        elif r == "}" and terms:
            terms -= 1
            toks.append((_CLOSE, None))
        elif r == "[":
            pos = _lex_range(pattern, pos, toks)
        elif r == "(":
            quantifier = "@"
        elif r in "@!^+":
            if nxt == "(":
                pos, quantifier = pos + 1, r
            else:
                pos = text(pos - 1, _BASIC)
        elif r == ")" and capture:
            capture -= 1
            toks.append((_CLOSE, None))
        elif r == "?" or r == "*":
            if nxt == "(":
                pos, quantifier = pos + 1, r
            elif r == "*" and nxt == "*" and pattern[pos + 1 : pos + 2] != "(":
                pos += 1
                toks.append((_SUPER, None))
            else:
                toks.append((_SINGLE if r == "?" else _ANY, None))
        else:
            pos = text(pos - 1, _IN_TERMS if terms else _IN_CAPTURE if capture else _EXTENDED)
        if quantifier == "^":
            raise _bad(pattern, "'^(...)' is not supported by Pachyderm's glob library")
        if quantifier:
            capture += 1
            toks.append((_OPEN, quantifier))
    return toks


def _lex_range(pattern: str, pos: int, toks: list[tuple[int, object]]) -> int:
    """Lex the inside of ``[...]`` starting after the ``[``; return the position after ``]``."""
    negate = in_posix = escaped = False
    data: list[str] = []
    while True:
        if pos >= len(pattern):
            raise _bad(pattern, "unterminated character class '['")
        r = pattern[pos]
        pos += 1
        if not escaped:
            if r == "\\":
                escaped = True
                continue
            if r == "[":
                in_posix = True
            elif r == "]":
                if not in_posix:
                    break
                in_posix = False
            elif not negate and r in "!^":  # ohmyglob: the first '!'/'^' anywhere negates
                negate = True
                continue
        escaped = False
        data.append(r)
    chars = "".join(data)
    if not chars:
        raise _bad(pattern, "empty character class")
    for name, expansion in _POSIX.items():
        chars = chars.replace(name, expansion)
    toks.append((_LIST, (negate, chars)))
    return pos


# --- Parser + regex compiler (port of ohmyglob syntax/ast and compiler) ---

_NEG = "\uffff"  # marks the end of a negation's alternatives (closeNegDummy)
_BOUND = "\ufffe"  # text, '*' and '**' bound the scope of a negation (boundaryDummy)
_PUNCT = frozenset("\\.+*?()|[]{}^$&~#-")


def _escape(s: str, in_class: bool = False) -> str:
    out = []
    for c in s:
        if c in _PUNCT and not (in_class and c == "-"):
            out.append("\\" + c)
        elif c in (_NEG, _BOUND) or c.isspace() or ord(c) < 32 or ord(c) == 127:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        else:
            out.append(c)
    return "".join(out)


def _group(quantifier: str | None, alternatives: list[list[str]], dot: str) -> str:
    if quantifier is None:  # {a,b}: a non-capturing alternation
        return "(?:" + "|".join(map("".join, alternatives)) + ")"
    # Each alternative of a negation ends with a marker resolved in _to_regex.
    inner = (_NEG + "|" if quantifier == "!" else "|").join(map("".join, alternatives))
    if quantifier == "!":
        return f"((?:(?!(?:{inner}{_NEG})){dot}*))"
    return "(" + inner + ")" if quantifier == "@" else f"((?:{inner}){quantifier})"


def _leaf(kind: int, value: object, dot: str) -> str:
    if kind == _TEXT:
        return _escape(value) + _BOUND  # type: ignore[arg-type]
    if kind == _LIST:
        negate, chars = value  # type: ignore[misc]
        return "[" + ("^" if negate else "") + _escape(chars, in_class=True) + "]"
    return {_ANY: dot + "*" + _BOUND, _SUPER: ".*" + _BOUND, _SINGLE: dot}[kind]


def _emit(toks: list[tuple[int, object]], dot: str) -> str:
    """Build the regex like ohmyglob's parser + compiler (a close ends the innermost group)."""
    stack: list[tuple[str | None, list[list[str]]]] = [(None, [[]])]
    for kind, value in toks:
        if kind == _OPEN:
            stack.append((value, [[]]))  # type: ignore[arg-type]
        elif kind == _SEP:
            stack[-1][1].append([])
        elif kind == _CLOSE:
            stack[-2][1][-1].append(_group(*stack.pop(), dot))
        else:
            stack[-1][1][-1].append(_leaf(kind, value, dot))
    while len(stack) > 1:  # ohmyglob silently closes groups its lexer left open
        stack[-2][1][-1].append(_group(*stack.pop(), dot))
    return "".join(stack[0][1][0])


def _to_regex(pattern: str, separators: str) -> str:
    dot = "[^" + _escape(separators, in_class=True) + "]" if separators else "."
    regex = _emit(_lex(pattern), dot)
    # A negation matches "anything but the alternatives" up to the next boundary; when the first
    # negation is followed by no text/'*'/'**' at all, ohmyglob anchors all of them to the end.
    index = regex.find(_NEG + ")")
    if index > 0:
        regex = regex.replace(_NEG, "" if _BOUND in regex[index:] else "$")
    return r"\A" + regex.replace(_BOUND, "") + r"\Z"


# --- Public API ---


class Glob:
    """A compiled glob pattern; build it with :meth:`Glob.compile`.

    Attributes
    ----------
    pattern : str
        The glob as given.
    separators : str
        Characters that ``*`` and ``?`` do not match (``'/'`` for Pachyderm paths).
    regex : re.Pattern[str]
        The equivalent anchored Python regular expression.
    """

    __slots__ = ("pattern", "regex", "separators")

    def __init__(self, pattern: str, separators: str, regex: re.Pattern[str]) -> None:
        self.pattern, self.separators, self.regex = pattern, separators, regex

    @classmethod
    def compile(cls, pattern: str, separators: str = "/") -> Glob:
        """Compile ``pattern`` (cached).

        Parameters
        ----------
        pattern : str
            The glob, e.g. ``'/data/*/(*).csv'``.
        separators : str, optional
            Separator characters, ``'/'`` by default (as in Pachyderm); ``''`` for none.

        Returns
        -------
        Glob

        Raises
        ------
        InvalidArgument
            If the pattern is malformed (unbalanced ``[]``/``{}``/``()``, empty ``[]`` ...).
        """
        return _compile(pattern, separators)

    def match(self, s: str) -> bool:
        """Whether the whole of ``s`` matches the glob."""
        return self.regex.match(s) is not None

    def capture(self, s: str) -> list[str] | None:
        """Match ``s`` and return ``[whole, group1, group2, ...]``, or ``None`` if no match.

        Groups are numbered by their opening parenthesis; a group that did not take part in the
        match is ``''`` (as in ohmyglob).
        """
        m = self.regex.match(s)
        if m is None:
            return None
        return [m.group(0), *(g or "" for g in m.groups())]

    def replace(self, s: str, template: str) -> str:
        """Expand ``$n`` / ``${n}`` in ``template`` with the groups captured from ``s``.

        ``$$`` is a literal ``$``; a malformed reference keeps its ``$``; a group that does not
        exist (or no match at all) expands to ``''``.
        """
        groups = self.capture(s) or []
        return _TEMPLATE_REF.sub(lambda m: _expand(m, groups), template)

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r}, separators={self.separators!r})"


_TEMPLATE_REF = re.compile(r"\$(?:(\$)|\{([0-9]+)\}|([0-9]+))")


def _expand(m: re.Match[str], groups: list[str]) -> str:
    if m.group(1):
        return "$"
    name = m.group(2) or m.group(3)
    if len(name) > 1 and name[0] == "0":  # leading zeros are invalid references
        return ""
    num = int(name)
    return groups[num] if num < len(groups) else ""


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str, separators: str) -> Glob:
    source = _to_regex(pattern, separators)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # "possible set operation" noise
            regex = re.compile(source)
    except re.error as exc:
        raise _bad(pattern, str(exc)) from None
    return Glob(pattern, separators, regex)


def clean_glob(pattern: str) -> str:
    """Canonicalize a glob like Pachyderm: Go ``path.Clean``, leading ``'/'``, no trailing ``'/'``.

    Parameters
    ----------
    pattern : str
        The glob as written, e.g. ``''`` -> ``'/'``, ``'*'`` -> ``'/*'``, ``'/d/'`` -> ``'/d'``,
        ``'/d/../a'`` -> ``'/a'`` (the cleaning is textual, glob characters included).

    Returns
    -------
    str
    """
    cleaned = posixpath.normpath(pattern)  # == Go's path.Clean once the '/'s are trimmed
    return "/" if cleaned == "." else "/" + cleaned.strip("/")


def literal_prefix(pattern: str) -> str:
    """The leading whole path components of the (cleaned) glob that are plain text.

    Parameters
    ----------
    pattern : str
        A glob, e.g. ``'/data/2024/*.csv'`` -> ``'/data/2024/'``, ``'/a/b'`` -> ``'/a/'``.

    Returns
    -------
    str
        A prefix of every entry the glob can match (so other subtrees can be skipped); starts
        and ends with ``'/'``, just ``'/'`` if no component is literal.
    """
    parts = clean_glob(pattern).split("/")[1:-1]  # the last component may name a file
    prefix = "/"
    for part in parts:
        if _META.intersection(part):
            break
        prefix += part + "/"
    return prefix


def glob_entries(files: Iterable[str], pattern: str) -> list[str]:
    """The entries of a commit that a Pachyderm glob selects (like PFS ``GlobFile``).

    Parameters
    ----------
    files : Iterable[str]
        Absolute paths of the commit's files, e.g. ``'/a/b.txt'``; directories are implied.
    pattern : str
        The glob; it is cleaned with :func:`clean_glob` first.

    Returns
    -------
    list[str]
        Sorted matching entries: files ``'/a/b.txt'``, directories ``'/a/'`` (matched without
        their trailing ``'/'``), the root ``'/'`` (matched only by the glob ``'/'``, and only
        present if there is a file). Raises InvalidArgument for a malformed glob.
    """
    glob = clean_glob(pattern)
    compiled = Glob.compile(glob, "/")
    prefix = literal_prefix(glob)
    entries: set[str] = set()
    dirs: set[str] = set()  # implied directories, generated once per distinct parent
    for path in files:
        if not path.startswith("/"):
            path = "/" + path
        entries.add(path)
        i = path.rfind("/", 0, len(path) - 1)
        while i > 0:
            parent = path[: i + 1]
            if parent in dirs:
                break
            dirs.add(parent)
            i = path.rfind("/", 0, i)
    entries |= dirs | ({"/"} if entries else set())
    match = compiled.regex.match
    return sorted(
        e for e in entries if e.startswith(prefix) and (e == glob == "/" or match(e.rstrip("/")))
    )
