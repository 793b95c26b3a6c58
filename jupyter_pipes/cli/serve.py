"""``serve``, ``list service`` and ``inspect service``: online serving from a branch.

``jupyter pipes serve model@master --notebook serve.ipynb`` serves in the foreground until
Ctrl-C or SIGTERM (then shuts down gracefully); each swap to a new head is logged on stderr.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from . import render
from .base import CliError, cli, client, inspect, json_option, list_

if TYPE_CHECKING:
    from ..pipeline.serving.records import ServedAt, ServiceInfo, ServingEvent, ServingWindow


def _short(cid: str | None) -> str:
    return cid[:8] if cid else render.NONE


def _local(when: datetime | None) -> str:
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S") if when else render.NONE


def _ms(value: float | None) -> str:
    return render.NONE if value is None else f"{value:.2f}"


def _duration(text: str | None) -> float | None:
    if text is None:
        return None
    from ..pipeline.spec import parse_duration  # here: the CLI starts without the spec models

    try:
        return parse_duration(text)
    except ValueError as e:
        raise CliError(str(e)) from None


@cli.command("serve")
@click.argument("ref", metavar="REPO@BRANCH")
@click.option(
    "-n",
    "--notebook",
    metavar="FILE",
    help="The serving definition: a .ipynb (or .py) defining load(model_dir) and "
    "predict(request). Default: the serve: notebook of the pipeline REPO.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (default: the spec's, else any free port).",
)
@click.option(
    "--host",
    default=None,
    metavar="ADDRESS",
    help="Address to bind (default 127.0.0.1; 0.0.0.0 for every interface).",
)
@click.option("--name", default=None, help="The service's name (default: the repo's).")
@click.option(
    "--token",
    envvar="JUPYTER_PIPES_SERVE_TOKEN",
    show_envvar=True,
    default=None,
    help="Require 'Authorization: Bearer TOKEN' on /predict.",
)
@click.option(
    "--threads",
    type=click.IntRange(0, 64),
    default=None,
    help="Threads running predict (default 4; 0: on the event loop).",
)
@click.option(
    "--log-window",
    metavar="DURATION",
    default=None,
    help="Length of one serving-log window (default 10s).",
)
def serve(
    ref: str,
    notebook: str | None,
    port: int | None,
    host: str | None,
    name: str | None,
    token: str | None,
    threads: int | None,
    log_window: str | None,
) -> None:
    """Serve a model from a branch over HTTP, following its head: when the branch moves
    (retrain, revert, branch move) the new head is loaded and swapped in atomically; requests
    in flight finish on the old model. A head that fails to load leaves the old one serving.

    POST /predict takes JSON (or CSV with Content-Type: text/csv) and answers
    {"commit": ..., "result": ...} with the header X-Pipes-Commit; GET /healthz and
    /readyz are for load balancers. Every request is counted in the serving log (see
    'inspect service'). Ctrl-C or SIGTERM stops gracefully.

    \b
    Examples:
      jupyter pipes serve model@master --notebook serve.ipynb --port 8700
      jupyter pipes serve model            # the serve: section of pipeline model
      curl -d '{"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1,
        "petal_width": 1.8}' http://127.0.0.1:8700/predict
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    log = logging.getLogger("jupyter_pipes.serving")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        ep = client().serve(
            ref,
            notebook,
            name=name,
            host=host,
            port=port,
            token=token,
            threads=threads,
            log_window=_duration(log_window),
        )
        click.echo(
            f"serving {ep.ref} as service {ep.name} at {ep.url} "
            f"(commit {_short(ep.commit)}{'' if ep.ready else ': ' + ep.unready_reason()})"
        )
        click.echo(f"  POST {ep.url}/predict   GET {ep.url}/readyz   Ctrl-C to stop")
        ep.serve_forever()
    finally:
        log.removeHandler(handler)


def _replicas(s: ServiceInfo) -> str:
    """``running/known``."""
    return f"{sum(r.state not in ('stopped', 'lost') for r in s.replicas)}/{len(s.replicas)}"


def _commits(s: ServiceInfo) -> str:
    return ", ".join(_short(c) for c in s.commits) or render.NONE


@list_.command("service")
@click.option(
    "-a", "--all", "show_all", is_flag=True, help="Also services with no running replica."
)
@json_option
def list_service(show_all: bool, as_json: bool) -> None:
    """List services (HTTP endpoints on a branch): the commit answering, the branch head,
    replicas, request rate and totals.

    \b
    Examples:
      jupyter pipes list service
      jupyter pipes list service --all --json
    """
    services = client().list_service(all=show_all)
    if as_json:
        render.echo_json(services)
        return
    click.echo(
        render.table(
            [
                "NAME",
                "REF",
                "STATE",
                "COMMIT",
                "HEAD",
                "REPLICAS",
                "REQ/S",
                "REQUESTS",
                "ERRORS",
                "URL",
            ],
            [
                [
                    s.name,
                    s.ref,
                    s.state,
                    _commits(s),
                    _short(s.head),
                    _replicas(s),
                    f"{s.rate:.1f}",
                    s.requests,
                    s.errors,
                    ", ".join(s.urls) or None,
                ]
                for s in services
            ],
        )
    )


