"""``jupyter pipes VERB NOUN ...``: the command line, in pachctl's grammar.

The CLI is thin: it parses arguments, calls :class:`jupyter_pipes.Client`, and renders records
as aligned tables or JSON. Every :class:`~jupyter_pipes.errors.PipesError` becomes one line
``error: <message>`` on stderr and exit status 1; usage errors exit with status 2 (click's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .base import PROG

if TYPE_CHECKING:
    from .base import cli


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI (the ``jupyter-pipes`` console script; ``jupyter pipes`` via jupyter_core).

    Command modules are imported as their commands are used (see :data:`.base.COMMANDS`)."""
    from .base import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name=PROG)


def __getattr__(name: str) -> Any:
    """``jupyter_pipes.cli.cli``: the root group with every command registered (for embedders
    and tests that walk ``Group.commands``; :func:`main` loads commands lazily instead)."""
    if name == "cli":
        from .base import cli, load_all

        load_all()
        return cli
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["cli", "main"]
