"""Lineage of one file: the datum, job, notebook version and exact input files that made it,
recursively upstream, down to the user commits that wrote the data.

:func:`file_lineage` walks the store and the pipeline layer's records (never the workers):

* a file of a pipeline's output commit was written by one datum of the job that made that
  commit, or by a datum that job reused (then the job that *ran* it is the one reported, with
  its spec commit: the notebook version that really produced the bytes);
* a revert commit holds the tree of the commit it restores, so it is followed to that commit;
* a file of a user commit was written by the oldest commit of the run of ancestors holding the
  same content (who, when and message come from that commit and its head move).

The result is a graph, not a tree: a datum that several files came from (the whole ``model``
repo feeding every prediction) is one :class:`LineageStep`, and files are keyed by
``repo@commit:path``. Surfaces render it as a tree, marking repeats.
"""

from __future__ import annotations

import contextlib
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgument, NotFound
from ..store.records import CommitInfo, _Record
from ..store.refs import parse_file_ref, parse_ref
from . import state
from .manager import NOTEBOOK_FILE, SPEC_FILE

if TYPE_CHECKING:
    from ..store.store import Store
    from .manager import Pipelines
    from .records import DatumInfo, JobInfo

MAX_FILES_PER_INPUT = 200
"""Files listed per directory input of a datum (the rest are counted, not listed)."""
MAX_FILES = 2000
"""Files in one lineage before it stops going upstream (``Lineage.truncated``)."""
MAX_ANCESTORS = 500
"""Ancestors searched for the commit that wrote a user file's content."""
CELL_KEY = "jupyter_pipes"
"""Cell metadata key where runs record the files a cell wrote (``{"wrote": [paths]}``)."""


@dataclass(frozen=True, slots=True)
class LineageCommit(_Record):
    """A commit named in a lineage: who made it, when, why, and its global commit."""

    repo: str
    id: str
    branch: str | None
    origin: str
    message: str
    time: datetime | None
    actor: str | None = None
    """Who moved the branch to it (the OS user or the Client's user; ``None``: unknown)."""
    global_id: str | None = None
    restores: str | None = None


@dataclass(frozen=True, slots=True)
class LineageFile(_Record):
    """One version of one file: where it was read and what wrote it.

    Exactly one of ``written_by`` (a pipeline datum) and ``written_in`` (a user commit) is set,
    unless ``note`` says why neither is known.
    """

    key: str
    """``repo@commit:path``."""
    repo: str
    commit: str
    path: str
    hash: str
    size_bytes: int
    written_by: str | None = None
    """Key of the :class:`LineageStep` (datum) that wrote this content."""
    written_in: str | None = None
    """Id of the user commit that wrote this content (a :class:`LineageCommit`)."""
    via: tuple[str, ...] = ()
    """Revert commits followed from ``commit`` to the commit whose tree holds the file."""
    note: str = ""


@dataclass(frozen=True, slots=True)
class LineageInput(_Record):
    """One input item of a datum: input ``name`` got ``path`` of ``repo@commit``."""

    name: str
    repo: str
    commit: str | None
    path: str
    files: tuple[str, ...] = ()
    """Keys of the :class:`LineageFile` records of the files it holds."""
    more_files: int = 0
    """Files of a directory input left out of ``files`` (over the listing limit)."""


@dataclass(frozen=True, slots=True)
class LineageCell(_Record):
    """The notebook cell that was running when a file appeared or last changed."""

    index: int
    """Index in the executed notebook (the injected parameters cell counts)."""
    id: str | None
    execution_count: int | None
    source: str


