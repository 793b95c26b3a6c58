"""Run the ``jupyter pipes`` click app in this process, on a given Client, capturing its output.

The CLI stays the one parser of the grammar: ``%pipe list commit model`` runs exactly the code
of ``jupyter pipes list commit model``, with click in non-standalone mode (nothing calls
``sys.exit``), stdin/stdout/stderr swapped for buffers (stdin holds a ``%%pipe`` cell body, for
``-f -``), and :func:`jupyter_pipes.cli.render.recording` on, so tables and key/value blocks come
back with their cells for the HTML rendering.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click

from ..cli import cli
from ..cli.base import Settings
from ..cli.render import Block, recording
from ..client import Client

PROG = "%pipe"
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2


@dataclass
class Outcome:
    """What one command did: exit status, stdout (bytes: ``get file`` is binary), stderr, the
    tables and key/value blocks it printed, and its return value (magic-only verbs)."""

    status: int
    stdout: bytes = b""
    stderr: str = ""
    blocks: list[Block] = field(default_factory=list)
    value: Any = None

    @property
    def text(self) -> str:
        """stdout as text (undecodable bytes replaced)."""
        return self.stdout.decode("utf-8", errors="replace")


@contextmanager
def _swapped_streams(stdin: str) -> Iterator[tuple[io.BytesIO, io.StringIO]]:
    out_bytes, err = io.BytesIO(), io.StringIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", write_through=True)
    inp = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = inp, out, err
    try:
        yield out_bytes, err
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
        out.flush()
        out.detach()  # keep out_bytes open for the caller


def invoke(
    group: click.Group, args: list[str], obj: Any, *, stdin: str = "", capture: bool = True
) -> Outcome:
    """Run ``group`` with ``args`` in-process; never raises for a usage or request error.

    Errors come back as exit status 1 (a :class:`~jupyter_pipes.errors.PipesError` or a failed
    job: the CLI prints ``error: ...`` on stderr) or 2 (usage: one ``error: ...`` line here).
    """
    out_bytes, err = io.BytesIO(), io.StringIO()
    status, value = 0, None
    with (
        recording() as blocks,
        _swapped_streams(stdin) if capture else _no_swap(out_bytes, err) as (out_bytes, err),
    ):
        try:
            rv = group.main(args=args, prog_name=PROG, standalone_mode=False, obj=obj)
            if isinstance(rv, int) and not isinstance(rv, bool):
                status = rv
            else:
                value = rv
        except _NO_ARGS_IS_HELP as e:  # a bare verb (`%pipe list`): its help, like the CLI
            click.echo(e.ctx.get_help() if e.ctx else str(e))
        except click.UsageError as e:
            hint = f" (see: {e.ctx.command_path} --help)" if e.ctx else ""
            click.echo(f"error: {e.format_message()}{hint}", err=True)
            status = 2
        except click.ClickException as e:
            click.echo(f"error: {e.format_message()}", err=True)
            status = e.exit_code
        except click.Abort:
            click.echo("error: aborted", err=True)
            status = 1
    return Outcome(status, out_bytes.getvalue(), err.getvalue(), list(blocks), value)


@contextmanager
def _no_swap(out: io.BytesIO, err: io.StringIO) -> Iterator[tuple[io.BytesIO, io.StringIO]]:
    yield out, err


def run_cli(
    args: list[str],
    client: Client,
    *,
    stdin: str = "",
    progress: Callable[[bool | None], Any] | None = None,
) -> Outcome:
    """Run ``jupyter pipes ARGS`` on ``client`` (never closed here), with ``progress`` as the
    factory of wait progress reporters (see :class:`~jupyter_pipes.cli.base.Settings`)."""
    settings = Settings(store=client.store_url, db=None, _client=client, progress=progress)
    return invoke(cli, args, settings, stdin=stdin)
