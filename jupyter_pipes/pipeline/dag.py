"""The pipeline graph as data: one node per repo and per pipeline, edges input → pipeline →
output repo. Surfaces (the REST API, the sidebar through it) render this; they do not rebuild it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..store import txn as txnmod
from ..store.records import RepoInfo
from ..store.refs import parse_ref
from .order import topological_order
from .records import DownstreamInfo, JobInfo, PipelineInfo

if TYPE_CHECKING:
    from .manager import Pipelines


def dag(repos: list[RepoInfo], pipelines: list[PipelineInfo]) -> dict[str, Any]:
    """The pipeline graph: a node per repo and per pipeline, edges input → pipeline → output.

    Node ids are ``repo:<name>`` and ``pipeline:<name>`` (a pipeline's output repo has the
    pipeline's name). A repo node's state is its head (``last_commit``); a pipeline node's is
    its newest job's state.
    """
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    outputs = {p.name for p in pipelines}
    for r in repos:
        nodes.append(
            {
                "id": f"repo:{r.name}",
                "kind": "repo",
                "name": r.name,
                "output_of": f"pipeline:{r.name}" if r.name in outputs else None,
                "head": r.last_commit,
                "branches": list(r.branches),
                "size_bytes": r.size_bytes,
            }
        )
    known = {r.name for r in repos}
    for p in pipelines:
        nodes.append(
            {
                "id": f"pipeline:{p.name}",
                "kind": "pipeline",
                "name": p.name,
                "version": p.version,
                "state": p.last_job_state,
                "last_job": p.last_job,
            }
        )
        for ref in p.inputs:
            repo, _, branch = ref.partition("@")
            if repo in known:
                edges.append({"from": f"repo:{repo}", "to": f"pipeline:{p.name}", "branch": branch})
        if p.name in known:
            edges.append(
                {"from": f"pipeline:{p.name}", "to": f"repo:{p.name}", "branch": p.output_branch}
            )
    return {"nodes": nodes, "edges": edges}


def downstream(pipelines: list[PipelineInfo], repo: str, branch: str) -> list[str]:
    """The pipelines that run when ``repo@branch`` moves: every pipeline reading it, then every
    pipeline reading their outputs, and so on — each once (they form one global commit), in
    topological order (upstream first, then by name). The one home of this rule: the REST
    routes ``/repos/{repo}/branches/{branch}/downstream`` and
    ``/repos/{repo}/commits/{ref}/downstream`` answer with it (:func:`downstream_of`)."""
    readers: dict[tuple[str, str], list[str]] = {}
    by_name = {p.name: p for p in pipelines}
    for p in pipelines:
        for ref in p.inputs:
            r, _, b = ref.partition("@")
            readers.setdefault((r, b), []).append(p.name)
    found: set[str] = set()
    frontier = list(readers.get((repo, branch), []))
    while frontier:
        name = frontier.pop()
        if name in found:
            continue
        found.add(name)
        frontier += readers.get((name, by_name[name].output_branch), [])
    return topological_order(
        {n: set(readers.get((n, by_name[n].output_branch), [])) for n in found}
    )


def downstream_of(pipes: Pipelines, ref: str) -> DownstreamInfo:
    """What re-runs downstream of ``ref``: ``repo``, ``repo@branch`` or ``repo@<commit>``
    (any commit ref). The pipelines come from :func:`downstream` over the ref's branch (a
    commit's own branch); the jobs are those of the commit's global commit among them."""
    r = parse_ref(ref)
    is_branch = (
        not r.ancestors
        and r.at is None
        and r.base in {b.name for b in pipes.store.list_branch(r.repo)}
    )
    head = None
    if is_branch:
        with txnmod.read(pipes.store) as t:
            head = t.branch_head(r.repo, r.base)
    commit = pipes.store.resolve(r) if head is not None or not is_branch else None
    branch = r.base if is_branch else (commit.branch if commit is not None else None)
    names = downstream(pipes.list_pipeline(), r.repo, branch) if branch else []
    gid = None
    jobs: tuple[JobInfo, ...] = ()
    if commit is not None:
        gid = pipes.global_id_of(ref if is_branch else f"{r.repo}@{commit.id}")
        wanted = set(names)
        jobs = tuple(j for j in pipes.jobs_of(gid) if j.pipeline in wanted)
    return DownstreamInfo(
        repo=r.repo,
        branch=branch,
        commit=commit.id if commit is not None else None,
        global_id=gid,
        pipelines=tuple(names),
        jobs=jobs,
    )