def _windows_table(windows: list[ServingWindow]) -> str:
    return render.table(
        [
            "WINDOW START",
            "END",
            "COMMIT",
            "REQUESTS",
            "ERRORS",
            "P50 MS",
            "P99 MS",
            "MAX MS",
            "REPLICAS",
        ],
        [
            [
                _local(w.start),
                _local(w.end)[11:],
                _short(w.commit),
                w.requests,
                w.errors,
                _ms(w.p50_ms),
                _ms(w.p99_ms),
                _ms(w.max_ms),
                w.replicas,
            ]
            for w in windows
        ],
    )


def _events_table(events: list[ServingEvent]) -> str:
    return render.table(
        ["TIME", "REPLICA", "EVENT", "COMMIT", "PREVIOUS", "SECONDS", "DETAIL"],
        [
            [
                _local(e.at),
                e.replica,
                e.kind,
                _short(e.commit),
                _short(e.previous),
                render.NONE if e.seconds is None else f"{e.seconds:.3f}",
                render.first_line(e.detail)[:80],
            ]
            for e in events
        ],
    )


def _served_at(at: ServedAt) -> None:
    click.echo(
        render.key_values(
            [
                ("Service", at.service),
                ("At", _local(at.at)),
                ("Answered by", ", ".join(at.commits) or "no replica was serving"),
            ]
        )
    )
    if at.live:
        click.echo(
            render.table(
                ["REPLICA", "LOADED COMMIT", "SINCE"],
                [[r.replica, r.commit, _local(r.since)] for r in at.live],
            )
        )
    if at.windows:
        click.echo(_windows_table(list(at.windows)))


@inspect.command("service")
@click.argument("name")
@click.option(
    "--at",
    "at",
    metavar="TIME",
    help="Which model answered at TIME (ISO 8601, e.g. 2024-05-01T10:00; 10:00 is "
    "today, local time).",
)
@click.option(
    "--log", "show_log", is_flag=True, help="Print the serving log (per window and commit) instead."
)
@click.option("--since", metavar="TIME", help="With --log: windows from TIME on.")
@click.option("--until", metavar="TIME", help="With --log: windows before TIME.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=20,
    show_default=True,
    help="Windows (--log) or events shown: the newest ones.",
)
@json_option
def inspect_service(
    name: str,
    at: str | None,
    show_log: bool,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show one service: its replicas, the commit each one answers with, the branch head, the
    newest windows of its serving log and its newest events (loads, swaps, failed loads).

    \b
    Examples:
      jupyter pipes inspect service model
      jupyter pipes inspect service model --at 10:00          # which model answered then
      jupyter pipes inspect service model --at 2024-05-01T10:00:00+02:00 --json
      jupyter pipes inspect service model --log --since 09:00 --until 11:00
    """
    c = client()
    if at is not None:
        answer = c.which_model(name, at)
        render.echo_json(answer) if as_json else _served_at(answer)
        return
    if show_log:
        windows = c.serving_log(name, since=since, until=until, limit=limit)
        render.echo_json(windows) if as_json else click.echo(_windows_table(windows))
        return
    s = c.inspect_service(name)
    if as_json:
        render.echo_json(s)
        return
    click.echo(
        render.key_values(
            [
                ("Name", s.name),
                ("Ref", s.ref),
                ("Pipeline", s.pipeline),
                ("State", s.state),
                ("Answering", ", ".join(s.commits) or None),
                ("Head", s.head),
                ("Requests", f"{s.requests} ({s.errors} errors), {s.rate:.1f}/s now"),
                ("URLs", ", ".join(s.urls) or None),
                ("Last error", s.last_error),
            ]
        )
    )
    click.echo("Replicas:")
    click.echo(
        render.table(
            ["REPLICA", "STATE", "COMMIT", "URL", "STARTED", "HEARTBEAT", "REQUESTS", "ERRORS"],
            [
                [
                    r.replica,
                    r.state,
                    _short(r.commit),
                    r.url,
                    render.ago(r.started),
                    render.ago(r.heartbeat),
                    r.requests,
                    r.errors,
                ]
                for r in s.replicas
            ],
        )
    )
    windows = c.serving_log(name, limit=min(limit, 10))
    if windows:
        click.echo("Serving log (newest windows):")
        click.echo(_windows_table(windows))
    events = c.service_events(name, limit=min(limit, 10))
    if events:
        click.echo("Events:")
        click.echo(_events_table(events))
