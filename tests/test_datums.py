"""Conformance and unit tests for :mod:`jupyter_pipes.pipeline.datums` (Pachyderm 2.x datums).

Every ``kind == "datums"`` case of ``tests/data/pachyderm_conformance.json`` runs against
:func:`compute_datums`, compared as the data's conventions say: datums and the items of a datum
are unordered, duplicates count (multisets of sorted ``(name, path)`` pairs), plus whatever the
case's ``asserted.type`` checks.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3

from jupyter_pipes.pipeline.datums import Datum, DatumInput, compute_datums, datum_id
from jupyter_pipes.pipeline.spec import Input, PfsInput
from jupyter_pipes.store.glob import glob_entries

DATA = json.loads((Path(__file__).parent / "data" / "pachyderm_conformance.json").read_text())
DATUM_CASES = [c for c in DATA["cases"] if c["kind"] == "datums"]
GLOB_CASES = [c for c in DATA["cases"] if c["kind"] == "glob"]
CAPTURE_CASES = [c for c in DATA["cases"] if c["kind"] == "capture"]

Lister = Callable[[PfsInput], list[tuple[str, str, int]]]


def make_lister(repos: dict[str, list[str]], salt: str = "") -> Lister:
    """Glob matches from file lists; the hash of an entry is a fake one: BLAKE3 of its path."""

    def lister(pfs: PfsInput) -> list[tuple[str, str, int]]:
        entries = glob_entries(repos.get(pfs.repo, []), pfs.glob)
        return [(e, blake3((salt + e).encode()).hexdigest(), len(e)) for e in entries]

    return lister


def datums_of(inp: dict[str, Any], repos: dict[str, list[str]]) -> list[Datum]:
    return compute_datums(Input.model_validate(inp), make_lister(repos))


def multiset(datums: Iterable[Iterable[Iterable[str]]]) -> Counter[tuple[tuple[str, ...], ...]]:
    """Datums as a multiset of sorted item tuples (order of datums and of items ignored)."""
    return Counter(tuple(sorted(tuple(item) for item in datum)) for datum in datums)


def pairs(datums: list[Datum]) -> Counter[tuple[tuple[str, ...], ...]]:
    return multiset([(i.name, i.path) for i in d.inputs] for d in datums)


# --- What each asserted type checks (conventions.asserted) ---------------------------------


def check_datum_count(case: dict[str, Any], datums: list[Datum]) -> None:
    assert len(datums) == case["asserted"]["value"]


def check_datums_sorted_paths(case: dict[str, Any], datums: list[Datum]) -> None:
    expected = Counter(tuple(sorted(paths)) for paths in case["asserted"]["datums"])
    assert Counter(tuple(sorted(i.path for i in d.inputs)) for d in datums) == expected


def check_derived_from_code(case: dict[str, Any], datums: list[Datum]) -> None:
    """No upstream assertion: expected_datums (checked for every case) and, when the case has
    them, the per-item keys Pachyderm's datum code computes: ``join_on + '|' + group_by``."""
    if "expected_keys" not in case:
        return
    expected = multiset(
        [(n, p, k) for (n, p), k in zip(datum, keys, strict=True)]
        for datum, keys in zip(case["expected_datums"], case["expected_keys"], strict=True)
    )
    got = multiset(
        [(i.name, i.path, f"{i.join_on}|{i.group_by}") for i in d.inputs] for d in datums
    )
    assert got == expected


ASSERTED: dict[str, Callable[[dict[str, Any], list[Datum]], None]] = {
    "datum_count": check_datum_count,
    "datums_sorted_paths": check_datums_sorted_paths,
    "derived_from_code": check_derived_from_code,
}


def test_every_asserted_type_of_the_datum_cases_is_checked() -> None:
    assert DATUM_CASES, "no datum cases in the conformance data"
    assert {c["asserted"]["type"] for c in DATUM_CASES} <= set(ASSERTED)


@pytest.mark.parametrize("case", DATUM_CASES, ids=[c["id"] for c in DATUM_CASES])
def test_conformance_datums(case: dict[str, Any]) -> None:
    datums = datums_of(case["input"], case["repos"])
    assert pairs(datums) == multiset(case["expected_datums"])
    ASSERTED[case["asserted"]["type"]](case, datums)


