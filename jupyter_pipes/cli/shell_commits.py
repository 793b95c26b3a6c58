"""``start commit`` / ``finish commit``: one commit written by several commands (pachctl's).

Between the two, ``put file`` and ``delete file`` to the branch (or to ``REPO@<open id>``) add
to the open commit instead of making commits of their own; see
:mod:`jupyter_pipes.client.shell_commits`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from . import render
from .base import client, finish, list_, message_option, start
from .jobs import wait_after_commit, wait_option

STDIN = "-"


def stage_into_open_commit(
    branch: str, plan: Sequence[tuple[str | None, str]], append: bool = False
) -> bool:
    """If ``branch`` (``repo@branch`` or ``repo@<open id>``) has an open commit, stage the
    changes of ``plan`` into it — ``(local source, path)`` puts, ``(None, path)`` deletes —,
    print its id and return True; else False (the caller makes a commit as usual)."""
    cl = client()
    info = cl.find_shell_commit(branch)
    if info is None:
        return False
    ref = f"{info.repo}@{info.id}"
    for local, path in plan:
        if local is None:
            info = cl.delete_file_shell(ref, path)
        else:
            source = sys.stdin.buffer if local == STDIN else local
            info = cl.put_file_shell(ref, path, source, append=append)
    click.echo(info.id)
    click.echo(
        f"staged in the open commit of {info.repo}@{info.branch} ({info.changes} change(s)); "
        f"make it visible with: jupyter pipes finish commit {info.repo}@{info.branch}",
        err=True,
    )
    return True


@start.command("commit")
@click.argument("branch", metavar="REPO@BRANCH")
@message_option
def start_commit(branch: str, message: str) -> None:
    """Open a commit on REPO@BRANCH; print its id. Until 'finish commit', 'put file' and
    'delete file' to REPO@BRANCH (or REPO@<id>) add to it, and nobody sees any of it.

    The changes are staged on this machine (in the temporary folder, or
    $JUPYTER_PIPES_STAGING) and written as one atomic commit by 'finish commit'.

    \b
    Example:
      jupyter pipes start commit images@master -m "batch 12"
      jupyter pipes put file images@master:/raw/ -f a.png -f b.png
      jupyter pipes delete file images@master:/raw/old.png
      jupyter pipes finish commit images@master
    """
    info = client().start_shell_commit(branch, message=message)
    click.echo(info.id)


@finish.command("commit")
@click.argument("ref", metavar="REPO@BRANCH | REPO@ID")
@click.option("--abort", is_flag=True, help="Drop the open commit and what it staged instead.")
@wait_option
def finish_commit(ref: str, abort: bool, wait: float | None) -> None:
    """Write everything the open commit REPO@BRANCH (or REPO@<its id>) staged as one commit,
    atomically; print the new commit's id and the jobs it queued.

    \b
    Examples:
      jupyter pipes finish commit images@master
      jupyter pipes finish commit images@3f2a9c1e --wait
      jupyter pipes finish commit images@master --abort
    """
    c = client().finish_shell_commit(ref, abort=abort)
    if c is None:
        click.echo("aborted", err=True)
        return
    click.echo(c.id)
    wait_after_commit(f"{c.repo}@{c.id}", wait)


@list_.command("open-commit")
def list_open_commit() -> None:
    """List the commits opened with 'start commit' on this machine and not finished yet.

    \b
    Example:
      jupyter pipes list open-commit
    """
    rows = client().list_shell_commit()
    click.echo(
        render.table(
            ["REPO", "BRANCH", "ID", "STARTED", "CHANGES", "DESCRIPTION"],
            [
                [i.repo, i.branch, i.id, render.ago(i.started), str(i.changes), i.message]
                for i in rows
            ],
        )
    )
