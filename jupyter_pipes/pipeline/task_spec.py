"""From a pipeline spec to what a worker gets: the :class:`~.worker.Transform` and each datum's
:class:`~.task_input.TaskInput` items, with everything Pachyderm's contract and the ``/pfs`` sandbox
need (input commits, join and group keys, ``empty_files``, ``lazy``, ``err_cmd``, ...).

The controller builds tasks with these; the worker never reads the spec itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .spec import iter_pfs
from .task_input import TaskInput
from .worker import Transform

if TYPE_CHECKING:
    from ..store.datum_io import Token
    from .datums import Datum
    from .spec import PipelineSpec

__all__ = ["layouts", "task_inputs", "transform_of"]


def transform_of(spec: PipelineSpec, notebook: bytes | None) -> Transform:
    """The worker's view of ``spec.transform`` (``notebook``: the notebook's bytes, if any)."""
    t = spec.transform
    box = t.sandbox
    return Transform(
        notebook=notebook,
        kernel=t.kernel,
        isolation=t.isolation or "fresh",
        parameters=dict(t.parameters),
        cmd=tuple(t.cmd or ()),
        stdin=tuple(t.stdin or ()),
        env=dict(t.env),
        err_cmd=tuple(t.err_cmd or ()),
        err_stdin=tuple(t.err_stdin or ()),
        accept_return_code=tuple(int(c) for c in t.accept_return_code or ()),
        working_dir=t.working_dir,
        network=box.network if box is not None else True,
        read_only_inputs=box.read_only_inputs if box is not None else True,
        image=t.image,
    )


def layouts(spec: PipelineSpec) -> dict[tuple[str, str], tuple[bool, bool]]:
    """``(name, repo)`` -> ``(empty_files, lazy)`` of each pfs input."""
    return {(p.name or p.repo, p.repo): (p.empty_files, p.lazy) for _, p in iter_pfs(spec.input)}


def task_inputs(
    spec: PipelineSpec,
    datum: Datum,
    tokens: Mapping[tuple[str, str, str], Token],
    pins: Mapping[str, Any],
    layout: dict[tuple[str, str], tuple[bool, bool]] | None = None,
) -> tuple[TaskInput, ...]:
    """The items of ``datum`` as a worker reads them.

    ``tokens``: the plan's tokens by ``(repo, branch, path)``; ``pins``: the job's input
    commits by ``repo@branch``; ``layout``: :func:`layouts` of ``spec`` (computed if None).
    """
    if layout is None:
        layout = layouts(spec)
    out = []
    for i in datum.inputs:
        empty, lazy = layout.get((i.name, i.repo), (False, False))
        out.append(
            TaskInput(
                i.name,
                i.path,
                tokens[(i.repo, i.branch, i.path)],
                commit=pins.get(f"{i.repo}@{i.branch}") or "",
                join_on=i.join_on,
                group_by=i.group_by,
                empty_files=empty,
                lazy=lazy,
            )
        )
    return tuple(out)
