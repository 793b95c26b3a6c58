"""Output branches belong to their pipeline (as in Pachyderm).

A pipeline's output branch holds what its jobs computed, and its ``spec`` branch the spec and
notebook versions its jobs ran; a user commit to either (put, delete, copy) would break the
provenance of everything computed from them. Such a commit is refused with
:class:`~jupyter_pipes.errors.OutputBranchWrite`, naming the pipeline. Two checks:

* :func:`check_user_write`, called by the Client before a write starts (fail fast, before any
  byte is uploaded);
* :func:`refuse_user_commits`, a head hook: it runs inside the transaction that would move the
  head, so no path around the Client (the fsspec filesystem, the store API) gets a user commit
  onto such a branch either.

A ``revert`` of an output branch stays allowed (it is the one-click model revert: a new commit
whose tree equals an older *output* of the pipeline), and so do branch moves (``create
branch --head``). The pipeline's own spec commits are its pipeline row's ``spec_commit``.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from ..errors import OutputBranchWrite
from ..store.txn import HeadMove, Txn
from . import state

SPEC_BRANCH = "spec"


def _owner(conn: Connection, repo: str, branch: str) -> state.PipelineRow | None:
    """The pipeline row owning ``repo@branch`` (its output or spec branch), if any."""
    row = state.get_pipeline(conn, repo)
    if row is None or branch not in (row.output_branch, SPEC_BRANCH):
        return None
    return row


def _refusal(row: state.PipelineRow, repo: str, branch: str) -> OutputBranchWrite:
    what = "spec branch" if branch == SPEC_BRANCH else "output branch"
    return OutputBranchWrite(
        f"{repo}@{branch} is the {what} of pipeline {row.name!r}: only its jobs write there "
        f"(revert it to an older output with 'revert branch', or change the pipeline's inputs)",
        pipeline=row.name,
        repo=repo,
        branch=branch,
    )


def check_user_write(conn: Connection, repo: str, branch: str) -> None:
    """Raise :class:`~jupyter_pipes.errors.OutputBranchWrite` if ``repo@branch`` is a
    pipeline's output or spec branch (before a user commit starts)."""
    row = _owner(conn, repo, branch)
    if row is not None:
        raise _refusal(row, repo, branch)


def refuse_user_commits(txn: Txn, move: HeadMove) -> None:
    """Head hook: roll back a user commit onto a pipeline's output or spec branch."""
    if move.cause != "commit" or move.new is None:
        return
    row = _owner(txn.connection, move.repo, move.branch)
    if row is None:
        return
    if move.branch == SPEC_BRANCH and row.spec_commit == move.new:
        return  # the pipeline's own spec commit (create/update writes the row first)
    raise _refusal(row, move.repo, move.branch)
