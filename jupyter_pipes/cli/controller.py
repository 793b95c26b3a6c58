"""``jupyter pipes controller`` (the controller as a service), ``list controller``, and the
lines every committing verb prints about the jobs its commit queued."""

from __future__ import annotations

import logging
import signal
import sys

import click

from ..errors import PipesError
from . import render
from .base import CONTEXT_SETTINGS, cli, client, json_option, list_

ENV_SCHEDULER = "JUPYTER_PIPES_DASK_SCHEDULER"


def print_queued(ref: str) -> None:
    """After a commit (``repo@<commit id>``): on stderr, the jobs it queued, what runs them
    and how to follow them (nothing if it queued none). stdout keeps only the command's own
    output (the commit id), for scripts."""
    cl = client()
    try:
        gc = cl.inspect_global_commit(ref)
    except PipesError:  # no global commit: the commit queued no job
        return
    jobs = [j for j in gc.jobs if not j.done]
    if not jobs:
        return
    names = ", ".join(f"{j.pipeline}@{j.id}" for j in jobs)
    click.echo(f"queued {len(jobs)} job(s): {names}", err=True)
    try:
        live = cl.list_controller()
    except PipesError:
        live = []
    if live:
        kinds = sorted({c.kind for c in live})
        click.echo(f"they run in the store's {' and '.join(kinds)} controller", err=True)
    elif cl.autostart:
        click.echo("they run in a background controller (started now)", err=True)
    else:
        click.echo(
            "auto-start is off and no controller is running: run them here with the wait "
            "command below, or start 'jupyter pipes controller'",
            err=True,
        )
    click.echo(f"follow: jupyter pipes wait commit {gc.id}", err=True)
    follow = " -f" if _logs_can_follow() else ""
    click.echo(f"        jupyter pipes logs {jobs[0].id}{follow}", err=True)


def _logs_can_follow() -> bool:
    """Whether ``logs`` takes ``-f`` (follow a running job)."""
    cmd = cli.get_command(None, "logs")  # imports cli.datums lazily
    return cmd is not None and any("-f" in getattr(p, "opts", ()) for p in cmd.params)


@list_.command("controller")
@json_option
def list_controller(as_json: bool) -> None:
    """List the live controllers of the store: a Jupyter server's, 'jupyter pipes controller'
    services and the background controller that commits start on demand.

    \b
    Example:
      jupyter pipes list controller
    """
    rows = client().list_controller()
    if as_json:
        render.echo_json(rows)
        return
    click.echo(
        render.table(
            ["ID", "KIND", "HOST", "PID", "STARTED", "JOBS RUN"],
            [
                [c.id[:12], c.kind, c.hostname, str(c.pid), render.ago(c.started), str(c.jobs_run)]
                for c in rows
            ],
        )
    )


@cli.command("controller", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--dask-scheduler",
    "scheduler",
    metavar="ADDRESS",
    envvar=ENV_SCHEDULER,
    show_envvar=True,
    help="Run datums on this Dask scheduler (tcp://host:8786). Default: a local cluster, "
    "started with the first job and stopped when idle.",
)
@click.option("--n-workers", type=click.IntRange(min=1), help="Workers of the local cluster.")
@click.option(
    "--health-interval",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Log a health line this often (0: never).",
)
@click.option(
    "--idle-close",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Stop the local Dask cluster after this long without a job (0: never).",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1),
    metavar="SECONDS",
    help="How long a claim on a job lasts without renewal (default 30): a controller that "
    "dies loses its jobs to the others after this.",
)
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Also keep the endpoints that pipelines declare (serve: in their spec) running, as "
    "a Jupyter server does (see docs/serving.md).",
)
@click.option("--quiet", is_flag=True, help="Log warnings and errors only.")
def controller(
    scheduler: str | None,
    n_workers: int | None,
    health_interval: float,
    idle_close: float,
    lease: float | None,
    serve: bool,
    quiet: bool,
) -> None:
    """Run the store's pipeline jobs in the foreground, as a service, until SIGTERM or Ctrl-C.

    Logs to stdout: each job's start and end, and a health line every --health-interval.
    On SIGTERM the jobs it is running go back to the queue at once (their datums are
    cancelled on the cluster) for the next controller; nothing is lost. Several controllers
    may serve one store (jobs are claimed under leases); while one is alive, commits start no
    background controller. The store, database and scheduler come from the usual options and
    environment variables.

    \b
    Examples:
      jupyter pipes controller
      jupyter pipes --store s3://bucket/pipes --db postgresql+psycopg://pipes@db/pipes \\
          controller --dask-scheduler tcp://dask-scheduler:8786
      JUPYTER_PIPES_STORE=/data/pipes jupyter pipes controller --health-interval 300

    With --serve (the default) it also keeps the endpoints that specs declare with serve:
    running, restarting one that dies, and stops them gracefully on SIGTERM.
    """
    from ..client import Client
    from ..service.loop import ControllerService

    settings = click.get_current_context().find_root().obj
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        force=True,
    )
    cl = Client(
        settings.store, db_url=settings.db, scheduler=scheduler, n_workers=n_workers,
        autostart=False,
    )  # fmt: skip
    with cl:
        service = ControllerService(
            cl, kind="service", health_s=health_interval, idle_close_s=idle_close, lease_s=lease
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _f: service.stop(signal.Signals(signum).name))
        supervisor = None
        if serve:
            from ..pipeline.serving.supervisor import Supervisor

            supervisor = Supervisor(cl.store).start()
        try:
            service.run()
        finally:
            if supervisor is not None:  # endpoints shut down gracefully
                supervisor.stop()