@pytest.mark.parametrize("case", GLOB_CASES, ids=[c["id"] for c in GLOB_CASES])
def test_conformance_globs_as_pfs_datums(case: dict[str, Any]) -> None:
    """A pfs input gives one datum per entry the glob selects (the glob cases' entries)."""
    datums = datums_of({"pfs": {"repo": case["repo"], "glob": case["glob"]}}, case["repos"])
    assert sorted(i.path for d in datums for i in d.inputs) == sorted(case["expected_paths"])
    assert all(len(d.inputs) == 1 and d.inputs[0].name == case["repo"] for d in datums)


@pytest.mark.parametrize("case", CAPTURE_CASES, ids=[c["id"] for c in CAPTURE_CASES])
def test_conformance_captures_reach_join_on(case: dict[str, Any]) -> None:
    """The docs' capture table, through datums: the entry the glob matches gets the captures."""
    captures = case["asserted"]["value"]
    template = "|".join(f"${{{n}}}" for n in range(1, len(captures) + 1))
    inp = {"pfs": {"repo": "r", "glob": case["glob"], "join_on": template}}
    (datum,) = datums_of(inp, {"r": [case["path"]]})
    assert datum.inputs[0].path == case["matched_entry"]
    assert datum.inputs[0].join_on == "|".join(captures)


# --- Unit tests ----------------------------------------------------------------------------

REPOS = {
    "A": ["/1.txt", "/2.txt"],
    "B": ["/x/a.csv", "/x/b.csv", "/y/c.csv"],
    "C": ["/1.json", "/3.json"],
    "E": [],
}


def test_pfs_items_carry_everything() -> None:
    inp = {"pfs": {"repo": "B", "branch": "dev", "glob": "/(*)", "name": "b", "group_by": "$1"}}
    datums = datums_of(inp, REPOS)
    assert [d.inputs[0].path for d in sorted(datums, key=lambda d: d.inputs[0].path)] == [
        "/x/", "/y/"
    ]  # fmt: skip
    item = next(d.inputs[0] for d in datums if d.inputs[0].path == "/x/")
    assert (item.name, item.repo, item.branch, item.group_by, item.join_on) == (
        "b", "B", "dev", "x", ""
    )  # fmt: skip
    assert item.hash == blake3(b"/x/").hexdigest() and item.size == 3


def test_root_glob_is_one_datum_of_the_whole_repo() -> None:
    (datum,) = datums_of({"pfs": {"repo": "B", "glob": "/"}}, REPOS)
    assert [(i.name, i.path) for i in datum.inputs] == [("B", "/")]
    assert datums_of({"pfs": {"repo": "E", "glob": "/"}}, REPOS) == []


def test_cross_of_a_union() -> None:
    inp = {"cross": [
        {"union": [{"pfs": {"repo": "A", "glob": "/*", "name": "u"}},
                   {"pfs": {"repo": "C", "glob": "/*", "name": "u"}}]},
        {"pfs": {"repo": "B", "glob": "/*"}},
    ]}  # fmt: skip
    datums = datums_of(inp, REPOS)
    assert len(datums) == 4 * 2
    assert pairs(datums) == multiset(
        [("u", u), ("B", b)]
        for u in ["/1.txt", "/2.txt", "/1.json", "/3.json"]
        for b in ["/x/", "/y/"]
    )


def test_join_inside_a_cross() -> None:
    inp = {"cross": [
        {"join": [{"pfs": {"repo": "A", "glob": "/(*).txt", "join_on": "$1"}},
                  {"pfs": {"repo": "C", "glob": "/(*).json", "join_on": "$1"}}]},
        {"pfs": {"repo": "B", "glob": "/*/*"}},
    ]}  # fmt: skip
    datums = datums_of(inp, REPOS)
    assert pairs(datums) == multiset(
        [("A", "/1.txt"), ("C", "/1.json"), ("B", b)] for b in REPOS["B"]
    )


