"""Pipelines, jobs and datums."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, TypeGuard, overload

from ..errors import InvalidArgument, NotFound
from ..pipeline.records import DatumInfo, DownstreamInfo, JobInfo, PipelineInfo
from ._base import ClientBase

if TYPE_CHECKING:
    from ..pipeline.spec import LoadedSpec
    from ..store.records import RepoInfo

SpecSource: TypeAlias = (
    "str | bytes | dict[str, Any] | list[dict[str, Any]] | os.PathLike[str] | LoadedSpec"
)
"""What ``create_pipeline`` and ``update_pipeline`` read specs from."""


class _PipelinesHost(Protocol):
    """What :meth:`PipelinesMixin.dag` uses of the other parts of the Client (the repos)."""

    def list_repo(self) -> list[RepoInfo]: ...

    def list_pipeline(
        self, name: str | None = None, *, history: int | None = None
    ) -> list[PipelineInfo]: ...


class PipelinesMixin(ClientBase):
    """Part of :class:`~jupyter_pipes.Client` (see there)."""

    # -- pipelines --------------------------------------------------------------------------------

    @overload
    def create_pipeline(
        self, spec: dict[str, Any] | LoadedSpec, *, base_dir: str | os.PathLike[str] | None = None
    ) -> PipelineInfo: ...

    @overload
    def create_pipeline(
        self, spec: list[dict[str, Any]], *, base_dir: str | os.PathLike[str] | None = None
    ) -> list[PipelineInfo]: ...

    @overload
    def create_pipeline(
        self,
        spec: str | bytes | os.PathLike[str],
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo | list[PipelineInfo]: ...

    def create_pipeline(
        self,
        spec: SpecSource,
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo | list[PipelineInfo]:
        """Create a pipeline from a spec (a dict, YAML/JSON text, or a spec file's path).

        The spec and the notebook are snapshotted into the output repo's ``spec`` branch, and a
        first job is queued on the current input heads (see :meth:`wait_job`). A relative
        notebook path is read from ``base_dir`` (default: the spec file's folder, or the
        working directory). As with ``pachctl create pipeline -f``, a source holding several
        specs (YAML documents, JSON objects in sequence, a list) creates them in order and
        returns a list; all are validated before the first is created. Fields accepted and
        ignored (``transform.image`` ...) are named in ``PipelineInfo.ignored``.

        One spec (a dict, or a :class:`~jupyter_pipes.pipeline.spec.LoadedSpec` read already)
        gives one :class:`PipelineInfo`, a list gives a list; text or a file gives either,
        by how many specs it holds.
        """
        return self._create_pipelines(spec, base_dir=base_dir)

    @overload
    def update_pipeline(
        self,
        spec: dict[str, Any] | LoadedSpec,
        *,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo: ...

    @overload
    def update_pipeline(
        self,
        spec: list[dict[str, Any]],
        *,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> list[PipelineInfo]: ...

    @overload
    def update_pipeline(
        self,
        spec: str | bytes | os.PathLike[str],
        *,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo | list[PipelineInfo]: ...

    def update_pipeline(
        self,
        spec: SpecSource,
        *,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo | list[PipelineInfo]:
        """Update a pipeline (new spec and notebook version) and queue a job; unchanged datums
        are skipped unless ``reprocess``. Several specs update several pipelines, in order."""
        return self._create_pipelines(spec, update=True, reprocess=reprocess, base_dir=base_dir)

    def _create_pipelines(
        self, source: SpecSource, *, update: bool = False, reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo | list[PipelineInfo]:  # fmt: skip
        from ..pipeline.cron import tick_name
        from ..pipeline.spec import LoadedSpec, load_specs, spec_to_dict, stamp_cron_start

        loaded = [source] if isinstance(source, LoadedSpec) else load_specs(source)
        if base_dir is None and _is_file(source):
            base_dir = Path(source).parent
        now = tick_name(datetime.now(timezone.utc))  # cron inputs tick from now on
        infos = []
        for item in loaded:
            info = self._pipelines.create_pipeline(
                stamp_cron_start(spec_to_dict(item.spec), now),
                update=update, reprocess=reprocess, base_dir=base_dir,
            )  # fmt: skip
            infos.append(replace(info, ignored=tuple(i.path for i in item.ignored)))
        return infos[0] if len(infos) == 1 and not isinstance(source, list) else infos

    def dag(self: _PipelinesHost) -> dict[str, Any]:
        """The pipeline graph: ``{"nodes": [...], "edges": [...]}``, repos and pipelines with
        their current state (a repo's head, a pipeline's newest job)."""
        from ..pipeline.dag import dag

        return dag(self.list_repo(), self.list_pipeline())

    def downstream(self, branch: str) -> list[str]:
        """The pipelines that run when ``repo@branch`` moves (each once, upstream first): the
        pipelines of the global commit such a move starts."""
        from ..pipeline.dag import downstream
        from ..store.refs import parse_branch

        repo, name = parse_branch(branch)
        return downstream(self.list_pipeline(), repo, name)

    def inspect_downstream(self, ref: str) -> DownstreamInfo:
        """What re-runs downstream of a branch or a commit: the pipelines a move of the branch
        runs (for a commit: a move of its branch to it, as a revert does), upstream first, and
        the jobs of those pipelines that the commit (a branch: its head) caused, with their
        states. ``ref``: ``repo``, ``repo@branch`` or any commit ref.

        Example
        -------
        >>> c.inspect_downstream("training@master").pipelines  # doctest: +SKIP
        ('model', 'predict')
        """
        from ..pipeline.dag import downstream_of

        return downstream_of(self._pipelines, ref)

    def change_marker(self) -> tuple[object, ...]:
        """A value that changes whenever repos, branches, heads, pipelines or jobs change (cheap:
        what the server's event poller checks before looking closer)."""
        return self._pipelines.change_marker()

    def list_pipeline(
        self, name: str | None = None, *, history: int | None = None
    ) -> list[PipelineInfo]:
        """Every pipeline (or only ``name``). ``history=N``: each pipeline's current version
        and up to N-1 older ones, newest first (``-1``: all of them), as ``pachctl list
        pipeline --history``; each older version is read from its spec commit."""
        pipelines = (
            [self._pipelines.inspect_pipeline(name)]
            if name is not None
            else self._pipelines.list_pipeline()
        )
        if history is None or history == 0:
            return pipelines
        if history < -1:
            raise InvalidArgument("history: a number of versions, or -1 for all", field="history")
        versions = None if history == -1 else history
        return [v for p in pipelines for v in self._pipelines.pipeline_history(p.name, versions)]

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        """One pipeline: spec, version, spec commit, newest job."""
        return self._pipelines.inspect_pipeline(name)

    def delete_pipeline(self, name: str, *, keep_repo: bool = False) -> None:
        """Delete a pipeline, its jobs and (unless ``keep_repo``) its output repo."""
        self._pipelines.delete_pipeline(name, keep_repo=keep_repo)

    def run_pipeline(self, name: str, *, reprocess: bool = False) -> JobInfo:
        """Queue a job of ``name`` on the current heads of its inputs (a background controller
        runs it if no controller is alive; see docs/controller.md)."""
        job = self._pipelines.run_pipeline(name, reprocess=reprocess)
        if self._autostart is not None:
            self._autostart.ensure()
        return job

    def list_job(
        self,
        pipeline: str | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        state: str | list[str] | None = None,
    ) -> list[JobInfo]:
        """Jobs newest first, of one pipeline or all; ``state``: only jobs in this state (or
        one of these: ``created``, ``running``, ``success``, ``failure``, ``killed``,
        ``unrunnable``)."""
        states = [state] if isinstance(state, str) else state
        return self._pipelines.list_job(pipeline, limit=limit, offset=offset, states=states)

    def inspect_job(self, job_id: str) -> JobInfo:
        """One job: state, inputs, output commit, datum counts, timings, error. ``job_id``:
        an id, a unique prefix, or ``pipeline@id`` (as pachctl names jobs); every job verb
        takes these."""
        return self._pipelines.inspect_job(job_id)

    def list_datum(
        self,
        job_id: str | None = None,
        *,
        input: dict[str, Any] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Any]:
        """The datums of a job, or (``input=`` an input spec) a dry run on the current heads:
        each datum then a list of items with ``.name`` (input name) and ``.path``."""
        if (job_id is None) == (input is None):
            raise InvalidArgument("give a job id or input=, not both")
        if input is not None:
            return [list(d.inputs) for d in self._pipelines.dry_run_datums(input)]
        assert job_id is not None
        return self._pipelines.list_datum(job_id, limit=limit, offset=offset)

    def inspect_datum(self, job_id: str, datum_id: str) -> DatumInfo:
        """One datum of a job."""
        return self._pipelines.inspect_datum(job_id, datum_id)

    def get_datum_notebook(self, job_id: str, datum_id: str) -> bytes:
        """The executed notebook of a datum (also kept for failed datums)."""
        return self._pipelines.datum_blob(job_id, datum_id, "notebook")

    def get_logs(
        self, job_id: str | None = None, datum_id: str | None = None, *,
        pipeline: str | None = None,
    ) -> str:  # fmt: skip
        """The log of one datum, or of every datum of a job (each headed by its id). Without
        ``job_id``, ``pipeline``'s newest job (see :meth:`logs_job`)."""
        job_id = self.logs_job(job_id, pipeline)
        if datum_id is not None:
            return self._pipelines.datum_blob(job_id, datum_id, "log").decode(errors="replace")
        parts = []
        for d in self._pipelines.list_datum(job_id):
            if d.state in ("skipped", "running"):  # no log yet
                continue
            text = self._pipelines.datum_blob(job_id, d.id, "log").decode(errors="replace")
            parts.append(f"--- datum {d.id} ({d.state})\n{text}")
        return "\n".join(parts)

    def logs_job(self, job_id: str | None, pipeline: str | None) -> str:
        """The job ``logs`` reads: ``job_id`` (checked to be ``pipeline``'s when both are
        given), else ``pipeline``'s newest job."""
        if job_id is None and pipeline is None:
            raise InvalidArgument("give a job (--job) or a pipeline (--pipeline)")
        if job_id is not None:
            ref = f"{pipeline}@{job_id}" if pipeline and "@" not in job_id else job_id
            return self._pipelines.inspect_job(ref).id
        assert pipeline is not None
        newest = self._pipelines.list_job(pipeline, limit=1)
        if not newest:
            raise NotFound(f"pipeline {pipeline!r} has no job yet", pipeline=pipeline)
        return newest[0].id


def _is_file(source: object) -> TypeGuard[str | os.PathLike[str]]:
    """Whether a spec source names a file (its folder is then the notebook's base)."""
    if isinstance(source, os.PathLike):
        return True
    return (
        isinstance(source, str)
        and "\n" not in source
        and len(source) < 4096
        and (os.path.isfile(source))
    )
