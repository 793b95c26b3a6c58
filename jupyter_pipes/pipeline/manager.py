"""Pipelines over the store: create/update/delete, and job propagation by global commits.

Versions: creating or updating a pipeline writes a commit to the ``spec`` branch of its output
repo holding ``/spec.json`` and the notebook (``/notebook.ipynb``), so the provenance of every
output commit names the exact notebook code behind it. The spec commit, the pipeline row and
the jobs it starts are written in one transaction (the output repo too, on creation): a create
killed at any instant leaves nothing or the whole pipeline, and of concurrent creates of one
name one succeeds and the others get ``AlreadyExists``.

Propagation (Pachyderm 2.x commit sets): :meth:`Pipelines.on_head_move` runs inside the
transaction that moves any branch head. A move that is not a job's output — a commit made by a
user (put, delete, copy, revert), a branch created or moved, a head deleted — and a pipeline
created, updated or run, starts a *global commit*: one job for every pipeline in the
transitive downstream closure, each pipeline once however many paths reach it. Each input of
such a job is pinned either to a commit, or to "the output of job X" when the input branch is
the output of a job of this global commit — or of a job still pending from an earlier one (the
branch's next consistent version is that job's output, not its current head). A job's output
commit creates no job: it fills in the inputs of the jobs waiting on it. A failed job makes
those ``unrunnable``, transitively. See docs/global-commits.md.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from ..store import txn as txnmod
from ..store.datum_io import CommitTrees
from ..store.records import utc
from ..store.refs import Ref
from ..store.store import Store
from ..store.txn import NEW_COMMIT, HeadMove, Txn, new_global_id
from . import ownership, state
from .control import ControlMixin
from .propagate import propagate
from .queries import QueriesMixin
from .records import JobInfo, JobState, PipelineInfo
from .spec import PipelineSpec, iter_pfs, parse_spec, spec_to_dict
from .stage import stage_key

SPEC_BRANCH = "spec"
SPEC_FILE = "/spec.json"
NOTEBOOK_FILE = "/notebook.ipynb"
_CACHE = 256
SERVE_FILE = "/serve"
"""The serving notebook of a ``serve:`` spec (with its suffix: ``.ipynb`` or ``.py``)."""


class Pipelines(QueriesMixin, ControlMixin):
    """The pipeline layer of one store (registered as the store's head hook)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.meta.ensure_schema(state.CHAIN)
        store.head_hooks.append(ownership.refuse_user_commits)  # output branches: #12
        store.head_hooks.append(self.on_head_move)
        self.trees = CommitTrees(store)
        """The controller's reads of input and output trees (one cache for every job)."""
        self._specs: OrderedDict[tuple[str, int], PipelineSpec] = OrderedDict()
        self._stages: OrderedDict[str, tuple[PipelineSpec, bytes | None]] = OrderedDict()
        self._infos: OrderedDict[tuple[str, str, int], tuple[Any, ...]] = OrderedDict()
        self._crons: tuple[int, dict[str, PipelineSpec]] | None = None
        self._triggers: tuple[int, dict[str, PipelineSpec]] | None = None
        self._lock = threading.Lock()

    # -- specs -----------------------------------------------------------------------------------

    def parsed(self, row: state.PipelineRow) -> PipelineSpec:
        """The parsed spec of a pipeline row, cached by (name, version)."""
        key = (row.name, row.version)
        with self._lock:
            hit = self._specs.get(key)
            if hit is not None:
                self._specs.move_to_end(key)
                return hit
        spec = parse_spec(json.loads(row.spec))
        with self._lock:
            self._specs[key] = spec
            if len(self._specs) > _CACHE:
                self._specs.popitem(last=False)
        return spec

    def spec_at(self, pipeline: str, spec_commit: str) -> tuple[PipelineSpec, bytes | None]:
        """The spec and notebook bytes stored in a spec commit (cached: commits never change)."""
        with self._lock:
            hit = self._stages.get(spec_commit)
        if hit is not None:
            return hit
        ref = Ref(pipeline, spec_commit, explicit=True)
        spec = parse_spec(json.loads(self.store.get_file(ref, SPEC_FILE)))
        notebook = self.store.get_file(ref, NOTEBOOK_FILE) if spec.transform.notebook else None
        with self._lock:
            self._stages[spec_commit] = (spec, notebook)
            if len(self._stages) > 64:
                self._stages.popitem(last=False)
        return spec, notebook

    def check_user_write(self, repo: str, branch: str) -> None:
        """Refuse a user commit to a pipeline's output or spec branch before it starts
        (:class:`~jupyter_pipes.errors.OutputBranchWrite`; see :mod:`.ownership`)."""
        with txnmod.read(self.store) as t:
            ownership.check_user_write(t.connection, repo, branch)

    # -- pipelines -----------------------------------------------------------------------------

    def create_pipeline(
        self,
        source: str | bytes | dict[str, Any] | os.PathLike[str],
        *,
        update: bool = False,
        reprocess: bool = False,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> PipelineInfo:
        """Create (or with ``update``, update) a pipeline from a spec, and queue its jobs."""
        spec = parse_spec(source)
        name = spec.name
        if base_dir is None and isinstance(source, str | os.PathLike) and _is_file(source):
            base_dir = Path(source).parent
        notebook = self._read_notebook(spec, Path(base_dir or Path.cwd()))
        serve_code = self._read_serve_code(spec, Path(base_dir or Path.cwd()))
        stage_key(spec, notebook)  # a notebook that cannot be fingerprinted is refused now
        with txnmod.read(self.store) as t:
            existing = state.get_pipeline(t.connection, name)
            self._check(t, spec, existing, update, creating_repo=True)
        document = spec_to_dict(spec)

        def on_finish(t: Txn, commit_id: str) -> None:
            conn = t.connection
            current = state.get_pipeline(conn, name)
            if update and current and existing and current.version != existing.version:
                raise Conflict(
                    f"pipeline {name!r} was updated concurrently; try again", pipeline=name
                )
            self._check(t, spec, current, update, creating_repo=False)
            for cron in spec.cron_inputs():  # Pachyderm makes a cron input's repo with it
                t.create_repo(cron.repo, f"cron ticks of pipeline {name}")
            now = time.time()
            state.put_pipeline(
                conn,
                {
                    "name": name,
                    "version": (current.version + 1) if current else 1,
                    "spec": json.dumps(document),
                    "spec_commit": commit_id,
                    "salt": spec.salt or "",
                    "output_branch": spec.output_branch,
                    "created_at": current.created_at if current else now,
                    "updated_at": now,
                },
                spec.input_repos(),
            )
            propagate(
                t,
                commit_id,
                [name],
                pinned={},
                root=(name, SPEC_BRANCH, commit_id),
                cause="pipeline",
                reprocess={name} if reprocess else set(),
            )

        description = spec.description or f"output of pipeline {name}"
        oc = self.store.start_commit(
            name,
            SPEC_BRANCH,
            message=f"spec of {name}",
            on_finish=on_finish,
            new_repo=None if existing is not None else description,
        )
        with oc:
            oc.put_file(SPEC_FILE, json.dumps(document, indent=2).encode())
            if notebook is not None:
                oc.put_file(NOTEBOOK_FILE, notebook)
            else:
                oc.delete_file(NOTEBOOK_FILE)
            for suffix in (".ipynb", ".py"):  # the serving notebook of ``serve:`` (#16)
                if serve_code is not None and spec.serve and spec.serve.notebook.endswith(suffix):
                    oc.put_file(SERVE_FILE + suffix, serve_code)
                else:
                    oc.delete_file(SERVE_FILE + suffix)
        return self.inspect_pipeline(name)

    def _check(
        self,
        t: Txn,
        spec: PipelineSpec,
        existing: state.PipelineRow | None,
        update: bool,
        *,
        creating_repo: bool,
    ) -> None:
        """Refuse a create or update that cannot be: exists, missing, inputs, cycles."""
        name = spec.name
        if existing is not None and not update:
            raise AlreadyExists(
                f"pipeline {name!r} already exists; update it instead", pipeline=name
            )
        if existing is None and update:
            raise NotFound(f"pipeline {name!r} not found", pipeline=name)
        if existing is None and creating_repo and t.repo_exists(name):
            raise Conflict(
                f"repo {name!r} exists already and is not a pipeline's output: "
                "choose another pipeline name",
                pipeline=name,
            )
        conn = t.connection
        graph = state.all_inputs(conn)
        graph[name] = [p.repo for _, p in iter_pfs(spec.input)]
        crons = {c.repo for c in spec.cron_inputs()}  # made with the pipeline
        for path, pfs in iter_pfs(spec.input):
            if pfs.repo in crons:
                continue
            if pfs.repo != name and pfs.repo not in graph and not t.repo_exists(pfs.repo):
                raise InvalidArgument(
                    f"pipeline {name!r}: {path}.repo: repo {pfs.repo!r} does not exist (neither "
                    "a repo nor another pipeline's output)",
                    pipeline=name,
                    field=f"{path}.repo",
                    repo=pfs.repo,
                )
        cycle = _find_cycle(graph, name)
        if cycle:
            raise InvalidArgument(f"pipelines form a cycle: {' -> '.join(cycle)}", cycle=cycle)

    @staticmethod
    def _read_notebook(spec: PipelineSpec, base: Path) -> bytes | None:
        if spec.transform.notebook is None:
            return None
        given = Path(spec.transform.notebook)
        path = given if given.is_absolute() else base / given
        try:
            return path.read_bytes()
        except FileNotFoundError:
            shown = _shown_path(given, base)  # never the server's absolute path
            raise InvalidArgument(
                f"transform.notebook: notebook {shown!r} not found (paths are relative to the "
                "spec's folder, or to the server's root directory)",
                field="transform.notebook",
                path=shown,
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
                f"serve.notebook: {spec.serve.notebook!r} not found",
                field="serve.notebook",
                path=spec.serve.notebook,
            ) from None

    def delete_pipeline(self, name: str, *, keep_repo: bool = False, force: bool = False) -> None:
        """Delete a pipeline, its jobs and (unless ``keep_repo``) its output repo; jobs
        waiting on its pending jobs become ``unrunnable``."""
        with txnmod.write(self.store) as t:
            conn = t.connection
            row = state.get_pipeline(conn, name)
            if row is None:
                raise NotFound(f"pipeline {name!r} not found", pipeline=name)
            crons = [c.repo for c in self.parsed(row).cron_inputs()]
            users = [p for p in state.users_of_repo(conn, name) if p != name]
            if users and not force:
                raise Conflict(
                    f"pipeline {name!r} feeds {', '.join(users)}; delete those first",
                    pipeline=name,
                    downstream=users,
                )
            for job_id in state.delete_pipeline(conn, name):
                state.cascade_unrunnable(
                    conn, job_id, f"upstream job {job_id} ({name}) was deleted with its pipeline"
                )
        if not keep_repo:
            self.store.delete_repo(name, force=True)
            for repo in crons:  # as Pachyderm, a cron input's repo goes with its pipeline
                self.store.delete_repo(repo, force=True)

    def list_pipeline(self) -> list[PipelineInfo]:
        """Every pipeline, by name (one query for the newest jobs; specs parsed once)."""
        with txnmod.read(self.store) as t:
            rows = state.all_pipelines(t.connection)
            newest = state.newest_jobs(t.connection)
        return [self._pipeline_info(r, newest.get(r.name)) for r in rows]

    def inspect_pipeline(self, name: str) -> PipelineInfo:
        """One pipeline."""
        with txnmod.read(self.store) as t:
            row = state.get_pipeline(t.connection, name)
            if row is None:
                raise NotFound(f"pipeline {name!r} not found", pipeline=name)
            last = state.list_jobs(t.connection, name, limit=1)
        return self._pipeline_info(row, (last[0].id, last[0].state) if last else None)

    def spec(self, name: str) -> PipelineSpec:
        """The current spec of a pipeline."""
        with txnmod.read(self.store) as t:
            row = state.get_pipeline(t.connection, name)
        if row is None:
            raise NotFound(f"pipeline {name!r} not found", pipeline=name)
        return self.parsed(row)

    def _pipeline_info(
        self, row: state.PipelineRow, last: tuple[str, JobState] | None
    ) -> PipelineInfo:
        key = ("info", row.name, row.version)
        with self._lock:
            cached = self._infos.get(key)
        if cached is None:
            parsed = self.parsed(row)
            cached = (
                json.loads(row.spec),
                parsed.description or "",
                tuple(f"{r}@{b}" for r, b in parsed.input_repos()),
                parsed.output_branch,
            )
            with self._lock:
                self._infos[key] = cached
                if len(self._infos) > 4 * _CACHE:
                    self._infos.popitem(last=False)
        spec, description, inputs, output_branch = cached
        return PipelineInfo(
            name=row.name,
            version=row.version,
            spec=spec,
            spec_commit=row.spec_commit,
            description=description,
            inputs=inputs,
            output_branch=output_branch,
            created=utc(row.created_at),  # type: ignore[arg-type]
            updated=utc(row.updated_at),  # type: ignore[arg-type]
            last_job=last[0] if last else None,
            last_job_state=last[1] if last else None,
        )

    def cron_specs(self) -> dict[str, PipelineSpec]:
        """The specs of the pipelines that have cron inputs (for the controller's ticker);
        reread only when something changed (an idle controller reads one row)."""
        with txnmod.read(self.store) as t:
            count = state.change_count(t.connection)
            if self._crons is not None and self._crons[0] == count:
                return self._crons[1]
            rows = [r for r in state.all_pipelines(t.connection) if '"cron"' in r.spec]
        found = {r.name: self.parsed(r) for r in rows}
        self._crons = (count, found)
        return found

    def trigger_specs(self) -> dict[str, PipelineSpec]:
        """The specs of the pipelines whose inputs have branch triggers (for the controller's
        trigger ticker, #13); reread only when something changed, as :meth:`cron_specs`."""
        with txnmod.read(self.store) as t:
            count = state.change_count(t.connection)
            if self._triggers is not None and self._triggers[0] == count:
                return self._triggers[1]
            rows = [r for r in state.all_pipelines(t.connection) if '"trigger"' in r.spec]
        found = {r.name: self.parsed(r) for r in rows}
        self._triggers = (count, found)
        return found

    def users_of_repo(self, repo: str) -> list[str]:
        """Pipelines reading ``repo``."""
        with txnmod.read(self.store) as t:
            return state.users_of_repo(t.connection, repo)

    def is_pipeline(self, name: str) -> bool:
        """Whether ``name`` is a pipeline (and so its output repo)."""
        with txnmod.read(self.store) as t:
            return state.get_pipeline(t.connection, name) is not None

    def run_pipeline(self, name: str, *, reprocess: bool = False) -> JobInfo:
        """A new job of ``name`` on its inputs' current heads (and the jobs downstream), as a
        global commit of its own."""
        gid = new_global_id()
        with txnmod.write(self.store) as t:
            if state.get_pipeline(t.connection, name) is None:
                raise NotFound(f"pipeline {name!r} not found", pipeline=name)
            made = propagate(
                t,
                gid,
                [name],
                pinned={},
                root=(name, None, None),
                cause="run",
                reprocess={name} if reprocess else set(),
            )
        return self.inspect_job(made[name])

    # -- propagation ---------------------------------------------------------------------------

    def on_head_move(self, txn: Txn, move: HeadMove) -> None:
        """Start a global commit, or release the jobs waiting on a job's output commit, in the
        transaction that moved ``move``'s head."""
        conn = txn.connection
        state.bump(conn)
        if move.cause in NEW_COMMIT and move.new is not None:
            job = state.job_for_output(conn, move.new)
            if job is not None:
                state.release(conn, job.id, move.new)
                return
        if move.cause == "global-delete":
            return  # everything downstream of the deleted change goes back with it
        subscribers = state.subscribers(conn, move.repo, move.branch)
        if subscribers:
            propagate(
                txn,
                move.global_id or new_global_id(),
                subscribers,
                pinned={f"{move.repo}@{move.branch}": move.new},
                root=(move.repo, move.branch, move.new),
                cause=move.cause,
            )


def _find_cycle(graph: dict[str, list[str]], start: str) -> list[str] | None:
    """A cycle through ``start`` in the pipeline graph (pipeline -> input repos), as data
    flows (``a -> b -> a``), or None."""
    seen: set[str] = set()

    def up(node: str, path: list[str]) -> list[str] | None:
        for repo in sorted(set(graph.get(node, ()))):
            if repo == start:
                return [start, *reversed(path)]
            if repo in graph and repo not in seen:
                seen.add(repo)
                found = up(repo, [*path, repo])
                if found:
                    return found
        return None

    return up(start, [start])


def _shown_path(given: Path, base: Path) -> str:
    """A notebook path for an error message: relative to ``base`` (the spec's folder or the
    server's root) when it lies inside it, else only its file name — never an absolute path
    of the machine that reads it."""
    if not given.is_absolute():
        return given.as_posix()
    try:
        return given.relative_to(base.absolute()).as_posix()
    except ValueError:
        return given.name


def _is_file(source: str | os.PathLike[str]) -> bool:
    s = os.fspath(source)
    return "\n" not in s and len(s) < 4096 and os.path.isfile(s)
