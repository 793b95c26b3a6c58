"""Lineage a person can follow: what made a file, and why two versions differ (see
docs/lineage.md)."""

from __future__ import annotations

from ..pipeline.explain import Explanation, explain
from ..pipeline.lineage import Lineage, file_lineage
from ._base import ClientBase


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
        return explain(self._store, self._pipelines, old, new)
