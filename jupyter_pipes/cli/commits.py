"""``list|inspect|squash|delete|subscribe commit``.

Like pachctl 2.x, each also takes a *global commit* id (a change and every output commit it
caused; :meth:`jupyter_pipes.Client.inspect_global_commit`) instead of ``REPO@REF``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..errors import PipesError
from . import render
from .base import client, delete, inspect, json_option, list_, reader, squash, subscribe

if TYPE_CHECKING:
    from ..pipeline.records import GlobalCommitInfo
    from ..store.records import CommitInfo


def global_id(ref: str) -> str | None:
    """``ref`` if it names a global commit (no ``@`` and no repo of that name), else None."""
    if "@" in ref:
        return None
    cl = reader()
    try:
        cl.inspect_repo(ref)
        return None
    except PipesError:
        pass
    return ref if cl.is_global_commit(ref) else None


def _commit_rows(commits: list[CommitInfo]) -> list[list[object]]:
    return [
        [
            c.repo,
            c.branch,
            c.id,
            render.ago(c.finished) if c.state == "finished" else "open",
            render.human_size(c.size_bytes),
            c.origin,
            render.first_line(c.message),
        ]
        for c in commits
    ]


_COMMIT_HEADER = ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN", "DESCRIPTION"]


def _ref_text(repo: str, cid: str, branch: str | None) -> str:
    return f"{repo}@{cid}" + (f" ({branch})" if branch else "")


@list_.command("commit")
@click.argument("ref", metavar="REPO[@BRANCH] | GLOBAL_ID")
@click.option(
    "-n", "--number", type=click.IntRange(min=0), default=None, help="Show at most N commits."
)
@click.option(
    "--offset",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Skip the K newest commits.",
)
@json_option
def list_commit(ref: str, number: int | None, offset: int, as_json: bool) -> None:
    """List commits, newest first.

    REPO lists every commit of the repo; REPO@BRANCH (or any ref) lists that commit and its
    ancestors; a GLOBAL_ID lists the commits of that global commit (the change and every
    output commit it caused), oldest first.

    \b
    Examples:
      jupyter pipes list commit images
      jupyter pipes list commit images@master -n 5
      jupyter pipes list commit 3f2a9c1e0b7d4c55a1e2f3a4b5c6d7e8
    """
    gid = global_id(ref)
    if gid is not None:
        commits = list(client().inspect_global_commit(gid).commits)
        commits = commits[offset:][:number] if number is not None else commits[offset:]
    else:
        commits = reader().list_commit(ref, limit=number, offset=offset)
    if as_json:
        render.echo_json(commits)
        return
    click.echo(render.table(_COMMIT_HEADER, _commit_rows(commits)))


def _commit_dict(c: CommitInfo, subvenance: list[CommitInfo]) -> dict[str, Any]:
    d = c.to_dict()
    d["subvenance"] = [{"repo": s.repo, "id": s.id, "branch": s.branch} for s in subvenance]
    return d


@inspect.command("commit")
@click.argument("ref", metavar="REPO@REF | GLOBAL_ID")
@json_option
def inspect_commit(ref: str, as_json: bool) -> None:
    """Show one commit, with its global id, provenance (what it was computed from) and
    subvenance (what was computed from it); or a global commit: what started it, its commits
    and its jobs.

    The JSON is the commit record plus a "subvenance" list of {repo, id, branch} (for a
    global commit: its record, with "commits" and "jobs").

    \b
    Examples:
      jupyter pipes inspect commit images@master
      jupyter pipes inspect commit images@3f2a9c --json
      jupyter pipes inspect commit 3f2a9c1e0b7d4c55a1e2f3a4b5c6d7e8
    """
    cl = reader()
    gid = global_id(ref)
    if gid is not None:
        _show_global(cl.inspect_global_commit(gid), as_json)
        return
    c = cl.inspect_commit(ref)
    sub = cl.list_subvenance(f"{c.repo}@{c.id}")
    if as_json:
        render.echo_json(_commit_dict(c, sub))
        return
    pairs: list[tuple[str, object]] = [
        ("Commit", f"{c.repo}@{c.id}"),
        ("Global ID", c.global_id),
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
        ("Provenance", ", ".join(_ref_text(p.repo, p.id, p.branch) for p in c.provenance) or None),
        ("Subvenance", ", ".join(_ref_text(s.repo, s.id, s.branch) for s in sub) or None),
    ]
    click.echo(render.key_values(pairs))


def _show_global(g: GlobalCommitInfo, as_json: bool) -> None:
    if as_json:
        render.echo_json({**g.to_dict(), "done": g.done})
        return
    start = f"{g.repo}@{g.branch}" if g.branch else g.repo
    click.echo(
        render.key_values(
            [
                ("Global ID", g.id),
                ("Cause", g.cause),
                ("Started by", f"{start} -> {g.commit}" if g.commit else start),
                ("Created", render.ago(g.created)),
                ("Done", "yes" if g.done else "no"),
            ]
        )
    )
    click.echo("")
    click.echo(render.table(_COMMIT_HEADER, _commit_rows(list(g.commits))))
    if g.jobs:
        click.echo("")
        click.echo(
            render.table(
                ["JOB", "PIPELINE", "STATE", "DATUMS", "OUTPUT COMMIT"],
                [
                    [
                        j.id,
                        j.pipeline,
                        j.state,
                        f"{j.processed}/{j.skipped}/{j.failed} of {j.total}",
                        j.output_commit,
                    ]
                    for j in g.jobs
                ],
            )
        )


@squash.command("commit")
@click.argument("ref", metavar="REPO@REF | GLOBAL_ID")
def squash_commit(ref: str) -> None:
    """Remove a commit (or every commit of a global commit) from history; the children keep
    every file (no data is lost).

    A branch head cannot be squashed (delete it instead).

    \b
    Examples:
      jupyter pipes squash commit images@master^1
      jupyter pipes squash commit 3f2a9c1e0b7d4c55a1e2f3a4b5c6d7e8
    """
    gid = global_id(ref)
    if gid is not None:
        client().squash_global_commit(gid)
    else:
        client().squash_commit(ref)


@delete.command("commit")
@click.argument("ref", metavar="REPO@REF | GLOBAL_ID")
def delete_commit(ref: str) -> None:
    """Delete a branch head that has no children; the branch moves back to its parent (and
    the pipelines reading it run again).

    A GLOBAL_ID deletes the whole change: the commit a user made and every output commit it
    caused, with their jobs; every branch goes back and nothing runs again.

    \b
    Examples:
      jupyter pipes delete commit images@master
      jupyter pipes delete commit 3f2a9c1e0b7d4c55a1e2f3a4b5c6d7e8
    """
    gid = global_id(ref)
    if gid is not None:
        client().delete_global_commit(gid)
    else:
        client().delete_commit(ref)


@subscribe.command("commit")
@click.argument("branch", metavar="REPO@BRANCH")
@click.option("--new", is_flag=True, help="Only commits made from now on (not the history).")
@click.option(
    "-n",
    "--number",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Exit after N commits.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    metavar="SECONDS",
    help="Exit (status 1) when no new commit came for this long.",
)
@json_option
def subscribe_commit(
    branch: str, new: bool, number: int | None, timeout: float | None, as_json: bool
) -> None:
    """Print each finished commit of a branch as it becomes the head, oldest first: the
    branch's history (unless --new), then every new commit, until interrupted. With --json,
    one JSON object per line.

    \b
    Examples:
      jupyter pipes subscribe commit images@master
      jupyter pipes subscribe commit edges@master --new -n 1
    """
    import json

    from ..errors import PipesError

    count = 0
    commits = client().subscribe_commit(branch, new=new, timeout=timeout)
    try:
        for c in commits:
            if as_json:
                click.echo(json.dumps(c.to_dict(), default=str))
            else:
                click.echo("\t".join(str(x) for x in _commit_rows([c])[0]))
            count += 1
            if number is not None and count >= number:
                return
    except TimeoutError as e:
        raise PipesError(str(e)) from None
    except KeyboardInterrupt:
        return