def test_group_inside_a_cross_and_a_union_inside_a_group() -> None:
    inp = {"cross": [
        {"group": [{"union": [
            {"pfs": {"repo": "B", "glob": "/(*)/*.csv", "group_by": "$1", "name": "g"}},
            {"pfs": {"repo": "A", "glob": "/*", "name": "g"}},  # no group_by: key ''
        ]}]},
        {"pfs": {"repo": "C", "glob": "/3.json"}},
    ]}  # fmt: skip
    datums = datums_of(inp, REPOS)
    assert pairs(datums) == multiset([
        [("g", "/x/a.csv"), ("g", "/x/b.csv"), ("C", "/3.json")],
        [("g", "/y/c.csv"), ("C", "/3.json")],
        [("g", "/1.txt"), ("g", "/2.txt"), ("C", "/3.json")],
    ])  # fmt: skip


def test_outer_join_on_both_sides() -> None:
    inp = {"join": [
        {"pfs": {"repo": "A", "glob": "/(*).txt", "join_on": "$1", "outer_join": True}},
        {"pfs": {"repo": "C", "glob": "/(*).json", "join_on": "$1", "outer_join": True}},
    ]}  # fmt: skip
    assert pairs(datums_of(inp, REPOS)) == multiset([
        [("A", "/1.txt"), ("C", "/1.json")], [("A", "/2.txt")], [("C", "/3.json")],
    ])  # fmt: skip


def test_inner_join_drops_unmatched_and_outer_keeps_only_outer_items() -> None:
    inner = {"join": [
        {"pfs": {"repo": "A", "glob": "/(*).txt", "join_on": "$1"}},
        {"pfs": {"repo": "C", "glob": "/(*).json", "join_on": "$1"}},
    ]}  # fmt: skip
    assert pairs(datums_of(inner, REPOS)) == multiset([[("A", "/1.txt"), ("C", "/1.json")]])
    # Key '2' exists in A (outer) and in B twice (inner) but not in C: the two combinations both
    # shrink to A's item, which is one datum (one id), not two.
    repos = {"A": ["/2"], "B": ["/2-a", "/2-b"], "C": ["/1"]}
    inp = {"join": [
        {"pfs": {"repo": "A", "glob": "/(*)", "join_on": "$1", "outer_join": True}},
        {"pfs": {"repo": "B", "glob": "/(*)-*", "join_on": "$1"}},
        {"pfs": {"repo": "C", "glob": "/(*)", "join_on": "$1"}},
    ]}  # fmt: skip
    assert pairs(datums_of(inp, repos)) == multiset([[("A", "/2")]])


def test_join_splits_child_datums_into_items_like_pachyderm() -> None:
    """Pachyderm's key task keys every item of a child datum on its own (worker.go)."""
    repos = {"X": ["/1", "/2"], "Y": ["/1"], "Z": ["/1", "/2"]}
    inp = {"join": [
        {"cross": [{"pfs": {"repo": "X", "glob": "/(*)", "join_on": "$1"}},
                   {"pfs": {"repo": "Y", "glob": "/(*)", "join_on": "$1"}}]},
        {"pfs": {"repo": "Z", "glob": "/(*)", "join_on": "$1"}},
    ]}  # fmt: skip
    assert pairs(datums_of(inp, repos)) == multiset([
        [("X", "/1"), ("Z", "/1")], [("Y", "/1"), ("Z", "/1")], [("X", "/2"), ("Z", "/2")],
    ])  # fmt: skip


