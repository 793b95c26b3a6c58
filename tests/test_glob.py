"""Conformance and unit tests for :mod:`jupyter_pipes.store.glob` (Pachyderm/ohmyglob globs).

The tables in ``tests/data/pachyderm_conformance.json`` are the test tables of
``pachyderm/ohmyglob`` plus GlobFile cases derived from Pachyderm 2.x docs and code.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from jupyter_pipes.errors import InvalidArgument
from jupyter_pipes.store.glob import Glob, clean_glob, glob_entries, literal_prefix

DATA = json.loads((Path(__file__).parent / "data" / "pachyderm_conformance.json").read_text())
LIBRARY = DATA["glob_library"]
GLOB_CASES = [c for c in DATA["cases"] if c["kind"] == "glob"]
CAPTURE_CASES = [c for c in DATA["cases"] if c["kind"] == "capture"]


def _row_id(i: int, row: dict, *extra: str) -> str:
    sep = f" sep={row['separators']!r}" if row.get("separators") else ""
    return (
        " ".join([f"{row['test']}#{i}", repr(row["pattern"]), "~", repr(row["input"]), *extra])
        + sep
    )


# --- ohmyglob library tables -----------------------------------------------------------------


@pytest.mark.parametrize(
    "row",
    LIBRARY["match"],
    ids=[_row_id(i, r, "->", str(r["should_match"])) for i, r in enumerate(LIBRARY["match"])],
)
def test_library_match(row: dict) -> None:
    glob = Glob.compile(row["pattern"], row["separators"])
    assert glob.match(row["input"]) is row["should_match"]


@pytest.mark.parametrize(
    "row", LIBRARY["capture"], ids=[_row_id(i, r) for i, r in enumerate(LIBRARY["capture"])]
)
def test_library_capture(row: dict) -> None:
    got = Glob.compile(row["pattern"], row["separators"]).capture(row["input"])
    # ohmyglob returns nil for no match; every matching row of the table has groups.
    expected = [row["input"], *row["groups"]] if row["groups"] else None
    assert got == expected


@pytest.mark.parametrize(
    "row",
    LIBRARY["replace"],
    ids=[_row_id(i, r, repr(r["template"])) for i, r in enumerate(LIBRARY["replace"])],
)
def test_library_replace(row: dict) -> None:
    glob = Glob.compile(row["pattern"], row["separators"])
    assert glob.replace(row["input"], row["template"]) == row["expected"]


# --- Pachyderm GlobFile / capture cases ------------------------------------------------------


@pytest.mark.parametrize("case", GLOB_CASES, ids=[c["id"] for c in GLOB_CASES])
def test_glob_entries_case(case: dict) -> None:
    assert glob_entries(case["repos"][case["repo"]], case["glob"]) == case["expected_paths"]


@pytest.mark.parametrize("case", CAPTURE_CASES, ids=[c["id"] for c in CAPTURE_CASES])
def test_capture_case(case: dict) -> None:
    glob = Glob.compile(clean_glob(case["glob"]))
    entry = case["matched_entry"]
    # GlobFile selects exactly this entry of a repo holding the one file ...
    assert glob_entries([case["path"]], case["glob"]) == [entry]
    # ... and captures are taken on the entry's path with the trailing '/' trimmed.
    got = glob.capture(entry.rstrip("/"))
    assert got is not None
    assert got[1:] == case["observed_captures"]
    if entry != case["path"]:  # anchored: the full file path itself does not match
        assert glob.capture(case["path"]) is None


# --- Glob API --------------------------------------------------------------------------------


def test_compile_is_cached_and_keyed_by_separators() -> None:
    assert Glob.compile("/a/*") is Glob.compile("/a/*")
    assert Glob.compile("/a/*") is not Glob.compile("/a/*", "")
    assert Glob.compile("/a/*").pattern == "/a/*"


@pytest.mark.parametrize(
    ("pattern", "separators", "text", "expected"),
    [
        ("*", "/", "a/b", False),
        ("*", "", "a/b", True),
        ("?", "/", "/", False),
        ("**", "/", "a/b/c", True),
        ("/a/*.txt", "/", "/a/x.txt", True),
        ("/a/*.txt", "/", "/a/b/x.txt", False),
        ("/a/**.txt", "/", "/a/b/x.txt", True),
        ("[!/]", "", "/", False),
        ("{a,b/c}", "/", "b/c", True),
        ("\\*", "/", "*", True),
        ("\\*", "/", "x", False),
        ("a", "/", "a\n", False),
    ],
)
def test_match_basics(pattern: str, separators: str, text: str, expected: bool) -> None:
    assert Glob.compile(pattern, separators).match(text) is expected


def test_capture_numbering_and_unmatched_groups() -> None:
    glob = Glob.compile("/(*)/{x,y}/?(a)*(b)!(c)")
    # '*', '?' and '{..}' do not capture; parenthesised groups do, by opening parenthesis.
    assert glob.capture("/top/x/bbd") == ["/top/x/bbd", "top", "", "bb", "d"]
    assert glob.capture("/top/z/a") is None
    assert Glob.compile("(a|(b))c").capture("ac") == ["ac", "a", ""]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$1-$2", "adele-2016"),
        ("${1}x", "adelex"),
        ("$$1", "$1"),
        ("$9", ""),
        ("$01", ""),
        ("cost: $", "cost: $"),
        ("${1", "${1"),
        ("$x", "$x"),
    ],
)
def test_replace_templates(template: str, expected: str) -> None:
    glob = Glob.compile("name=(*)/year=(*)")
    assert glob.replace("name=adele/year=2016", template) == expected


def test_replace_without_match_blanks_groups() -> None:
    assert Glob.compile("a(*)").replace("zzz", "<$1|$0>") == "<|>"


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        # In ohmyglob a '+' not followed by '(' starts literal text that runs to the next
        # '?*[{(' -- so '(a+|b)' is one group containing the literal text 'a+|b)'.
        ("(a+|b)", "a+|b)", True),
        ("(a+|b)", "a", False),
        # Any '!' or '^' in a bracket expression negates it, not only the first character.
        ("[a!b]", "c", True),
        ("[a!b]", "a", False),
        # POSIX classes are expanded textually; the class keeps its brackets as members.
        ("[[:digit:]]", "7", True),
        ("[[:digit:]]", "[", True),
    ],
)
def test_ohmyglob_quirks(pattern: str, text: str, expected: bool) -> None:
    assert Glob.compile(pattern, "").match(text) is expected


def test_negation_scope_depends_on_what_follows() -> None:
    # With nothing bounding it, '!(x)' must not match the remainder exactly ...
    assert Glob.compile("!(foo)", "").match("foobar") is True
    # ... but followed by '*' it must not even start with the alternative.
    assert Glob.compile("!(foo)*", "").match("foobar") is False
    assert Glob.compile("/!(foo*)").match("/bar") is True
    assert Glob.compile("/!(foo*)").match("/bar/baz") is False


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "/a/[bc",
        "[",
        "[]",
        "[!]",
        "[z-a]",
        "{a,b",
        "a}",
        "/(ab",
        "ab)",
        "@(a|b",
        "!(a",
        "a]",
        "{a,(b})",
        "(a{b)}",
        "^(a)",
        "a\\",
    ],
)
def test_invalid_patterns_raise(pattern: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        Glob.compile(pattern)
    assert info.value.fields["pattern"] == pattern
    assert repr(pattern) in str(info.value)
    assert "invalid glob pattern" in str(info.value)
    assert info.value.to_dict()["error"] == "InvalidArgument"


def test_glob_entries_rejects_invalid_glob() -> None:
    with pytest.raises(InvalidArgument, match="unclosed"):
        glob_entries(["/a"], "/{a,b")


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("\\[", "["),
        ("a\\]", "a]"),
        ("\\(\\)", "()"),
        ("\\{x\\}", "{x}"),
        ("[\\]]", "]"),
        ("[[]]", "["),
    ],
)
def test_escaped_brackets_are_literal(pattern: str, text: str) -> None:
    assert Glob.compile(pattern).match(text) is True


# --- clean_glob / literal_prefix / glob_entries ----------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", "/"),
        (".", "/"),
        ("/", "/"),
        ("//", "/"),
        ("*", "/*"),
        ("/dir/", "/dir"),
        ("dir/sub//x/", "/dir/sub/x"),
        ("/dir/../a", "/a"),
        ("/./a/./b", "/a/b"),
        ("/..", "/"),
        ("../a", "/../a"),  # Go path.Clean keeps a leading '..' of a relative path
        ("/{a,b/../c}", "/c}"),  # cleaning is purely textual
    ],
)
def test_clean_glob(pattern: str, expected: str) -> None:
    assert clean_glob(pattern) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/data/2024/*.csv", "/data/2024/"),
        ("/data/2024", "/data/"),
        ("/a/b/", "/a/"),
        ("/", "/"),
        ("", "/"),
        ("*", "/"),
        ("/**", "/"),
        ("/a/b*/c", "/a/"),
        ("/a/{b,c}/d", "/a/"),
        ("/a/@(b)/d", "/a/"),
        ("/a/b\\*/c", "/a/"),
        ("a/./b/../c/*", "/a/c/"),
    ],
)
def test_literal_prefix(pattern: str, expected: str) -> None:
    assert literal_prefix(pattern) == expected


def test_literal_prefix_is_a_prefix_of_every_match() -> None:
    files = ["/data/2024/a.csv", "/data/2024/b/c.csv", "/data/2023/a.csv", "/data/x", "/y.csv"]
    for pattern in ["/data/2024/*.csv", "/data/*/*.csv", "/data/**", "/data/2024", "/**"]:
        prefix = literal_prefix(pattern)
        entries = glob_entries(files, pattern)
        assert entries
        assert all(e.startswith(prefix) for e in entries), (pattern, prefix, entries)


def test_glob_entries_root_and_directories() -> None:
    files = ["/b/c.txt", "/a.txt", "/b/c.txt", "b/d/e.txt"]  # duplicate + relative path
    assert glob_entries(files, "/") == ["/"]
    assert glob_entries(files, "/*") == ["/a.txt", "/b/"]
    assert glob_entries(files, "/b/*") == ["/b/c.txt", "/b/d/"]
    assert glob_entries(files, "/**") == ["/a.txt", "/b/", "/b/c.txt", "/b/d/", "/b/d/e.txt"]
    assert glob_entries(files, "/b/d/e.txt/") == ["/b/d/e.txt"]
    assert glob_entries([], "/") == []
    assert glob_entries([], "/**") == []
    assert glob_entries(iter(files), "/b") == ["/b/"]


def test_glob_entries_is_fast_on_100k_files() -> None:
    files = [f"/dir{i % 300}/sub{i % 7}/file{i}.dat" for i in range(100_000)]
    start = time.perf_counter()
    top = glob_entries(files, "/*")
    elapsed = time.perf_counter() - start
    assert len(top) == 300
    assert top[0] == "/dir0/"
    assert elapsed < 1.0, f"glob_entries took {elapsed:.2f}s"
    flat = [f"/f{i}" for i in range(100_000)]
    start = time.perf_counter()
    assert len(glob_entries(flat, "/*")) == 100_000
    assert time.perf_counter() - start < 1.0