@dataclass(frozen=True, slots=True)
class LineageStep(_Record):
    """One datum run: the pipeline, job, datum, spec and notebook version, and its inputs."""

    key: str
    """``job/datum`` of the run that really executed (for reused datums, the earlier job)."""
    pipeline: str
    job: str
    datum: str
    global_id: str | None
    version: int
    spec_commit: str | None
    output_commit: str | None
    """The output commit of ``job`` (the first commit holding these outputs)."""
    notebook: str | None
    """The spec's ``transform.notebook`` (``None`` for a ``cmd`` transform)."""
    notebook_hash: str | None
    """Content hash of the notebook as snapshotted in the spec commit."""
    cmd: tuple[str, ...] = ()
    parameters: dict[str, Any] = field(default_factory=dict)
    has_notebook: bool = False
    """Whether the executed notebook is kept (``jupyter pipes get notebook JOB DATUM``)."""
    cell: LineageCell | None = None
    started: datetime | None = None
    duration_s: float = 0.0
    inputs: tuple[LineageInput, ...] = ()


@dataclass(frozen=True, slots=True)
class Lineage(_Record):
    """The lineage of one file: a graph of files, datum steps and commits.

    ``root`` is the key of the file asked about. Every file refers to the step or commit that
    wrote it, and every step to the files of its inputs, so following ``written_by`` from the
    root upstream ends at user commits (``written_in``).
    """

    root: str
    files: tuple[LineageFile, ...]
    steps: tuple[LineageStep, ...]
    commits: tuple[LineageCommit, ...]
    truncated: bool = False
    """True when the walk stopped at :data:`MAX_FILES` files."""

    def file(self, key: str | None = None) -> LineageFile:
        """The file with ``key`` (default: the root)."""
        key = key or self.root
        for f in self.files:
            if f.key == key:
                return f
        raise NotFound(f"no file {key!r} in this lineage", key=key)

    def step(self, key: str) -> LineageStep:
        """The step with ``key`` (``job/datum``)."""
        for s in self.steps:
            if s.key == key:
                return s
        raise NotFound(f"no step {key!r} in this lineage", key=key)

    def commit(self, cid: str) -> LineageCommit:
        """The commit with id ``cid``."""
        for c in self.commits:
            if c.id == cid:
                return c
        raise NotFound(f"no commit {cid!r} in this lineage", commit=cid)

    def upstream_steps(self, key: str | None = None) -> list[LineageStep]:
        """Every step reachable upstream from file ``key`` (default: the root), nearest first."""
        seen: list[LineageStep] = []
        todo = deque([self.file(key)])
        while todo:
            f = todo.popleft()
            if f.written_by is None or any(s.key == f.written_by for s in seen):
                continue
            s = self.step(f.written_by)
            seen.append(s)
            todo.extend(self.file(k) for i in s.inputs for k in i.files)
        return seen


def file_key(repo: str, commit: str, path: str) -> str:
    """``repo@commit:path``."""
    return f"{repo}@{commit}:{path}"


