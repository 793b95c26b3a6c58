"""``put file`` and ``get file``, with an optional tqdm progress bar on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

from .base import CliError, F, client, commit_ref, get, message_option, put, split_file_ref
from .jobs import wait_after_commit, wait_option
from .shell_commits import stage_into_open_commit

STDIN = "-"


def progress_option(f: F) -> F:
    """``--progress/--no-progress`` (default: a bar only when stderr is a terminal)."""
    return click.option(
        "--progress/--no-progress",
        "progress",
        default=None,
        help="Show a progress bar on stderr. Default: only when stderr is a terminal.",
    )(f)


def _bar_shape() -> dict[str, int]:
    """The terminal's size for tqdm (some ptys report 0x0, which hides the bar: use 80x24)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return {}  # not a terminal: tqdm picks its own width
    return {"ncols": size.columns or 80, "nrows": size.lines or 24}


@contextmanager
def progress_bar(
    enabled: bool | None, total: int | None, desc: str
) -> Iterator[Callable[[int], None] | None]:
    """A byte-counting tqdm bar on stderr, as a ``progress=`` callback (``None`` when off)."""
    if not (sys.stderr.isatty() if enabled is None else enabled):
        yield None
        return
    from tqdm import tqdm  # imported only when a bar is shown: keeps start-up fast

    with tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        **_bar_shape(),
    ) as bar:

        def advance(nbytes: int) -> None:
            bar.update(nbytes)

        yield advance


def _local_size(local: str) -> int:
    """Bytes under a local file or folder (0 if unreadable: the upload reports the error)."""
    try:
        if not os.path.isdir(local):
            return os.path.getsize(local)
        return sum(
            os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(local) for n in names
        )
    except OSError:
        return 0


def _destination(local: str, path: str | None, recursive: bool, several: bool) -> str:
    """Where ``-f LOCAL`` lands in the repo (pachctl's rules; see ``put file --help``)."""
    if local == STDIN:
        if several:
            raise click.UsageError("'-f -' (stdin) cannot be combined with other -f sources")
        if path is None or path.endswith("/"):
            raise click.UsageError("reading stdin needs a file path: REPO@BRANCH:/dir/name")
        return path
    if os.path.isdir(local):
        if not recursive:
            raise click.UsageError(f"{local!r} is a directory: use -r to upload it recursively")
        return path or "/"
    if path is None or path.endswith("/") or several:
        return (path or "/").rstrip("/") + "/" + os.path.basename(local)
    return path


@put.command("file")
@click.argument("target", metavar="REPO@BRANCH[:PATH]")
@click.option(
    "-f",
    "--file",
    "sources",
    metavar="LOCAL",
    multiple=True,
    required=True,
    help="A local file, a folder (with -r), or '-' for stdin. Repeat for several.",
)
@click.option("-r", "--recursive", is_flag=True, help="Upload folders recursively.")
@click.option("-a", "--append", is_flag=True, help="Append to the file instead of replacing it.")
@message_option
@progress_option
@wait_option
def put_file(
    target: str,
    sources: tuple[str, ...],
    recursive: bool,
    append: bool,
    message: str,
    progress: bool | None,
    wait: float | None,
) -> None:
    """Upload local files into ONE new commit on REPO@BRANCH; print the commit id.

    \b
    Where files land:
      - a file, PATH omitted or ending in '/': PATH + the local file name
      - a file, PATH given: exactly PATH (with several -f, PATH is a folder)
      - a folder (needs -r): its contents go under PATH (default '/')
      - '-' (stdin): exactly PATH, which is required

    \b
    Examples:
      jupyter pipes put file images@master -f a.png            # -> /a.png
      jupyter pipes put file images@master:/raw/ -f a.png -f b.png
      jupyter pipes put file images@master:/raw -r -f ./photos
      cat log.txt | jupyter pipes put file logs@master:/today.txt -f - --append
    """
    branch, path = split_file_ref(target)
    several = len(sources) > 1
    plan = [(local, _destination(local, path, recursive, several)) for local in sources]
    total = None if STDIN in sources else sum(_local_size(local) for local, _ in plan)
    cl = client()
    if stage_into_open_commit(branch, plan, append):  # after 'start commit' (#12)
        return
    with cl.start_commit(branch, message=message) as oc, progress_bar(progress, total, "put") as cb:
        for local, dest in plan:
            source = sys.stdin.buffer if local == STDIN else local
            oc.put_file(dest, source, append=append, progress=cb)
    click.echo(oc.id)
    wait_after_commit(commit_ref(branch, oc.id), wait, progress)


@get.command("file")
@click.argument("target", metavar="REPO@REF:PATH")
@click.option(
    "-o",
    "--output",
    metavar="LOCAL",
    help="Write to this local path (a directory is written recursively). "
    "Default: the file's bytes to stdout.",
)
@progress_option
def get_file(target: str, output: str | None, progress: bool | None) -> None:
    """Download a file (to stdout, or to -o LOCAL) or a directory (to -o LOCAL).

    \b
    Examples:
      jupyter pipes get file images@master:/raw/a.png > a.png
      jupyter pipes get file images@master^1:/raw -o old_raw
    """
    ref, path = split_file_ref(target)
    cl = client()
    info = cl.inspect_file(ref, path or "/")
    snapshot = commit_ref(ref, info.commit)  # read exactly the commit just inspected
    if output is None and info.type == "dir":
        raise CliError(f"{info.path} is a directory: use -o LOCAL to download it")
    with progress_bar(progress, info.size_bytes, "get") as cb:
        if output is not None:
            cl.get_file(snapshot, info.path, dest=output, progress=cb)
            return
        _, chunks = cl.open_file(snapshot, info.path)
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
            if cb:
                cb(len(chunk))
        out.flush()