def test_group_across_inputs_and_join_without_captures() -> None:
    inp = {"group": [
        {"pfs": {"repo": "A", "glob": "/(*).txt", "group_by": "$1"}},
        {"pfs": {"repo": "C", "glob": "/(*).json", "group_by": "$1"}},
    ]}  # fmt: skip
    assert pairs(datums_of(inp, REPOS)) == multiset([
        [("A", "/1.txt"), ("C", "/1.json")], [("A", "/2.txt")], [("C", "/3.json")],
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("inp", "count"),
    [
        ({"pfs": {"repo": "E", "glob": "/*"}}, 0),
        ({"pfs": {"repo": "A", "glob": "!(**)"}}, 0),
        ({"cross": [{"pfs": {"repo": "A", "glob": "/*"}}, {"pfs": {"repo": "E"}}]}, 0),
        ({"union": [{"pfs": {"repo": "A", "glob": "/*"}}, {"pfs": {"repo": "E"}}]}, 2),
        ({"join": [{"pfs": {"repo": "A", "glob": "/*"}}, {"pfs": {"repo": "E", "glob": "/*"}}]}, 0),
        ({"join": [{"pfs": {"repo": "A", "glob": "/*", "outer_join": True}},
                   {"pfs": {"repo": "E", "glob": "/*"}}]}, 2),
        ({"group": [{"pfs": {"repo": "A", "glob": "/*"}}, {"pfs": {"repo": "E"}}]}, 1),
        ({"group": [{"pfs": {"repo": "E", "glob": "/*"}}]}, 0),
    ],
    ids=["pfs", "pfs-nothing", "cross", "union", "join", "outer-join", "group", "group-empty"],
)  # fmt: skip
def test_empty_inputs(inp: dict[str, Any], count: int) -> None:
    assert len(datums_of(inp, REPOS)) == count


def test_ids_are_stable_and_order_independent() -> None:
    inp = Input.model_validate({"cross": [
        {"pfs": {"repo": "A", "glob": "/*"}}, {"pfs": {"repo": "B", "glob": "/*/*"}},
    ]})  # fmt: skip
    lister = make_lister(REPOS)
    first = compute_datums(inp, lister)
    second = compute_datums(inp, lambda pfs: list(reversed(lister(pfs))))
    assert first == second
    assert [d.id for d in first] == sorted(d.id for d in first)
    assert len({d.id for d in first}) == len(first) == 6
    for d in first:
        assert len(d.id) == 32 and int(d.id, 16) >= 0
        assert d.id == datum_id(reversed(d.inputs)) == Datum.of(d.inputs).id


def test_id_names_the_selection_and_content_key_the_content() -> None:
    inp = Input.model_validate({"pfs": {"repo": "A", "glob": "/*"}})
    before = compute_datums(inp, make_lister(REPOS))
    after = compute_datums(inp, make_lister(REPOS, salt="edited"))  # same paths, new hashes
    assert [d.id for d in before] == [d.id for d in after]
    for old, new in zip(before, after, strict=True):
        assert old.content_key() != new.content_key()
        assert old.content_key() == Datum.of(reversed(old.inputs)).content_key()
        assert len(old.content_key()) == 32 and old.content_key() != old.id


def test_id_depends_on_name_repo_branch_and_path() -> None:
    item = DatumInput("a", "A", "master", "/1.txt", "h", 1)
    variants = [
        DatumInput("b", "A", "master", "/1.txt", "h", 1),
        DatumInput("a", "B", "master", "/1.txt", "h", 1),
        DatumInput("a", "A", "dev", "/1.txt", "h", 1),
        DatumInput("a", "A", "master", "/2.txt", "h", 1),
    ]
    assert len({datum_id([item]), *(datum_id([v]) for v in variants)}) == 5
    same_selection = DatumInput("a", "A", "master", "/1.txt", "other-hash", 2, "k", "g")
    assert datum_id([item]) == datum_id([same_selection])


def test_union_sharing_a_name_keeps_same_paths_of_different_repos_apart() -> None:
    repos = {"A": ["/1.txt"], "B": ["/1.txt"]}
    inp = {"union": [{"pfs": {"repo": "A", "glob": "/*", "name": "c"}},
                     {"pfs": {"repo": "B", "glob": "/*", "name": "c"}}]}  # fmt: skip
    datums = datums_of(inp, repos)
    assert len(datums) == 2 and datums[0].id != datums[1].id
    assert {d.inputs[0].repo for d in datums} == {"A", "B"}


def test_a_selection_made_twice_is_one_datum() -> None:
    inp = {"union": [{"pfs": {"repo": "A", "glob": "/*"}}, {"pfs": {"repo": "A", "glob": "/1*"}}]}
    datums = datums_of(inp, REPOS)
    assert pairs(datums) == multiset([[("A", "/1.txt")], [("A", "/2.txt")]])


def test_lister_is_called_once_per_pfs_input_with_the_pfs_input() -> None:
    seen: list[tuple[str, str, str]] = []
    base = make_lister(REPOS)

    def lister(pfs: PfsInput) -> list[tuple[str, str, int]]:
        seen.append((pfs.repo, pfs.branch, pfs.glob))
        return base(pfs)

    inp = Input.model_validate({"cross": [
        {"pfs": {"repo": "A", "glob": "/*"}},
        {"pfs": {"repo": "C", "branch": "dev", "glob": "/3*"}},
    ]})  # fmt: skip
    assert len(compute_datums(inp, lister)) == 2
    assert seen == [("A", "master", "/*"), ("C", "dev", "/3*")]


# --- One repo used twice (#11): what Pachyderm's iterator yields -------------------------------


def items(datums: list[Datum]) -> Counter[tuple[tuple[str, str], ...]]:
    """Datums as a multiset of their items in order (the order inside a datum counts here)."""
    return Counter(tuple((i.name, i.path) for i in d.inputs) for d in datums)


def test_join_of_a_repo_with_itself_gives_ordered_pairs_and_keeps_duplicates() -> None:
    """Pachyderm's TestIterators/Join: the same repo twice under one name, '$1$2' vs '$2$1'."""
    repos = {"L": ["/foo11", "/foo12", "/foo21", "/foo22"]}
    inp = {"join": [
        {"pfs": {"repo": "L", "glob": "/foo(?)(?)", "join_on": "$1$2"}},
        {"pfs": {"repo": "L", "glob": "/foo(?)(?)", "join_on": "$2$1"}},
    ]}  # fmt: skip
    datums = datums_of(inp, repos)
    assert items(datums) == Counter({
        (("L", "/foo11"), ("L", "/foo11")): 1, (("L", "/foo12"), ("L", "/foo21")): 1,
        (("L", "/foo21"), ("L", "/foo12")): 1, (("L", "/foo22"), ("L", "/foo22")): 1,
    })  # fmt: skip
    assert len({d.id for d in datums}) == 4


def test_cross_of_a_repo_with_itself_gives_every_ordered_pair() -> None:
    repos = {"L": ["/a", "/b"]}
    inp = {"cross": [{"pfs": {"repo": "L", "glob": "/*"}}, {"pfs": {"repo": "L", "glob": "/*"}}]}
    assert items(datums_of(inp, repos)) == Counter({
        (("L", "/a"), ("L", "/a")): 1, (("L", "/a"), ("L", "/b")): 1,
        (("L", "/b"), ("L", "/a")): 1, (("L", "/b"), ("L", "/b")): 1,
    })  # fmt: skip


def test_group_of_a_repo_twice_keeps_an_item_that_falls_in_a_group_twice() -> None:
    """Pachyderm's TestIterators/GroupDoubles: /foo11 is in group '1' by $1 and by $2."""
    repos = {"L": ["/foo11", "/foo12", "/foo21"]}
    inp = {"group": [
        {"pfs": {"repo": "L", "glob": "/foo(?)(?)", "group_by": "$1"}},
        {"pfs": {"repo": "L", "glob": "/foo(?)(?)", "group_by": "$2"}},
    ]}  # fmt: skip
    assert pairs(datums_of(inp, repos)) == multiset([
        [("L", "/foo11"), ("L", "/foo12"), ("L", "/foo11"), ("L", "/foo21")],
        [("L", "/foo21"), ("L", "/foo12")],
    ])  # fmt: skip


def test_ids_of_datums_whose_names_repeat_follow_the_order_of_the_items() -> None:
    a = DatumInput("L", "L", "master", "/a", "h", 1)
    b = DatumInput("L", "L", "master", "/b", "h", 1)
    assert datum_id([a, b]) != datum_id([b, a])
    renamed = DatumInput("M", "L", "master", "/b", "h", 1)  # distinct names: order-free
    assert datum_id([a, renamed]) == datum_id([renamed, a])
