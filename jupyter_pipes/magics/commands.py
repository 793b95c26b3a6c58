"""The notebook-only verbs of ``%pipe``: ``datum``, ``load``, ``dag``, ``history``, ``serve``
and ``cluster``.

A small click group of its own, so these verbs parse, document (``%pipe datum --help``) and
report errors (``error: ...``) exactly like the CLI's. Each command calls
:mod:`.develop` or builds a widget of :mod:`.widgets`; values to hand back to the notebook
(``df = %pipe load ...``) go in ``Notebook.result``.
"""

from __future__ import annotations

from typing import Any

import click

from ..cli.base import CliError
from . import develop
from .verbs import Notebook, notebook
from .verbs import current as _nb

__all__ = ["VERBS", "Notebook", "notebook"]


def _widgets() -> Any:
    try:
        from . import widgets
    except ImportError as e:
        raise CliError(f"widgets need ipywidgets: pip install ipywidgets ({e})") from None
    return widgets


@notebook.command("datum")
@click.argument("pipeline")
@click.argument("n", type=click.IntRange(min=0), default=0, required=False)
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False),
    metavar="FOLDER",
    help="Materialise here (emptied first). Default: a folder under the temp dir.",
)
def datum(pipeline: str, n: int, folder: str | None) -> None:
    """Materialise datum N (default 0) of PIPELINE's current inputs and set the stage's
    variables here: one per input name (its folder), out (an empty folder), datum_id,
    job_id ("dev") and the spec's transform.parameters.

    The files are laid out as a run lays them out (<scratch>/pfs/<name>/<path>), so the
    stage notebook can be run cell by cell against real inputs before it is committed. In a
    kernel that runs a job (job_id is set and not "dev") it does nothing, so the line may stay
    in the stage notebook.

    \b
    Examples:
      %pipe datum predict
      %pipe datum edges 3 --dir scratch
    """
    nb = _nb()
    running = nb.user_ns.get("job_id")
    if running not in (None, develop.DEV_JOB_ID):  # a pipeline run injected its parameters
        click.echo(
            f"%pipe datum: skipped, this kernel runs job {running} (its inputs and "
            "parameters are set by the run)"
        )
        return
    dev = develop.materialise(nb.client, pipeline, n, folder)
    nb.user_ns.update(dev.variables)
    click.echo(dev.describe())


@notebook.command("load")
@click.argument("file_ref", metavar="REPO@REF:PATH")
@click.option(
    "--path", "as_path", is_flag=True, help="Return the local path even for a CSV or Parquet file."
)
def load(file_ref: str, as_path: bool) -> None:
    """Download a file (or folder) of a commit into a local cache and return its path, or for
    .csv and .parquet a pandas DataFrame.

    \b
    Examples:
      df = %pipe load predict@master:/batch-01.predictions.csv
      path = %pipe load model@master:/model.pkl
    """
    nb = _nb()
    nb.result = develop.load(nb.client, file_ref, as_path=as_path)


@notebook.command("dag")
@click.option(
    "--watch",
    type=click.FloatRange(min=0.5),
    metavar="SECONDS",
    help="Also redraw every SECONDS from a background thread.",
)
def dag(watch: float | None) -> None:
    """Show the DAG of repos and pipelines, each pipeline coloured by its newest job's state.

    It redraws after every %pipe line and while %pipe waits for jobs.

    \b
    Example:
      %pipe dag
    """
    from IPython.display import display

    display(_widgets().DagWidget(_nb().client, interval=watch))


@notebook.command("history")
@click.argument("branch", metavar="REPO[@BRANCH]")
@click.option(
    "-n",
    "--number",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most N commits.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="After a revert, run the jobs it triggers here, with progress bars.",
)
def history(branch: str, number: int, wait: bool) -> None:
    """Show a branch's commits, newest first, each with a button that reverts the branch to it
    (a new commit with origin 'revert'; downstream pipelines re-run on it).

    \b
    Examples:
      %pipe history model@master
      %pipe history model --wait
    """
    from IPython.display import display

    display(_widgets().HistoryWidget(_nb().client, branch, limit=number, wait=wait))


_ENDPOINTS: dict[str, Any] = {}
"""Endpoints this kernel serves (``%pipe serve``), by service name."""


@notebook.command("serve")
@click.argument("ref", metavar="REPO@BRANCH", required=False)
@click.option(
    "-n",
    "--notebook",
    "definition",
    metavar="FILE",
    help="The serving notebook (.ipynb or .py) defining load(model_dir) and "
    "predict(request). Default: the serve: notebook of the pipeline REPO.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: any free one)."
)
@click.option("--name", default=None, help="The service's name (default: the repo's).")
@click.option("--token", default=None, help="Require 'Authorization: Bearer TOKEN'.")
@click.option("--stop", is_flag=True, help="Stop this kernel's endpoints (of REF, or all).")
def serve(
    ref: str | None,
    definition: str | None,
    port: int | None,
    name: str | None,
    token: str | None,
    stop: bool,
) -> None:
    """Serve a model from a branch, from this kernel in the background, following its head
    (a retrain or revert swaps the model atomically). Returns the endpoint (.url, .commit,
    .stop()); 'jupyter pipes list service' and the sidebar show it.

    \b
    Examples:
      ep = %pipe serve model@master --notebook serve.ipynb
      %pipe serve model                  # the serve: section of pipeline model
      %pipe serve --stop
    """
    if stop:
        names = [n for n, e in _ENDPOINTS.items() if ref is None or e.ref.startswith(ref)]
        for n in names:
            _ENDPOINTS.pop(n).stop()
            click.echo(f"stopped service {n}")
        return
    if ref is None:
        raise CliError("give the branch to serve (REPO@BRANCH), or --stop")
    nb = _nb()
    key = name or ref.partition("@")[0]
    if key in _ENDPOINTS:  # serving it again: replace this kernel's earlier endpoint
        _ENDPOINTS.pop(key).stop()
    ep = nb.client.serve(ref, definition, name=name, port=port, token=token)
    _ENDPOINTS[ep.name] = ep
    state = f"commit {ep.commit[:8]}" if ep.commit else ep.unready_reason()
    click.echo(f"serving {ep.ref} as service {ep.name} at {ep.url}/predict ({state})")
    nb.result = ep


@notebook.command("cluster")
@click.option("--json", "as_json", is_flag=True, help="Return the data (a dict) instead.")
@click.option(
    "--here",
    is_flag=True,
    help="This kernel's own cluster (where %pipe wait runs jobs), not the server's.",
)
def cluster(as_json: bool, here: bool) -> None:
    """Show the Dask cluster that runs the jobs (the Jupyter server's controller's): its
    workers with their threads, memory, custom resources (GPU=1) and warm kernels, the
    datums in flight per job, and the dashboard's address. When no cluster is running, says
    so and when one starts. Looking never starts a cluster.

    \b
    Examples:
      %pipe cluster
      info = %pipe cluster --json
    """
    from IPython.display import display

    from . import cluster as view

    nb = _nb()
    body, whose = view.look(nb.client, here=here)
    if as_json:
        nb.result = body
    else:
        display(view.render(body, whose))


from . import lineage as _lineage  # noqa: E402, F401  (registers %pipe lineage)

VERBS = tuple(notebook.commands)
