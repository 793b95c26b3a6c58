"""Lineage a person can follow: what made a file, why two versions differ, metrics across
versions, and which commit a branch pointed at when (see docs/lineage.md)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..errors import InvalidArgument, NotFound
from ..pipeline.serving.records import to_epoch
from ..store.names import check_branch_name
from ..store.records import CommitInfo, HeadMoveInfo, _Record
from ..store.refs import parse_ref
from ._base import ClientBase

if TYPE_CHECKING:  # imported on use (the pipeline layer is loaded lazily)
    from ..pipeline.explain import Explanation
    from ..pipeline.lineage import Lineage
    from ..pipeline.metrics import MetricsInfo
    from ..pipeline.metrics_diff import MetricsDiff

When = datetime | float | str
"""A moment: a datetime (naive: local time), epoch seconds, or ISO 8601 text (``10:00``: today)."""


class LineageMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    def lineage(self, ref: str, path: str | None = None, *, cells: bool = True) -> Lineage:
        """What made one file, recursively upstream, down to the user commits of the data.

        Parameters
        ----------
        ref:
            ``repo@ref:/path`` (or ``repo@ref`` with ``path``).
        path:
            The file, when ``ref`` names only the commit.
        cells:
            Also name the notebook cell that wrote each file (reads the executed notebooks).

        Returns
        -------
        Lineage
            A graph: ``files`` (each ``written_by`` a datum step, or ``written_in`` a user
            commit), ``steps`` (pipeline, job, datum, spec commit and notebook version,
            parameters, the executed notebook, the cell, and the exact input files with their
            commits and content hashes) and ``commits`` (who, when, message, global id).
            ``lineage.root`` is the key of the file asked about.

        Examples
        --------
        >>> lin = client.lineage("predict@master:/batch-01.predictions.csv")  # doctest: +SKIP
        >>> [s.pipeline for s in lin.upstream_steps()]  # doctest: +SKIP
        ['predict', 'model']
        """
        from ..pipeline.lineage import file_lineage

        return file_lineage(self._store, self._pipelines, ref, path, cells=cells)

    def explain(self, old: str, new: str) -> Explanation:
        """Why ``new`` differs from ``old``: only what differs in their lineages.

        ``old`` and ``new`` are two versions of one file (``predict@<a>:/x.csv`` and
        ``predict@<b>``: a path given once applies to both) or two commits of one repo. The
        differences (``Explanation.differences``) are, at each step upstream: the results
        themselves (tables: rows added and removed, columns), the pipeline's parameters,
        notebook code cells and spec fields, upstream inputs (models) read at other commits, and
        input data files added, removed or changed; ``Explanation.unchanged`` sums up the rest.
        """
        from ..pipeline.explain import explain

        return explain(self._store, self._pipelines, old, new)

    # -- metrics --------------------------------------------------------------------------------

    def list_metrics(self, branch: str, *, limit: int | None = 50) -> list[MetricsInfo]:
        """The metrics of each commit of a pipeline's output branch (``model@master``), newest
        first: the numbers of the metric files its spec declares (``metrics: [...]``), indexed
        when each commit was made. A revert commit shows the metrics of the commit it restores.
        """
        from ..pipeline.metrics import list_metrics

        return list_metrics(self._store, self._pipelines, branch, limit=limit)

    def inspect_metrics(self, ref: str) -> MetricsInfo:
        """The metrics of one output commit (``model@<id>``, ``model@master^1`` ...)."""
        from ..pipeline.metrics import commit_metrics

        return commit_metrics(self._store, self._pipelines, ref)

    def diff_metrics(self, old: str, new: str, *, why: bool = True) -> MetricsDiff:
        """ "Why did the metric change": the metrics of two commits of one pipeline's output
        side by side, and what differs in their lineages.

        Parameters
        ----------
        old, new:
            Two commits of one output repo (``model@<v3>``, ``model@master``).
        why:
            Also explain the difference (:meth:`explain` on the two commits: input files,
            upstream models, parameters, notebook cells and spec fields that differ).

        Returns
        -------
        MetricsDiff
            ``changes`` (each metric that differs: old, new, change, relative change),
            ``unchanged``, both sides' :class:`MetricsInfo` and the ``explanation``.

        Examples
        --------
        >>> d = client.diff_metrics("model@master^1", "model@master")  # doctest: +SKIP
        >>> [(c.name, c.old, c.new) for c in d.changes]  # doctest: +SKIP
        [('rows', 72.0, 120.0), ('cv_accuracy', 0.94, 0.96)]
        """
        from ..pipeline.metrics_diff import diff_metrics

        return diff_metrics(self._store, self._pipelines, old, new, why=why)

    # -- the branch timeline ------------------------------------------------------------------

    def branch_log(
        self,
        branch: str,
        *,
        since: When | None = None,
        until: When | None = None,
        limit: int | None = None,
    ) -> list[HeadMoveInfo]:
        """Every move of a branch head, newest first: time, old and new commit, cause (a user
        commit, a pipeline's output, a revert, a branch move, a delete), actor and global id.

        ``branch`` is ``repo@branch``, or ``repo`` for every branch of the repo. ``since`` and
        ``until`` are datetimes, epoch seconds or ISO 8601 text (``2024-05-01T10:00``; ``10:00``
        alone is today, local time). A deleted branch's log stays readable.
        """
        repo, name = _branch_or_repo(branch)
        moves = self._store.branch_log(
            repo, name, limit=limit, since=_when(since), until=_when(until)
        )
        if not moves:  # nothing recorded: say so if the repo never existed (a typo)
            self._known(repo)
        return moves

    def head_at(self, branch: str, when: When) -> HeadAt:
        """Which commit ``repo@branch`` pointed at, at time ``when`` (same forms as in
        :meth:`branch_log`): the commit (``None`` if the branch had none then) and the head
        move that put it there."""
        repo, name = _branch_or_repo(branch)
        if name is None:
            raise InvalidArgument(f"give a branch: {repo}@master", ref=branch)
        at = _when(when)
        assert at is not None
        moves = self._store.branch_log(repo, name, limit=1, until=at)
        if not moves:
            self._known(repo)
        move = moves[0] if moves else None
        commit = None
        if move is not None and move.new is not None:
            with contextlib.suppress(NotFound):  # a commit squashed or deleted since
                commit = self._store.inspect_commit_id(move.new)
        return HeadAt(repo, name, at, commit, move)

    def _known(self, repo: str) -> None:
        """``NotFound`` for a repo that does not exist and has no recorded history."""
        if not self._store.branch_log(repo, limit=1):
            self._store.inspect_repo(repo)


@dataclass(frozen=True, slots=True)
class HeadAt(_Record):
    """The head of a branch at a moment: what :meth:`LineageMixin.head_at` answers."""

    repo: str
    branch: str
    time: datetime
    commit: CommitInfo | None
    """The commit that was live (``None``: the branch had no commit then, or did not exist)."""
    move: HeadMoveInfo | None
    """The head move that made it live (when, why, who)."""


def _when(value: When | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.astimezone()
    return datetime.fromtimestamp(to_epoch(value), tz=timezone.utc)


def _branch_or_repo(text: str) -> tuple[str, str | None]:
    ref = parse_ref(text)
    if ref.ancestors:
        raise InvalidArgument(f"{text!r} names an ancestor; give repo@branch", ref=text)
    return ref.repo, (check_branch_name(ref.base) if ref.explicit else None)
