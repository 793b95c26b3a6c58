""" "Why did the metric change": the metrics of two output commits side by side, and what differs
in the lineages of the two commits (:func:`~.explain.explain` on the commits).

``diff_metrics(model@<v3>, model@<v4>)`` answers in one call what DVC's ``metrics diff`` and
MLflow's run comparison answer only in part: each metric's old and new value and its change,
then the inputs, upstream models, parameters, notebook cells and spec fields that differ between
the jobs that made the two commits. A revert commit is compared as the commit it restores (its
metrics and its job).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidArgument
from ..store.records import _Record
from ..store.refs import parse_ref
from .explain import Explanation, explain
from .metrics import MetricsInfo, commit_metrics

if TYPE_CHECKING:
    from ..store.store import Store
    from .manager import Pipelines


@dataclass(frozen=True, slots=True)
class MetricChange(_Record):
    """One metric of two commits: its two values (``None``: absent on that side)."""

    name: str
    old: float | None
    new: float | None
    change: float | None = None
    """``new - old`` (``None`` when either is absent)."""
    relative: float | None = None
    """``(new - old) / |old|`` (``None`` when ``old`` is absent or zero)."""


@dataclass(frozen=True, slots=True)
class MetricsDiff(_Record):
    """The metrics of two commits of one pipeline's output and why they differ."""

    old: MetricsInfo
    new: MetricsInfo
    changes: tuple[MetricChange, ...] = ()
    """The metrics whose values differ, or that one side lacks (in the order they appear)."""
    unchanged: tuple[MetricChange, ...] = ()
    explanation: Explanation | None = None
    """What differs in the lineages of the two commits (``None`` when not asked for)."""


def _pair(name: str, a: float | None, b: float | None) -> MetricChange:
    if a is None or b is None:
        return MetricChange(name, a, b)
    rel = (b - a) / abs(a) if a != 0 else None
    return MetricChange(name, a, b, b - a, rel)


def diff_metrics(
    store: Store, pipelines: Pipelines, old: str, new: str, *, why: bool = True
) -> MetricsDiff:
    """Compare the metrics of two commits of one pipeline's output (see the module docstring).

    ``new`` may name only a ref when it is of the same repo as ``old`` (``model@master``).
    """
    ra, rb = parse_ref(old), parse_ref(new)
    if ra.repo != rb.repo:
        raise InvalidArgument(
            f"compare two commits of one pipeline's output (got {ra.repo} and {rb.repo})",
            old=old,
            new=new,
        )
    a = commit_metrics(store, pipelines, old)
    b = commit_metrics(store, pipelines, new)
    changes: list[MetricChange] = []
    unchanged: list[MetricChange] = []
    for name in dict.fromkeys([*a.values, *b.values]):
        va, vb = a.values.get(name), b.values.get(name)
        (unchanged if va == vb else changes).append(_pair(name, va, vb))
    ex = explain(store, pipelines, f"{a.repo}@{a.commit}", f"{b.repo}@{b.commit}") if why else None
    return MetricsDiff(a, b, tuple(changes), tuple(unchanged), ex)


__all__ = ["MetricChange", "MetricsDiff", "diff_metrics"]
