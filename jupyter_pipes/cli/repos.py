"""``create|list|inspect|delete repo``."""

from __future__ import annotations

import click

from . import render
from .base import client, create, delete, inspect, json_option, list_, reader


@create.command("repo")
@click.argument("name")
@click.option("-d", "--description", default="", help="A description of the repo.")
def create_repo(name: str, description: str) -> None:
    """Create a repo NAME (with an empty master branch).

    \b
    Example:
      jupyter pipes create repo images -d "raw camera images"
    """
    client().create_repo(name, description)


@list_.command("repo")
@json_option
def list_repo(as_json: bool) -> None:
    """List every repo.

    \b
    Example:
      jupyter pipes list repo
    """
    repos = reader().list_repo()
    if as_json:
        render.echo_json(repos)
        return
    click.echo(
        render.table(
            ["NAME", "CREATED", "SIZE (MASTER)", "DESCRIPTION"],
            [
                [r.name, render.ago(r.created), render.human_size(r.size_bytes), r.description]
                for r in repos
            ],
        )
    )


@inspect.command("repo")
@click.argument("name")
@json_option
def inspect_repo(name: str, as_json: bool) -> None:
    """Show one repo: description, branches, size of its master head, last commit.

    \b
    Example:
      jupyter pipes inspect repo images --json
    """
    r = reader().inspect_repo(name)
    if as_json:
        render.echo_json(r)
        return
    click.echo(
        render.key_values(
            [
                ("Name", r.name),
                ("Description", r.description),
                ("Created", render.ago(r.created)),
                ("Branches", ", ".join(r.branches) or None),
                ("Size of HEAD on master", render.human_size(r.size_bytes)),
                ("Last commit", r.last_commit),
            ]
        )
    )


@delete.command("repo")
@click.argument("name")
@click.option(
    "--force",
    is_flag=True,
    help="Delete even if other repos hold results computed from this one.",
)
def delete_repo(name: str, force: bool) -> None:
    """Delete a repo, its branches and its commits (space is reclaimed by gc).

    \b
    Example:
      jupyter pipes delete repo images
    """
    client().delete_repo(name, force=force)
