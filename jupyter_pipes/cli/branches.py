"""``create|list|inspect|delete branch`` and ``revert branch``."""

from __future__ import annotations

import click

from . import render
from .base import client, create, delete, inspect, json_option, list_, message_option, revert
from .jobs import wait_after_commit, wait_option


@create.command("branch")
@click.argument("branch", metavar="REPO@BRANCH")
@click.option(
    "--head",
    metavar="REF",
    help="Point the branch at this commit: repo@branch, repo@<id>, or just a branch or commit "
    "id of the same repo. Moves the branch if it exists already.",
)
@wait_option
def create_branch(branch: str, head: str | None, wait: float | None) -> None:
    """Create a branch (empty, or at --head), or move an existing one to --head.

    \b
    Examples:
      jupyter pipes create branch images@staging --head master
      jupyter pipes create branch images@master --head images@master^1
    """
    b = client().create_branch(branch, head=head)
    # the branch (not its new head commit): the move is a global commit of its own
    wait_after_commit(f"{b.repo}@{b.name}" if head and b.head else None, wait)


@list_.command("branch")
@click.argument("repo")
@json_option
def list_branch(repo: str, as_json: bool) -> None:
    """List a repo's branches and their heads.

    \b
    Example:
      jupyter pipes list branch images
    """
    branches = client().list_branch(repo)
    if as_json:
        render.echo_json(branches)
        return
    click.echo(render.table(["BRANCH", "HEAD"], [[b.name, b.head] for b in branches]))


@inspect.command("branch")
@click.argument("branch", metavar="REPO@BRANCH")
@click.option(
    "--at",
    metavar="TIME",
    help="The commit the branch pointed at, at TIME (ISO 8601, local time unless it names a "
    "zone; 10:00 for today): when it became the head, why and who.",
)
@json_option
def inspect_branch(branch: str, at: str | None, as_json: bool) -> None:
    """Show one branch and its head commit (--at: the head it had at a moment).

    \b
    Examples:
      jupyter pipes inspect branch images@master
      jupyter pipes inspect branch model@master --at 2024-05-01T10:00
    """
    if at is not None:
        from .lineage import show_head_at

        show_head_at(branch, at, as_json)
        return
    b = client().inspect_branch(branch)
    if as_json:
        render.echo_json(b)
        return
    click.echo(render.key_values([("Name", f"{b.repo}@{b.name}"), ("Head", b.head)]))


@delete.command("branch")
@click.argument("branch", metavar="REPO@BRANCH")
def delete_branch(branch: str) -> None:
    """Delete a branch pointer (its commits stay reachable by id).

    \b
    Example:
      jupyter pipes delete branch images@staging
    """
    client().delete_branch(branch)


@revert.command("branch")
@click.argument("branch", metavar="REPO@BRANCH")
@click.option(
    "--to",
    "to",
    required=True,
    metavar="REF",
    help="The commit whose files to restore: repo@ref, or a ref of the same repo (master^2, <id>).",
)
@message_option
@wait_option
def revert_branch(branch: str, to: str, message: str, wait: float | None) -> None:
    """Write a new commit on REPO@BRANCH whose files equal those of --to; print its id.

    History is kept: the new commit has origin 'revert' and records which commit it restores.

    \b
    Examples:
      jupyter pipes revert branch model@master --to model@master^1
      jupyter pipes revert branch model@master --to 3f2a9c -m "back to the good model"
    """
    c = client().revert(branch, to, message=message or None)
    click.echo(c.id)
    wait_after_commit(f"{c.repo}@{c.id}", wait)
