"""Pipelines over the store: create/update/delete, job propagation, and job/datum queries.

Versions: creating or updating a pipeline writes a commit to the ``spec`` branch of its output
repo holding ``/spec.json`` and the notebook (``/notebook.ipynb``), so the provenance of every
output commit names the exact notebook code behind it (as Pachyderm 1.x kept specs on a ``spec``
branch).

Propagation: :meth:`Pipelines.on_head_move` runs inside the transaction that moves any branch
head. For each pipeline reading that branch it creates a job whose inputs are pinned to the
current heads, and, transitively, a job *blocked on it* for every pipeline downstream. When a
job's output commit moves its output branch, the jobs blocked on it are released (their inputs
pinned then); when a job fails, they become ``unrunnable``.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Row

from ..errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from ..store.objects import BlobRef
from ..store.records import CommitRef, utc
from ..store.refs import Ref
from ..store.store import HeadMove, Store
from . import state
from .datums import Datum, compute_datums
from .records import DatumInfo, DatumItem, JobInfo, PipelineInfo
from .spec import PipelineSpec, check_dag, parse_spec, spec_to_dict

SPEC_BRANCH = "spec"
SPEC_FILE = "/spec.json"
NOTEBOOK_FILE = "/notebook.ipynb"
SERVE_FILE = "/serve"
"""The serving notebook of a ``serve:`` spec (with its suffix: ``.ipynb`` or ``.py``)."""


class Pipelines:
    """The pipeline layer of one store (registered as the store's head hook)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.meta.ensure_schema(state.CHAIN)
        store.head_hooks.append(self.on_head_move)

    # -- pipelines -----------------------------------------------------------------------------

    def create_pipeline(
        self,
        source: str | bytes | dict[str, Any] | os.PathLike[str],
        *,
        update: bool = False,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo:
        """Create (or with ``update``, update) a pipeline from a spec, and run its first job."""
        spec = parse_spec(source)
        name = spec.name
        if base_dir is None and isinstance(source, str | os.PathLike) and _is_file(source):
            base_dir = Path(source).parent
        notebook = self._read_notebook(spec, Path(base_dir or Path.cwd()))
        serve_code = self._read_serve_code(spec, Path(base_dir or Path.cwd()))
        with self.store.meta.read() as conn:
            existing = state.get_pipeline(conn, name)
            specs = {r.name: parse_spec(json.loads(r.spec)) for r in state.all_pipelines(conn)}
        if existing is not None and not update:
            raise AlreadyExists(
                f"pipeline {name!r} already exists; update it instead", pipeline=name
            )
        if existing is None and update:
            raise NotFound(f"pipeline {name!r} not found", pipeline=name)
        repos = {r.name for r in self.store.list_repo()}
        if existing is None and name in repos:
            raise Conflict(
                f"repo {name!r} exists already and is not a pipeline's output: "
                "choose another pipeline name",
                pipeline=name,
            )
        cron_repos = {c.repo for c in spec.cron_inputs()} - repos
        check_dag({**specs, name: spec}, repos | cron_repos)
        for repo in sorted(cron_repos):  # Pachyderm makes a cron input's repo with the pipeline
            self.store.create_repo(repo, f"cron ticks of pipeline {name}", exist_ok=True)
        from .notebook import fingerprint

        fp = fingerprint(notebook) if notebook is not None else _cmd_fingerprint(spec)
        self.store.create_repo(
            name, spec.description or f"output of pipeline {name}", exist_ok=True
        )
        with self.store.start_commit(name, SPEC_BRANCH, message=f"spec of {name}") as oc:
            oc.put_file(SPEC_FILE, json.dumps(spec_to_dict(spec), indent=2).encode())
            if notebook is not None:
                oc.put_file(NOTEBOOK_FILE, notebook)
            else:
                oc.delete_file(NOTEBOOK_FILE)
            for suffix in (".ipynb", ".py"):  # the serving notebook of ``serve:`` (#16)
                if serve_code is not None and spec.serve and spec.serve.notebook.endswith(suffix):
                    oc.put_file(SERVE_FILE + suffix, serve_code)
                else:
                    oc.delete_file(SERVE_FILE + suffix)
        spec_commit = oc.id
        now = time.time()
        with self.store.meta.write() as conn:
            state.put_pipeline(
                conn,
                {
                    "name": name,
                    "version": (existing.version + 1) if existing else 1,
                    "spec": json.dumps(spec_to_dict(spec)),
                    "spec_commit": spec_commit,
                    "fingerprint": fp,
                    "salt": spec.salt or "",
                    "created_at": existing.created_at if existing else now,
                    "updated_at": now,
                },
                spec.input_repos(),
            )
            self.create_jobs(conn, [name], root_commit=spec_commit, reprocess=reprocess)
        return self.inspect_pipeline(name)

    @staticmethod
    def _read_notebook(spec: PipelineSpec, base: Path) -> bytes | None:
        if spec.transform.notebook is None:
            return None
        path = Path(spec.transform.notebook)
        path = path if path.is_absolute() else base / path
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise InvalidArgument(
                f"transform.notebook: notebook {str(path)!r} not found",
                field="transform.notebook",
                path=str(path),
            ) from None

    @staticmethod
    def _read_serve_code(spec: PipelineSpec, base: Path) -> bytes | None:
        if spec.serve is None:
            return None
        path = Path(spec.serve.notebook)
        path = path if path.is_absolute() else base / path
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise InvalidArgument(  # the path as given: no server path in the message
                f"serve.notebook: {spec.serve.notebook!r} not found", field="serve.notebook",
                path=spec.serve.notebook,
            ) from None  # fmt: skip

    def delete_pipeline(self, name: str, *, keep_repo: bool = False, force: bool = False) -> None:
        """Delete a pipeline, its jobs and (unless ``keep_repo``) its output repo."""
        with self.store.meta.write() as conn:
            row = state.get_pipeline(conn, name)
            if row is None:
                raise NotFound(f"pipeline {name!r} not found", pipeline=name)
            crons = [c.repo for c in parse_spec(json.loads(row.spec)).cron_inputs()]
            users = [p for p in state.users_of_repo(conn, name) if p != name]
            if users and not force:
                raise Conflict(
                    f"pipeline {name!r} feeds {', '.join(users)}; delete those first",
                    pipeline=name,
                    downstream=users,
                )
            state.delete_pipeline(conn, name)
        if not keep_repo:
            self.store.delete_repo(name, force=True)
            for repo in crons:  # as Pachyderm, a cron input's repo goes with its pipeline
                self.store.delete_repo(repo, force=True)

    def list_pipeline(self) -> list[PipelineInfo]:
        """Every pipeline, by name."""
        with self.store.meta.read() as conn:
            return [self._pipeline_info(conn, r) for r in state.all_pipelines(conn)]

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        """One pipeline."""
        with self.store.meta.read() as conn:
            row = state.get_pipeline(conn, name)
            if row is None:
                raise NotFound(f"pipeline {name!r} not found", pipeline=name)
            return self._pipeline_info(conn, row)

    def spec(self, name: str) -> PipelineSpec:
        """The current spec of a pipeline."""
        with self.store.meta.read() as conn:
            row = state.get_pipeline(conn, name)
        if row is None:
            raise NotFound(f"pipeline {name!r} not found", pipeline=name)
        return parse_spec(json.loads(row.spec))

    def _pipeline_info(self, conn: Connection, row: Row[Any]) -> PipelineInfo:
        spec = json.loads(row.spec)
        parsed = parse_spec(spec)
        last = state.list_jobs(conn, row.name, limit=1)
        return PipelineInfo(
            name=row.name,
            version=row.version,
            spec=spec,
            spec_commit=row.spec_commit,
            description=parsed.description or "",
            inputs=tuple(f"{r}@{b}" for r, b in parsed.input_repos()),
            output_branch=parsed.output_branch,
            created=utc(row.created_at),
            updated=utc(row.updated_at),  # type: ignore[arg-type]
            last_job=last[0].id if last else None,
            last_job_state=last[0].state if last else None,
        )

    def cron_specs(self) -> dict[str, PipelineSpec]:
        """The specs of the pipelines that have cron inputs (for the controller's ticker)."""
        with self.store.meta.read() as conn:
            rows = [r for r in state.all_pipelines(conn) if '"cron"' in r.spec]
        return {r.name: parse_spec(json.loads(r.spec)) for r in rows}

    def users_of_repo(self, repo: str) -> list[str]:
        """Pipelines reading ``repo``."""
        with self.store.meta.read() as conn:
            return state.users_of_repo(conn, repo)

    def is_pipeline(self, name: str) -> bool:
        """Whether ``name`` is a pipeline (and so its output repo)."""
        with self.store.meta.read() as conn:
            return state.get_pipeline(conn, name) is not None

    # -- propagation ---------------------------------------------------------------------------

    def on_head_move(self, conn: Connection, move: HeadMove) -> None:
        """Create or release downstream jobs, in the transaction that moved ``move``'s head."""
        if move.new is None:
            return
        job = state.job_for_output(conn, move.new)
        blocked = state.blocked_by(conn, job.id) if job is not None else []
        if blocked:
            for b in blocked:
                spec = parse_spec(json.loads(state.get_pipeline(conn, b.pipeline).spec))
                state.update_job(
                    conn, b.id, blocked_on=None, inputs=state.dumps(_pin(self.store, conn, spec))
                )
            return
        root = job.root_commit if job is not None else move.new
        self.create_jobs(conn, state.subscribers(conn, move.repo, move.branch), root_commit=root)

    def create_jobs(
        self,
        conn: Connection,
        names: list[str],
        *,
        root_commit: str | None,
        reprocess: bool = False,
        blocked_on: str | None = None,
    ) -> list[str]:
        """Jobs for ``names`` (inputs pinned now unless blocked), and blocked jobs downstream."""
        created = []
        for name in names:
            row = state.get_pipeline(conn, name)
            if row is None:
                continue
            spec = parse_spec(json.loads(row.spec))
            job_id = uuid.uuid4().hex
            state.insert_job(
                conn,
                id=job_id,
                pipeline=name,
                version=row.version,
                spec_commit=row.spec_commit,
                inputs=None if blocked_on else state.dumps(_pin(self.store, conn, spec)),
                blocked_on=blocked_on,
                root_commit=root_commit,
                reprocess=reprocess,
            )
            created.append(job_id)
            downstream = state.subscribers(conn, name, spec.output_branch)
            self.create_jobs(conn, downstream, root_commit=root_commit, blocked_on=job_id)
        return created

    def run_pipeline(self, name: str, *, reprocess: bool = False) -> JobInfo:
        """A new job of ``name`` on the current heads of its inputs."""
        with self.store.meta.write() as conn:
            if state.get_pipeline(conn, name) is None:
                raise NotFound(f"pipeline {name!r} not found", pipeline=name)
            (job_id,) = self.create_jobs(conn, [name], root_commit=None, reprocess=reprocess)
        return self.inspect_job(job_id)

    # -- jobs and datums -----------------------------------------------------------------------

    def _job_row(self, conn: Connection, job_id: str) -> Row[Any]:
        row = state.get_job(conn, job_id)
        if row is None and len(job_id) >= 4:
            found = state.find_jobs(conn, job_id)
            if len(found) > 1:
                raise InvalidArgument(f"job prefix {job_id!r} is ambiguous", job=job_id)
            row = found[0] if found else None
        if row is None:
            raise NotFound(f"job {job_id!r} not found", job=job_id)
        return row

    def inspect_job(self, job_id: str) -> JobInfo:
        """One job (a unique id prefix is enough)."""
        with self.store.meta.read() as conn:
            return job_info(self._job_row(conn, job_id))

    def list_job(
        self, pipeline: str | None = None, *, limit: int | None = None, offset: int = 0
    ) -> list[JobInfo]:
        """Jobs, newest first (of one pipeline, or all)."""
        with self.store.meta.read() as conn:
            if pipeline is not None and state.get_pipeline(conn, pipeline) is None:
                raise NotFound(f"pipeline {pipeline!r} not found", pipeline=pipeline)
            return [job_info(r) for r in state.list_jobs(conn, pipeline, limit, offset)]

    def list_datum(
        self, job_id: str, *, limit: int | None = None, offset: int = 0
    ) -> list[DatumInfo]:
        """The datums of a job (processed, skipped and failed)."""
        with self.store.meta.read() as conn:
            job = self._job_row(conn, job_id)
            return [datum_info(r) for r in state.job_datums(conn, job.id, limit, offset)]

    def inspect_datum(self, job_id: str, datum_id: str) -> DatumInfo:
        """One datum of a job (a unique id prefix is enough)."""
        with self.store.meta.read() as conn:
            job = self._job_row(conn, job_id)
            row = state.get_datum(conn, job.id, datum_id)
            if row is None:
                raise NotFound(f"datum {datum_id!r} not found in job {job.id}", datum=datum_id)
            return datum_info(row)

    def datum_blob(self, job_id: str, datum_id: str, which: str) -> bytes:
        """A datum's executed notebook (``which='notebook'``) or log (``'log'``)."""
        with self.store.meta.read() as conn:
            job = self._job_row(conn, job_id)
            row = state.get_datum(conn, job.id, datum_id)
        if row is None:
            raise NotFound(f"datum {datum_id!r} not found in job {job_id}", datum=datum_id)
        ref = state.loads(getattr(row, which))
        if ref is None:
            raise NotFound(f"datum {row.id} of job {job_id} has no {which}", datum=row.id)
        return self.store.reader.read(BlobRef.from_list(ref))

    def dry_run_datums(self, input_spec: dict[str, Any]) -> list[Datum]:
        """The datums an ``input`` spec would give on the current heads (nothing is run)."""
        from .spec import parse_input

        inp = parse_input(input_spec)  # InvalidArgument naming the field, both spellings
        with self.store.meta.read() as conn:
            pins = {}
            for repo, branch in _input_repos(inp):
                b = self.store.meta.get_branch(conn, repo, branch)
                if self.store.meta.get_repo(conn, repo) is None:
                    raise NotFound(f"repo {repo!r} not found", repo=repo)
                pins[f"{repo}@{branch}"] = b.head if b else None
        return compute_datums(inp, lister(self.store, pins))

    def pending(self, root_commit: str | None) -> bool:
        """Whether jobs (triggered by ``root_commit``, or any) are still to run."""
        with self.store.meta.read() as conn:
            return bool(state.pending_jobs(conn, root_commit))

    def jobs_of(self, root_commit: str) -> list[JobInfo]:
        """Jobs triggered (transitively) by a commit, oldest first."""
        with self.store.meta.read() as conn:
            return [job_info(r) for r in state.jobs_by_root(conn, root_commit)]

    def gc_roots(self) -> list[BlobRef]:
        """Executed notebooks and logs of every datum (kept by gc)."""
        out = []
        with self.store.meta.read() as conn:
            for nb, log in state.all_datum_refs(conn):
                out += [BlobRef.from_list(json.loads(x)) for x in (nb, log) if x]
        return out


def _is_file(source: str | os.PathLike[str]) -> bool:
    s = os.fspath(source)
    return "\n" not in s and len(s) < 4096 and os.path.isfile(s)


def _cmd_fingerprint(spec: PipelineSpec) -> str:
    from ..store.objects import hash_bytes

    t = spec.transform
    return hash_bytes(json.dumps([t.cmd, t.stdin, t.env], sort_keys=True).encode())


def _input_repos(inp: Any) -> list[tuple[str, str]]:
    from .spec import iter_pfs

    return [(p.repo, p.branch) for _, p in iter_pfs(inp)]


def _pin(store: Store, conn: Connection, spec: PipelineSpec) -> dict[str, str | None]:
    """The current head of every input branch."""
    pins: dict[str, str | None] = {}
    for repo, branch in spec.input_repos():
        b = store.meta.get_branch(conn, repo, branch)
        pins[f"{repo}@{branch}"] = b.head if b is not None else None
    return pins


def lister(store: Store, pins: dict[str, str | None]) -> Any:
    """A datum lister over pinned commits: glob matches as (path, hash, size)."""

    def list_matches(pfs: Any) -> list[tuple[str, str, int]]:
        commit = pins.get(f"{pfs.repo}@{pfs.branch}")
        if commit is None:
            return []
        ref = Ref(pfs.repo, commit, explicit=True)
        return [(f.path, f.hash, f.size_bytes) for f in store.glob_file(ref, pfs.glob)]

    return list_matches


def job_info(r: Row[Any]) -> JobInfo:
    """A job row as a record."""
    pins = state.loads(r.inputs) or {}
    return JobInfo(
        id=r.id,
        pipeline=r.pipeline,
        version=r.version,
        state=r.state,
        reason=r.reason,
        created=utc(r.created_at),
        started=utc(r.started_at),  # type: ignore[arg-type]
        finished=utc(r.finished_at),
        inputs=tuple(
            CommitRef(k.split("@")[0], v, k.split("@")[1]) for k, v in sorted(pins.items()) if v
        ),
        spec_commit=r.spec_commit,
        output_commit=r.output_commit,
        total=r.total,
        processed=r.processed,
        skipped=r.skipped,
        failed=r.failed,
        error=state.loads(r.error),
        blocked_on=r.blocked_on,
    )


def datum_info(r: Row[Any]) -> DatumInfo:
    """A datum row as a record."""
    outputs = state.loads(r.outputs) or []
    return DatumInfo(
        id=r.id,
        job=r.job,
        state=r.state,
        inputs=tuple(DatumItem(**i) for i in state.loads(r.inputs)),
        outputs=tuple(p for p, _ in outputs),
        tries=r.tries,
        duration_s=r.duration,
        hash=r.hash,
        error=state.loads(r.error),
        has_notebook=r.notebook is not None,
        reused_from=r.reused_from,
    )
