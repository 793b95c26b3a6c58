"""The Dask cluster this client's controller uses, as the cluster panel and ``%pipe cluster``
show it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ..errors import NotFound
from ._base import ClientBase

if TYPE_CHECKING:
    from ..pipeline.cluster_info import ClusterInfo


class ClusterMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    def cluster_info(self) -> ClusterInfo:
        """The Dask cluster that runs this client's jobs: its workers (threads, memory, custom
        resources, warm kernels) and the datums in flight per job.

        Never starts a cluster nor connects to a scheduler: before the first job, and after
        an idle cluster stopped, the state is ``stopped`` (``planned_workers`` says what
        starts with the next job).

        Returns
        -------
        ClusterInfo
            ``state`` is ``stopped``, ``starting``, ``running`` or ``unreachable``.
        """
        from ..pipeline.cluster_info import cluster_info  # imported on use: it loads Dask

        info = cluster_info(self._executor, scheduler=self._scheduler, n_workers=self._n_workers)
        if not info.jobs:
            return info
        jobs = []
        for j in info.jobs:
            try:
                pipeline: str | None = self._pipelines.inspect_job(j.job).pipeline
            except NotFound:  # a job of another store on a shared cluster
                pipeline = None
            jobs.append(dataclasses.replace(j, pipeline=pipeline))
        return dataclasses.replace(info, jobs=tuple(jobs))
