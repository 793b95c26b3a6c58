"""``%pipe lineage REPO@REF:PATH``: a file's lineage as a tree, in the notebook (#14).

A notebook verb (see :mod:`.verbs`) because it returns a value: the tree is printed, and with
``--json`` the lineage graph is returned as a dict (``lin = %pipe lineage ... --json``).
``%pipe diff lineage A B``, ``%pipe list metrics REPO@BRANCH`` and ``%pipe diff metrics A B`` run
through the CLI as usual.
"""

from __future__ import annotations

import click

from ..cli.lineage import lineage_lines
from .verbs import current, notebook


@notebook.command("lineage")
@click.argument("file_ref", metavar="REPO@REF:PATH")
@click.option("--json", "as_json", is_flag=True, help="Return the lineage graph as a dict.")
@click.option("--no-cells", is_flag=True, help="Do not read executed notebooks for the cell.")
def lineage(file_ref: str, as_json: bool, no_cells: bool) -> None:
    """Show what made a file: the datum and job, the notebook version and cell, the exact input
    files with their commits and hashes, recursively upstream to the user commits.

    \b
    Examples:
      %pipe lineage predict@master:/batch-01.predictions.csv
      lin = %pipe lineage model@master:/model.pkl --json
    """
    nb = current()
    lin = nb.client.lineage(file_ref, cells=not no_cells)
    if as_json:
        nb.result = lin.to_dict()
        return
    click.echo("\n".join(lineage_lines(lin)))
