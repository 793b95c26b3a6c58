"""``fsck``, ``gc`` and ``upgrade``: verify the store, reclaim space nothing reaches, migrate
the metadata schema."""

from __future__ import annotations

import click

from . import render
from .base import cli, client, json_option


@cli.command("fsck")
@click.option(
    "--verify-data/--no-verify-data",
    default=True,
    show_default=True,
    help="Re-hash every reachable byte (slower), or only check that objects exist.",
)
@json_option
@click.pass_context
def fsck(ctx: click.Context, verify_data: bool, as_json: bool) -> None:
    """Check the store: every reachable object, branch head, parent and provenance link.

    Exit status 1 when a problem is found (problems are listed, never repaired).

    \b
    Examples:
      jupyter pipes fsck
      jupyter pipes fsck --no-verify-data --json
    """
    report = client().fsck(verify_data=verify_data)
    if as_json:
        render.echo_json({**report.to_dict(), "ok": report.ok})
    else:
        counts = ", ".join(
            render.plural(n, w)
            for n, w in [
                (report.commits, "commit"),
                (report.trees, "tree"),
                (report.files, "file"),
                (report.chunks, "chunk"),
            ]
        )
        click.echo(f"checked {counts}; verified {render.human_size(report.bytes_verified)}")
        for p in report.problems:
            click.echo(f"problem: {p}")
        click.echo(
            f"{render.plural(len(report.problems), 'problem')} found" if report.problems else "ok"
        )
    if report.problems:
        ctx.exit(1)


@cli.command("gc")
@click.option(
    "--grace",
    "grace",
    type=click.FloatRange(min=0),
    default=3600.0,
    show_default=True,
    metavar="SECONDS",
    help="Keep unreachable objects and open commits younger than this.",
)
@json_option
def gc(grace: float, as_json: bool) -> None:
    """Remove unreachable objects and abandoned open commits older than --grace.

    \b
    Examples:
      jupyter pipes gc
      jupyter pipes gc --grace 0 --json
    """
    report = client().gc(grace_seconds=grace)
    if as_json:
        render.echo_json(report)
        return
    click.echo(
        f"removed {render.plural(report.packs_removed, 'pack')} "
        f"({render.human_size(report.bytes_removed)}), "
        f"forgot {render.plural(report.chunks_forgotten, 'chunk index row')}, "
        f"removed {render.plural(report.open_commits_removed, 'abandoned open commit')}"
    )


@cli.command("upgrade")
@json_option
def upgrade(as_json: bool) -> None:
    """Upgrade the store's metadata schema to this version of jupyter_pipes.

    Any command upgrades an older store when it opens it; this one does only that, and says
    what it did. SQLite: a backup copy of the database is made next to it first
    (metadata.sqlite.backup-<time>). PostgreSQL: each chain upgrades in one transaction.
    A store written by a newer jupyter_pipes is refused (upgrade the package instead).

    \b
    Examples:
      jupyter pipes upgrade
      jupyter pipes --store /data/.pipes upgrade --json
    """
    chains = client().upgrade()
    if as_json:
        render.echo_json(chains)
        return
    for s in chains:
        if s.previous is None:
            click.echo(f"{s.chain} schema: created at revision {s.version}")
        elif s.upgraded:
            saved = f" (backup: {s.backup})" if s.backup else ""
            click.echo(f"{s.chain} schema: upgraded {s.previous} -> {s.version}{saved}")
        else:
            click.echo(f"{s.chain} schema: revision {s.version}, up to date")
