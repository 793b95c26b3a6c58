"""``list|glob|inspect|diff|delete|copy file`` (``put`` and ``get`` live in :mod:`.transfer`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import render
from .base import (
    client,
    copy,
    delete,
    diff,
    glob,
    inspect,
    json_option,
    list_,
    message_option,
    split_file_ref,
)
from .jobs import wait_after_commit, wait_option
from .shell_commits import stage_into_open_commit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..store.records import FileInfo

DIFF_MARKS = {"added": "+", "removed": "-", "modified": "~"}


FILE_WIDTHS = (40, 4)
"""NAME and TYPE column widths: rows print as they are read, before the longest is known."""


def _echo_files(files: Iterator[FileInfo], as_json: bool) -> None:
    """Print a listing as it streams: one row (or one JSON record) at a time."""
    if as_json:
        render.echo_json_stream(files)
        return
    rows = ([f.path, f.type, render.human_size(f.size_bytes)] for f in files)
    render.stream_table(["NAME", "TYPE", "SIZE"], rows, FILE_WIDTHS)


@list_.command("file")
@click.argument("target", metavar="REPO@REF[:PATH]")
@json_option
def list_file(target: str, as_json: bool) -> None:
    """List a directory's entries (directories end in '/'), or show the file itself.

    \b
    Examples:
      jupyter pipes list file images@master
      jupyter pipes list file images@master^1:/raw
    """
    ref, path = split_file_ref(target)
    _echo_files(client().list_file(ref, path or "/"), as_json)


@glob.command("file")
@click.argument("target", metavar="REPO@REF:PATTERN")
@json_option
def glob_file(target: str, as_json: bool) -> None:
    """List the files and directories matching a Pachyderm glob pattern.

    Quote the pattern so the shell does not expand it.

    \b
    Examples:
      jupyter pipes glob file 'images@master:/raw/*.png'
      jupyter pipes glob file 'data@master:/**.csv' --json
    """
    ref, pattern = split_file_ref(target)
    if pattern is None:
        raise click.UsageError("give a pattern after ':', for example repo@master:/*")
    _echo_files(client().glob_file(ref, pattern), as_json)


@inspect.command("file")
@click.argument("target", metavar="REPO@REF:PATH")
@click.option(
    "--lineage",
    is_flag=True,
    help="Show what made the file: datum, job, notebook version and cell, and the "
    "exact input files, recursively upstream to the user commits of the data.",
)
@json_option
def inspect_file(target: str, lineage: bool, as_json: bool) -> None:
    """Show one file or directory: type, size, content hash and commit (--lineage: what made it).

    \b
    Examples:
      jupyter pipes inspect file images@master:/raw/a.png
      jupyter pipes inspect file predict@master:/batch-01.predictions.csv --lineage
    """
    ref, path = split_file_ref(target)
    if lineage:
        from .lineage import show_lineage

        show_lineage(ref, path, as_json)
        return
    f = client().inspect_file(ref, path or "/")
    if as_json:
        render.echo_json(f)
        return
    click.echo(
        render.key_values(
            [
                ("Path", f.path),
                ("Type", f.type),
                ("Size", f"{render.human_size(f.size_bytes)} ({f.size_bytes} bytes)"),
                ("Hash", f.hash),
                ("Commit", f.commit),
            ]
        )
    )


@diff.command("file")
@click.argument("new", metavar="NEW_REF[:PATH]")
@click.argument("old", metavar="[OLD_REF[:PATH]]", required=False)
@json_option
def diff_file(new: str, old: str | None, as_json: bool) -> None:
    """Show the files that differ between OLD_REF (default: NEW_REF's parent) and NEW_REF.

    One line per changed path: '+ PATH' added, '- PATH' removed, '~ PATH' modified.
    With PATH, only that file or directory is compared (the same PATH in both commits).

    \b
    Examples:
      jupyter pipes diff file images@master
      jupyter pipes diff file images@master:/raw images@master~3
    """
    new_ref, path = split_file_ref(new)
    old_ref = None
    if old is not None:
        old_ref, old_path = split_file_ref(old)
        if old_path is not None and path is not None and old_path != path:
            raise click.UsageError("diff compares the same PATH in both commits")
        path = path or old_path
    changes = client().diff_file(new_ref, path or "/", old=old_ref)
    if as_json:
        render.echo_json(changes)
        return
    for d in changes:
        click.echo(f"{DIFF_MARKS.get(d.change, '?')} {d.path}")


@delete.command("file")
@click.argument("target", metavar="REPO@BRANCH:PATH")
@message_option
@wait_option
def delete_file(target: str, message: str, wait: float | None) -> None:
    """Delete a file or a directory as a new commit; print the commit id.

    The path is required (REPO@BRANCH:/ empties the whole repo).

    \b
    Example:
      jupyter pipes delete file images@master:/raw/bad.png -m "drop a corrupt image"
    """
    branch, path = split_file_ref(target)
    if path is None:
        raise click.UsageError("give the path to delete: REPO@BRANCH:PATH")
    if stage_into_open_commit(branch, [(None, path)]):  # after 'start commit' (#12)
        return
    c = client().delete_file(branch, path, message=message)
    click.echo(c.id)
    wait_after_commit(f"{c.repo}@{c.id}", wait)


@copy.command("file")
@click.argument("src", metavar="SRC_REPO@REF:PATH")
@click.argument("dst", metavar="DST_REPO@BRANCH[:PATH]")
@message_option
@wait_option
def copy_file(src: str, dst: str, message: str, wait: float | None) -> None:
    """Copy a file or a whole directory to another path or repo, as a new commit (no bytes
    are copied); print the commit id. Without a destination PATH, the source PATH is used.

    \b
    Examples:
      jupyter pipes copy file images@master:/raw/a.png images@master:/keep/a.png
      jupyter pipes copy file images@v1:/raw archive@master:/2024/raw
    """
    if split_file_ref(src)[1] is None:
        raise click.UsageError("give the source path: SRC_REPO@REF:PATH")
    branch, dst_path = split_file_ref(dst)
    path = dst_path or split_file_ref(src)[1] or "/"
    c = client().copy_file(src, branch, path, message=message)
    click.echo(c.id)
    wait_after_commit(f"{c.repo}@{c.id}", wait)
