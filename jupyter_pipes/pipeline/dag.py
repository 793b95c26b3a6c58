"""The pipeline graph as data: one node per repo and per pipeline, edges input → pipeline →
output repo. Surfaces (the REST API, the sidebar through it) render this; they do not rebuild it.
"""

from __future__ import annotations

from typing import Any

from ..store.records import RepoInfo
from .records import PipelineInfo


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