class LineageWalker:
    """Builds :class:`Lineage` records, caching what several files share (jobs, datums,
    specs, commits) for one walk.

    Parameters
    ----------
    store, pipelines:
        The store and its pipeline layer.
    cells:
        Read executed notebooks to find the cell that wrote each file (costs one notebook read
        per datum step).
    """

    def __init__(self, store: Store, pipelines: Pipelines, *, cells: bool = True) -> None:
        self.store = store
        self.pipelines = pipelines
        self.cells = cells
        self._commits: dict[str, CommitInfo] = {}
        self._jobs: dict[str, JobInfo] = {}
        self._datums: dict[str, list[DatumInfo]] = {}
        self._specs: dict[str, tuple[dict[str, Any], str | None]] = {}
        self._notebooks: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._output_jobs: dict[str, str | None] = {}
        self._pending: dict[str, tuple[str, str, str, str, int]] = {}
        """Files named by a step's inputs, waiting to be resolved: key -> (repo, commit, path,
        hash, size)."""

    # -- cached reads --------------------------------------------------------------------------

    def commit(self, cid: str) -> CommitInfo:
        """A commit by exact id."""
        if cid not in self._commits:
            self._commits[cid] = self.store.inspect_commit_id(cid)
        return self._commits[cid]

    def job(self, job_id: str) -> JobInfo:
        """A job by id."""
        if job_id not in self._jobs:
            self._jobs[job_id] = self.pipelines.inspect_job(job_id)
        return self._jobs[job_id]

    def job_of_output(self, cid: str) -> str | None:
        """The id of the job whose output commit is ``cid`` (``None``: not a job's output)."""
        if cid not in self._output_jobs:
            with self.store.meta.read() as conn:
                row = state.job_for_output(conn, cid)
            self._output_jobs[cid] = row.id if row is not None else None
        return self._output_jobs[cid]

    def datums(self, job_id: str) -> list[DatumInfo]:
        """Every datum of a job (those it ran and those it reused)."""
        if job_id not in self._datums:
            self._datums[job_id] = self.pipelines.list_datum(job_id)
        return self._datums[job_id]

    def spec(self, spec_commit: str, pipeline: str) -> tuple[dict[str, Any], str | None]:
        """The spec document of a spec commit and its notebook's content hash."""
        if spec_commit not in self._specs:
            ref = parse_ref(f"{pipeline}@{spec_commit}")
            try:
                doc = json.loads(self.store.get_file(ref, SPEC_FILE))
            except (NotFound, ValueError):
                doc = {}
            nb_hash = None
            if (doc.get("transform") or {}).get("notebook"):
                with contextlib.suppress(NotFound):
                    nb_hash = self.store.inspect_file(ref, NOTEBOOK_FILE).hash
            self._specs[spec_commit] = (doc, nb_hash)
        return self._specs[spec_commit]

    def executed_notebook(self, job_id: str, datum_id: str) -> dict[str, Any] | None:
        """A datum's executed notebook as JSON (``None``: none kept, or unreadable)."""
        key = (job_id, datum_id)
        if key not in self._notebooks:
            try:
                self._notebooks[key] = json.loads(
                    self.pipelines.datum_blob(job_id, datum_id, "notebook")
                )
            except (NotFound, ValueError):
                self._notebooks[key] = None
        return self._notebooks[key]

    def actor(self, c: CommitInfo) -> str | None:
        """Who moved a branch head to ``c`` (from the branch timeline), if recorded."""
        if c.branch is None or c.finished is None:
            return None
        window = timedelta(seconds=120)
        try:
            moves = self.store.branch_log(
                c.repo, c.branch, since=c.finished - window, until=c.finished + window
            )
        except (NotFound, InvalidArgument):
            return None
        return next((m.actor for m in moves if m.new == c.id), None)

    # -- the walk ------------------------------------------------------------------------------

    def lineage(self, ref: str, path: str | None = None) -> Lineage:
        """The lineage of file ``path`` of commit ``ref`` (or of ``ref`` = ``repo@ref:path``)."""
        if path is None:
            r, path = parse_file_ref(ref)
        else:
            r = parse_ref(ref)
        c = self.store.resolve(r)
        info = self.store.inspect_file(parse_ref(f"{c.repo}@{c.id}"), path)
        if info.type != "file":
            raise InvalidArgument(
                f"{c.repo}@{c.id}:{info.path} is a directory: give a file (lineage is traced "
                "per file)",
                ref=ref,
                path=info.path,
            )
        files: dict[str, LineageFile] = {}
        steps: dict[str, LineageStep] = {}
        commits: dict[str, LineageCommit] = {}
        root = file_key(c.repo, c.id, info.path)
        todo = deque([(c.repo, c.id, info.path, info.hash, info.size_bytes)])
        truncated = False
        while todo:
            repo, cid, p, h, size = todo.popleft()
            key = file_key(repo, cid, p)
            if key in files:
                continue
            if len(files) >= MAX_FILES:
                truncated = True
                break
            node, step = self._resolve_file(repo, cid, p, h, size, commits)
            files[key] = node
            if step is None or step.key in steps:
                continue
            steps[step.key] = step
            for inp in step.inputs:
                for fk in inp.files:
                    todo.append(self._pending[fk])
        return Lineage(
            root, tuple(files.values()), tuple(steps.values()), tuple(commits.values()), truncated
        )

    def _note(self, commits: dict[str, LineageCommit], c: CommitInfo) -> None:
        if c.id not in commits:
            commits[c.id] = LineageCommit(
                repo=c.repo,
                id=c.id,
                branch=c.branch,
                origin=c.origin,
                message=c.message,
                time=c.finished or c.started,
                actor=self.actor(c),
                global_id=getattr(c, "global_id", None),
                restores=c.restores,
            )

    def _resolve_file(
        self,
        repo: str,
        cid: str,
        path: str,
        h: str,
        size: int,
        commits: dict[str, LineageCommit],
    ) -> tuple[LineageFile, LineageStep | None]:
        key = file_key(repo, cid, path)
        c = self.commit(cid)
        self._note(commits, c)
        via: list[str] = []
        while c.origin == "revert" and c.restores and len(via) < MAX_ANCESTORS:
            via.append(c.id)
            c = self.commit(c.restores)
            self._note(commits, c)
        job_id = self.job_of_output(c.id)
        if job_id is not None:
            step, note = self._step_for(job_id, path, commits)
            node = LineageFile(
                key,
                repo,
                cid,
                path,
                h,
                size,
                written_by=step.key if step else None,
                via=tuple(via),
                note=note,
            )
            return node, step
        writer, more, note = self._writer(c, path, h, commits)
        via += more
        return LineageFile(
            key, repo, cid, path, h, size, written_in=writer, via=tuple(via), note=note
        ), None

    def _holds(self, repo: str, cid: str, path: str, h: str) -> bool:
        try:
            return self.store.inspect_file(parse_ref(f"{repo}@{cid}"), path).hash == h
        except NotFound:
            return False

    def _writer(
        self, c: CommitInfo, path: str, h: str, commits: dict[str, LineageCommit]
    ) -> tuple[str | None, list[str], str]:
        """The commit that wrote ``path`` with hash ``h`` as ``c`` holds it (following a revert
        that restored it to the commit it restored), the reverts followed, and a note.

        The ancestry comes in one query; the search gallops (ancestors 1, 2, 4, ... back) then
        bisects, so it reads O(log n) trees. It names the oldest commit of the run holding these
        bytes; if the file went away and came back with the same bytes within that span, it
        may name the earlier commit that wrote the same bytes.
        """
        chain = self.store.list_commit(parse_ref(f"{c.repo}@{c.id}"), limit=MAX_ANCESTORS + 1)
        for a in chain:
            self._commits.setdefault(a.id, a)
        lo, step, hi = 0, 1, len(chain)  # chain[lo] holds the bytes; chain[hi] does not
        while lo + step < len(chain):
            if not self._holds(c.repo, chain[lo + step].id, path, h):
                hi = lo + step
                break
            lo, step = lo + step, step * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._holds(c.repo, chain[mid].id, path, h):
                lo = mid
            else:
                hi = mid
        cur = chain[lo] if chain else c
        if hi == len(chain) and len(chain) > MAX_ANCESTORS and cur.parent is not None:
            self._note(commits, cur)
            return cur.id, [], f"unchanged for the last {MAX_ANCESTORS} commits"
        via: list[str] = []
        if cur.origin == "revert" and cur.restores and len(via) < 16:
            via.append(cur.id)
            self._note(commits, cur)
            target = self.commit(cur.restores)
            if self.job_of_output(target.id) is None:
                found, more, note = self._writer(target, path, h, commits)
                return found, via + more, note
        self._note(commits, cur)
        return cur.id, via, ""

    def _step_for(
        self, job_id: str, path: str, commits: dict[str, LineageCommit]
    ) -> tuple[LineageStep | None, str]:
        """The datum of job ``job_id`` that wrote ``path``, as a step (with the job that ran
        it), or ``None`` and why."""
        datum = next((d for d in self.datums(job_id) if path in d.outputs), None)
        if datum is None:
            return None, f"no datum of job {job_id} lists {path} among its outputs"
        ran = job_id
        seen = 0
        while datum.state == "skipped" and datum.reused_from and seen < MAX_ANCESTORS:
            ran, seen = datum.reused_from, seen + 1
            try:
                datum = self.pipelines.inspect_datum(ran, datum.id)
            except NotFound:
                break
        job = self.job(ran)
        doc, nb_hash = self.spec(job.spec_commit, job.pipeline) if job.spec_commit else ({}, None)
        transform = doc.get("transform") or {}
        for cid in (job.output_commit, job.spec_commit):
            if cid:
                with contextlib.suppress(NotFound):
                    self._note(commits, self.commit(cid))
        inputs = []
        for item in datum.inputs:
            inputs.append(self._input(item, job))
        return LineageStep(
            key=f"{ran}/{datum.id}",
            pipeline=job.pipeline,
            job=ran,
            datum=datum.id,
            global_id=getattr(job, "global_id", None),
            version=job.version,
            spec_commit=job.spec_commit,
            output_commit=job.output_commit,
            notebook=transform.get("notebook"),
            notebook_hash=nb_hash,
            cmd=tuple(transform.get("cmd") or ()),
            parameters=dict(transform.get("parameters") or {}),
            has_notebook=datum.has_notebook,
            cell=self._cell(ran, datum, path) if self.cells else None,
            started=job.started,
            duration_s=datum.duration_s,
            inputs=tuple(inputs),
        ), ""

    def _input(self, item: Any, job: JobInfo) -> LineageInput:
        commit = item.commit or next((r.id for r in job.inputs if r.repo == item.repo), None)
        if commit is None:
            return LineageInput(item.name, item.repo, None, item.path)
        if not item.path.endswith("/"):
            key = file_key(item.repo, commit, item.path)
            self._pending[key] = (item.repo, commit, item.path, item.hash, item.size_bytes)
            return LineageInput(item.name, item.repo, commit, item.path, (key,))
        keys: list[str] = []
        more = 0
        try:
            found = self.store.walk_file(parse_ref(f"{item.repo}@{commit}"), item.path)
            for f in found:
                if f.type != "file":
                    continue
                if len(keys) >= MAX_FILES_PER_INPUT:
                    more += 1
                    continue
                key = file_key(item.repo, commit, f.path)
                self._pending[key] = (item.repo, commit, f.path, f.hash, f.size_bytes)
                keys.append(key)
        except NotFound:
            pass  # the input commit was deleted since: the item stays, without files
        return LineageInput(item.name, item.repo, commit, item.path, tuple(keys), more)

    def _cell(self, job_id: str, datum: DatumInfo, path: str) -> LineageCell | None:
        if not datum.has_notebook:
            return None
        nb = self.executed_notebook(job_id, datum.id)
        if nb is None:
            return None
        return cell_that_wrote(nb, path)


def cell_that_wrote(nb: dict[str, Any], path: str) -> LineageCell | None:
    """The cell of an executed notebook recorded as having written ``path`` (the last one, if a
    later cell rewrote it), or ``None`` when the run recorded nothing for it."""
    found = None
    for i, cell in enumerate(nb.get("cells", [])):
        wrote = ((cell.get("metadata") or {}).get(CELL_KEY) or {}).get("wrote") or []
        if path in wrote:
            src = cell.get("source", "")
            found = LineageCell(
                index=i,
                id=cell.get("id"),
                execution_count=cell.get("execution_count"),
                source="".join(src) if isinstance(src, list) else str(src),
            )
    return found


def file_lineage(
    store: Store, pipelines: Pipelines, ref: str, path: str | None = None, *, cells: bool = True
) -> Lineage:
    """The lineage of one file (see the module docstring and :class:`Lineage`)."""
    return LineageWalker(store, pipelines, cells=cells).lineage(ref, path)


__all__ = [
    "Lineage",
    "LineageCell",
    "LineageCommit",
    "LineageFile",
    "LineageInput",
    "LineageStep",
    "LineageWalker",
    "cell_that_wrote",
    "file_lineage",
]
