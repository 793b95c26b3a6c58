"""``list|inspect|squash|delete commit``."""

from __future__ import annotations

from typing import Any

import click

from ..store.records import CommitInfo
from . import render
from .base import client, delete, inspect, json_option, list_, squash


def _ref_text(repo: str, cid: str, branch: str | None) -> str:
    return f"{repo}@{cid}" + (f" ({branch})" if branch else "")


@list_.command("commit")
@click.argument("ref", metavar="REPO[@BRANCH]")
@click.option("-n", "--number", type=click.IntRange(min=0), default=None,
              help="Show at most N commits.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
              help="Skip the K newest commits.")
@json_option
def list_commit(ref: str, number: int | None, offset: int, as_json: bool) -> None:
    """List commits, newest first.

    REPO lists every commit of the repo; REPO@BRANCH (or any ref) lists that commit and its
    ancestors.

    \b
    Examples:
      jupyter pipes list commit images
      jupyter pipes list commit images@master -n 5
    """
    commits = client().list_commit(ref, limit=number, offset=offset)
    if as_json:
        render.echo_json(commits)
        return
    click.echo(render.table(
        ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN", "DESCRIPTION"],
        [
            [
                c.repo, c.branch, c.id,
                render.ago(c.finished) if c.state == "finished" else "open",
                render.human_size(c.size_bytes), c.origin, render.first_line(c.message),
            ]
            for c in commits
        ],
    ))


def _commit_dict(c: CommitInfo, subvenance: list[CommitInfo]) -> dict[str, Any]:
    d = c.to_dict()
    d["subvenance"] = [{"repo": s.repo, "id": s.id, "branch": s.branch} for s in subvenance]
    return d


@inspect.command("commit")
@click.argument("ref", metavar="REPO@REF")
@json_option
def inspect_commit(ref: str, as_json: bool) -> None:
    """Show one commit, with its provenance (what it was computed from) and subvenance
    (what was computed from it).

    The JSON is the commit record plus a "subvenance" list of {repo, id, branch}.

    \b
    Examples:
      jupyter pipes inspect commit images@master
      jupyter pipes inspect commit images@3f2a9c --json
    """
    cl = client()
    c = cl.inspect_commit(ref)
    sub = cl.list_subvenance(f"{c.repo}@{c.id}")
    if as_json:
        render.echo_json(_commit_dict(c, sub))
        return
    pairs: list[tuple[str, object]] = [
        ("Commit", f"{c.repo}@{c.id}"),
        ("Original Branch", c.branch),
        ("Parent", c.parent),
        ("Origin", c.origin),
    ]
    if c.restores:
        pairs.append(("Restores", c.restores))
    pairs += [
        ("Message", c.message or None),
        ("State", c.state),
        ("Started", render.ago(c.started)),
        ("Finished", render.ago(c.finished)),
        ("Size", render.human_size(c.size_bytes)),
        ("Files", c.file_count),
        ("Provenance", ", ".join(_ref_text(p.repo, p.id, p.branch) for p in c.provenance)
         or None),
        ("Subvenance", ", ".join(_ref_text(s.repo, s.id, s.branch) for s in sub) or None),
    ]
    click.echo(render.key_values(pairs))


@squash.command("commit")
@click.argument("ref", metavar="REPO@REF")
def squash_commit(ref: str) -> None:
    """Remove a commit from history; its children keep every file (no data is lost).

    A branch head cannot be squashed (delete it instead).

    \b
    Example:
      jupyter pipes squash commit images@master^1
    """
    client().squash_commit(ref)


@delete.command("commit")
@click.argument("ref", metavar="REPO@REF")
def delete_commit(ref: str) -> None:
    """Delete a branch head that has no children; the branch moves back to its parent.

    \b
    Example:
      jupyter pipes delete commit images@master
    """
    client().delete_commit(ref)
