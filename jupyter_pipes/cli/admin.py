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
@click.option(
    "--rebuild-metadata",
    is_flag=True,
    help="Rebuild a lost or damaged metadata database from the store's objects, then check.",
)
@click.option(
    "--force",
    is_flag=True,
    help="With --rebuild-metadata: set aside a database that still opens and holds repos.",
)
@json_option
@click.pass_context
def fsck(
    ctx: click.Context, verify_data: bool, rebuild_metadata: bool, force: bool, as_json: bool
) -> None:
    """Check the store: the metadata database, every reachable object, branch head, parent
    and provenance link.

    Exit status 1 when a problem is found (problems are listed, never repaired).
    With --rebuild-metadata, a metadata database that is missing, empty or damaged is rebuilt
    from the objects first: repos, branches, commits, provenance, the branch timeline and the
    pipelines (job history is not in the objects). A damaged SQLite file is renamed aside,
    never deleted.

    \b
    Examples:
      jupyter pipes fsck
      jupyter pipes fsck --no-verify-data --json
      jupyter pipes fsck --rebuild-metadata
    """
    if rebuild_metadata:
        from ..client import Client

        settings = ctx.find_root().obj
        rebuilt = Client.rebuild_metadata(settings.store, db_url=settings.db, force=force)
        if not as_json:
            aside = (
                f"; the damaged database is now {rebuilt.set_aside}" if rebuilt.set_aside else ""
            )
            click.echo(
                f"rebuilt {render.plural(rebuilt.repos, 'repo')}, "
                f"{render.plural(rebuilt.commits, 'commit')}, "
                f"{rebuilt.branches} branch{'' if rebuilt.branches == 1 else 'es'}, "
                f"{render.plural(rebuilt.pipelines, 'pipeline')} from "
                f"{render.plural(rebuilt.events, 'journal event')}{aside}"
            )
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
    help="Keep unreachable objects younger than this (objects of commits in progress are "
    "kept whatever the grace: their writers pin them).",
)
@click.option(
    "--force", is_flag=True, help="Remove more than half of the store's bytes if that is due."
)
@json_option
def gc(grace: float, force: bool, as_json: bool) -> None:
    """Remove unreachable objects older than --grace and abandoned open commits.

    An open commit is abandoned once its writer stopped renewing its lease (a killed process):
    a commit in progress is never removed, however long it takes. Refused on a store that fails
    fsck, while another gc runs, and (without --force) when it would remove more than half of
    the store's bytes. See docs/guarantees.md.

    \b
    Examples:
      jupyter pipes gc
      jupyter pipes gc --grace 0 --json
      jupyter pipes gc --force
    """
    report = client().gc(grace_seconds=grace, force=force)
    if as_json:
        render.echo_json(report)
        return
    click.echo(
        f"removed {render.plural(report.packs_removed, 'pack')} "
        f"({render.human_size(report.bytes_removed)}), "
        f"forgot {render.plural(report.chunks_forgotten, 'chunk index row')}, "
        f"removed {render.plural(report.open_commits_removed, 'abandoned open commit')}, "
        f"folded {render.plural(report.journal_events_folded, 'journal event')}"
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
