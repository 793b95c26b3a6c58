"""Which datums a job must run: the incremental plan, in O(changed) where it can be.

A job is compared with its pipeline's last successful job, the *base*, whose current datum rows
(hash, outputs) are what can be reused. Two ways to find what changed:

* **Fast path** — when the base selected and hashed datums the same way (same ``datum_key``:
  same input spec and stage) and the input tree is made of ``pfs``, ``cross`` and ``union``
  with globs whose matches have a fixed depth: a Merkle diff of each input's pinned commits
  gives the glob matches that changed; the affected datums are those holding a changed match
  (for a ``cross``, combined with the full listing of the other side, as they must be). Cost:
  O(changed matches, and the datums they touch), independent of the number of datums.
* **Full recomputation** — anything else (``join``, ``group``, ``**`` globs, a changed spec, no
  base): list every input, compute every datum and its hash, compare with every current row.

Both give the same plan; ``tests/test_plan.py`` checks that on random changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..store import txn as txnmod
from ..store.datum_io import CommitTrees, Match, Token
from ..store.store import Store
from . import state
from .datums import Datum, compute_datums
from .spec import Input, PfsInput, PipelineSpec
from .stage import datum_hash

Pins = dict[str, str | None]
LeafKey = tuple[str, str, str, str]
"""(name, repo, branch, glob) of a leaf of the input tree: a cron input's leaf is a new object
each time it is read, and names are unique except among the members of a union, whose leaves
may share a key harmlessly."""
ItemKey = tuple[str, str, str]
"""(repo, branch, path) of a datum item: with the job's pins, it names one tree entry."""


@dataclass
class Plan:
    """What a job runs and what it replaces.

    Attributes
    ----------
    base:
        The last successful job of the pipeline (``None``: none, or nothing reusable).
    total:
        How many datums the job has (run and reused).
    run:
        The datums to process, with their hashes in ``hashes``.
    gone:
        Ids of the base's datums that this job no longer has.
    replaced:
        The current rows of the datums in ``run`` and ``gone`` (their outputs go).
    tokens:
        How workers read each item of the datums to run.
    rebuild:
        Whether the output starts from an empty tree (nothing of the base is reused).
    fast:
        Whether the plan came from the diff (for tests and benchmarks).
    """

    base: state.JobRow | None
    total: int
    run: list[Datum]
    hashes: dict[str, str]
    gone: list[str]
    replaced: dict[str, state.DatumRow]
    tokens: dict[ItemKey, Token] = field(default_factory=dict)
    rebuild: bool = False
    fast: bool = False


def plan_job(
    store: Store,
    trees: CommitTrees,
    job: state.JobRow,
    spec: PipelineSpec,
    pins: Pins,
    stage: str,
    dkey: str,
    *,
    reuse: bool = True,
    allow_fast: bool = True,
) -> Plan:
    """The plan of ``job`` (whose inputs are pinned to ``pins``)."""
    with txnmod.read(store) as t:
        base = state.last_success(t.connection, job.pipeline)
    if base is not None and reuse and allow_fast and base.datum_key == dkey:
        fast = _fast(store, trees, job.pipeline, base, spec, pins, stage)
        if fast is not None:
            return fast
    return _full(store, trees, job.pipeline, base if reuse else None, base, spec, pins, stage)


def _lister(
    trees: CommitTrees,
    pins: Pins,
    tokens: dict[ItemKey, Token] | None,
    override: dict[LeafKey, list[Match]] | None = None,
    empty: frozenset[LeafKey] = frozenset(),
    cache: dict[tuple[str | None, str], list[Match]] | None = None,
) -> Callable[[PfsInput], list[tuple[str, str, int]]]:
    cache = {} if cache is None else cache

    def list_matches(pfs: PfsInput) -> list[tuple[str, str, int]]:
        key = _key(pfs)
        if override is not None and key in override:
            found = override[key]
        elif key in empty:
            return []
        else:
            commit = pins.get(f"{pfs.repo}@{pfs.branch}")
            at = (commit, pfs.glob)
            if at not in cache:
                cache[at] = trees.matches(commit, pfs.glob)
            found = cache[at]
        if tokens is not None:
            for m in found:
                tokens[(pfs.repo, pfs.branch, m.path)] = m.token
        return [(m.path, m.hash, m.size) for m in found]

    return list_matches


