"""Checks between pipelines: every input repo exists, and the pipelines form no cycle."""

from __future__ import annotations

from collections.abc import Mapping

from ...errors import InvalidArgument
from .inputs import iter_pfs
from .models import PipelineSpec

__all__ = ["check_dag"]


def check_dag(specs: Mapping[str, PipelineSpec], repos: set[str]) -> None:
    """Check that pipelines read only existing repos and form no cycle.

    Parameters
    ----------
    specs : Mapping[str, PipelineSpec]
        Every pipeline, keyed by its name.
    repos : set[str]
        The existing repos (pipeline output repos may or may not be among them).

    Raises
    ------
    InvalidArgument
        For an input repo that is neither a repo nor a pipeline's output (naming the pipeline
        and the field), or for a cycle (naming it: ``'a -> b -> a'``, data flowing along the
        arrows).
    """
    downstream: dict[str, list[str]] = {name: [] for name in specs}
    for name in sorted(specs):
        if specs[name].name != name:
            raise InvalidArgument(f"pipeline {specs[name].name!r} is listed as {name!r}")
        for path, pfs in iter_pfs(specs[name].input):
            if pfs.repo in specs:
                downstream[pfs.repo].append(name)
            elif pfs.repo not in repos:
                raise InvalidArgument(
                    f"pipeline {name!r}: {path}.repo: repo {pfs.repo!r} does not exist (neither "
                    "a repo nor another pipeline's output)",
                    pipeline=name, field=f"{path}.repo", repo=pfs.repo,
                )  # fmt: skip
    done: set[str] = set()

    def visit(node: str, stack: list[str]) -> None:
        for nxt in sorted(set(downstream[node])):
            if nxt in stack:
                cycle = [*stack[stack.index(nxt) :], nxt]
                raise InvalidArgument(f"pipelines form a cycle: {' -> '.join(cycle)}", cycle=cycle)
            if nxt not in done:
                visit(nxt, [*stack, nxt])
        done.add(node)

    for name in sorted(specs):
        if name not in done:
            visit(name, [name])
