"""``jupyter pipes VERB NOUN ...``: the command line, in pachctl's grammar.

The CLI is thin: it parses arguments, calls :class:`jupyter_pipes.Client`, and renders records
as aligned tables or JSON. Every :class:`~jupyter_pipes.errors.PipesError` becomes one line
``error: <message>`` on stderr and exit status 1; usage errors exit with status 2 (click's).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import (  # noqa: F401  (register commands)
    admin,
    branches,
    commits,
    controller,
    datums,
    files,
    jobs,
    lineage,
    pipelines,
    repos,
    serve,
    shell_commits,
    transfer,
)
from .base import PROG, cli


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI (the ``jupyter-pipes`` console script; ``jupyter pipes`` via jupyter_core)."""
    cli.main(args=list(argv) if argv is not None else None, prog_name=PROG)


__all__ = ["cli", "main"]