def _full(
    store: Store,
    trees: CommitTrees,
    pipeline: str,
    reusable: state.JobRow | None,
    base: state.JobRow | None,
    spec: PipelineSpec,
    pins: Pins,
    stage: str,
) -> Plan:
    tokens: dict[ItemKey, Token] = {}
    datums = compute_datums(spec.input, _lister(trees, pins, tokens))
    hashes = {d.id: datum_hash(d.content_key(), stage) for d in datums}
    with txnmod.read(store) as t:
        current = state.current_datums(t.connection, pipeline) if base is not None else {}
    if reusable is None:
        run = datums
    else:
        run = [d for d in datums if (r := current.get(d.id)) is None or r.hash != hashes[d.id]]
    ids = set(hashes)
    gone = sorted(i for i in current if i not in ids)
    run_ids = {d.id for d in run}
    replaced = {i: r for i, r in current.items() if i in run_ids or i not in ids}
    return Plan(
        base=base,
        total=len(datums),
        run=run,
        hashes={d.id: hashes[d.id] for d in run},
        gone=gone,
        replaced=replaced,
        tokens=tokens,
        rebuild=reusable is None or len(replaced) == len(current),
    )


def _key(pfs: PfsInput) -> LeafKey:
    return (pfs.name, pfs.repo, pfs.branch, pfs.glob)


def _tree_shape(inp: Input, chain: tuple[tuple[int, str], ...], out: list[Any]) -> bool:
    """Collect (leaf, ancestor chain) of a pfs/cron leaf; False if the tree has a join or
    group."""
    leaf = inp.leaf
    if leaf is not None:
        out.append((leaf, chain))
        return True
    if inp.join is not None or inp.group is not None:
        return False
    kind = "cross" if inp.cross is not None else "union"
    return all(_tree_shape(c, (*chain, (id(inp), kind)), out) for c in inp.children)


def _meet(a: tuple[tuple[int, str], ...], b: tuple[tuple[int, str], ...]) -> str:
    """The kind of the lowest common ancestor of two leaves."""
    kind = ""
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        kind = x[1]
    return kind


def _fast(
    store: Store,
    trees: CommitTrees,
    pipeline: str,
    base: state.JobRow,
    spec: PipelineSpec,
    pins: Pins,
    stage: str,
) -> Plan | None:
    old_pins: Pins = state.loads(base.inputs) or {}
    leaves: list[tuple[PfsInput, tuple[tuple[int, str], ...]]] = []
    if not _tree_shape(spec.input, (), leaves):
        return None
    if any(f"{p.repo}@{p.branch}" not in old_pins for p, _ in leaves):
        return None
    deltas = {}
    for pfs, _ in leaves:
        key = f"{pfs.repo}@{pfs.branch}"
        if old_pins[key] == pins.get(key):
            continue
        delta = trees.delta(old_pins[key], pins.get(key), pfs.glob)
        if delta is None:
            return None
        if delta.old or delta.new:
            deltas[_key(pfs)] = delta
    if not deltas:
        return Plan(base, base.total, [], {}, [], {}, fast=True)
    tokens: dict[ItemKey, Token] = {}
    new_cache: dict[tuple[str | None, str], list[Match]] = {}
    old_cache: dict[tuple[str | None, str], list[Match]] = {}
    affected_new: dict[str, Datum] = {}
    affected_old: set[str] = set()
    for leaf, chain in leaves:
        lk = _key(leaf)
        if lk not in deltas:
            continue
        delta = deltas[lk]
        empty = frozenset(
            _key(p) for p, c in leaves if _key(p) != lk and _meet(chain, c) != "cross"
        )
        for d in compute_datums(
            spec.input,
            _lister(trees, pins, tokens, {lk: list(delta.new.values())}, empty, new_cache),
        ):
            affected_new[d.id] = d
        for d in compute_datums(
            spec.input,
            _lister(trees, old_pins, None, {lk: list(delta.old.values())}, empty, old_cache),
        ):
            affected_old.add(d.id)
    hashes = {i: datum_hash(d.content_key(), stage) for i, d in affected_new.items()}
    with txnmod.read(store) as t:
        current = state.current_datums(t.connection, pipeline, affected_old | set(affected_new))
    run = [
        d
        for i, d in sorted(affected_new.items())
        if (r := current.get(i)) is None or r.hash != hashes[i]
    ]
    gone = sorted(i for i in affected_old if i not in affected_new and i in current)
    run_ids = {d.id for d in run}
    added = sum(1 for i in affected_new if i not in current)
    return Plan(
        base=base,
        total=base.total + added - len(gone),
        run=run,
        hashes={d.id: hashes[d.id] for d in run},
        gone=gone,
        replaced={i: r for i, r in current.items() if i in run_ids or i in gone},
        tokens=tokens,
        fast=True,
    )
