"""Datums of jobs: ``list|inspect datum`` (and the ``list datum -f SPEC`` dry run),
``get notebook`` (a datum's executed notebook) and ``logs``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import render
from .base import CliError, cli, client, get, inspect, json_option, list_, restart
from .jobs import seconds, spec_file, spec_source

if TYPE_CHECKING:
    from ..pipeline.records import DatumInfo


def input_text(items: Any) -> str:
    """A datum's inputs as ``name:path, name:path``."""
    return ", ".join(f"{i.name}:{i.path}" for i in items)


@list_.command("datum")
@click.argument("job_id", metavar="[JOB | PIPELINE@JOB]", required=False)
@click.option(
    "-f",
    "--file",
    "spec",
    type=spec_file,
    metavar="SPEC",
    help="Dry run: the datums this spec's input gives on the current heads "
    "(a YAML/JSON file, or '-' for stdin).",
)
@json_option
def list_datum(job_id: str | None, spec: str | None, as_json: bool) -> None:
    """List a job's datums, or (-f SPEC) the datums a spec would give now, without running it.

    \b
    Examples:
      jupyter pipes list datum 3f2a9c1e
      jupyter pipes list datum edges@3f2a9c1e
      jupyter pipes list datum -f edges.yaml
    """
    if (job_id is None) == (spec is None):
        raise click.UsageError("give a JOB, or a spec with -f SPEC (not both)")
    if spec is not None:
        from ..pipeline.spec import parse_spec, spec_to_dict

        parsed = parse_spec(spec_source(spec)[0])
        datums = client().list_datum(input=spec_to_dict(parsed)["input"])
        if as_json:
            render.echo_json([[_item(i) for i in d] for d in datums])
            return
        for d in datums:
            click.echo(input_text(d))
        return
    rows = client().list_datum(job_id)
    if as_json:
        render.echo_json(rows)
        return
    click.echo(
        render.table(
            ["ID", "STATE", "INPUTS", "TRIES", "TIME"],
            [[d.id, d.state, input_text(d.inputs), d.tries, seconds(d.duration_s)] for d in rows],
        )
    )


def _item(i: Any) -> dict[str, Any]:
    return {
        "name": i.name,
        "repo": i.repo,
        "branch": i.branch,
        "path": i.path,
        "hash": i.hash,
        "size_bytes": i.size,
    }


@inspect.command("datum")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
@click.argument("datum_id", metavar="DATUM")
@json_option
def inspect_datum(job_id: str, datum_id: str, as_json: bool) -> None:
    """Show one datum of a job: inputs, outputs, tries, time and error.

    \b
    Example:
      jupyter pipes inspect datum 3f2a9c1e 8aba07ec
    """
    d: DatumInfo = client().inspect_datum(job_id, datum_id)
    if as_json:
        render.echo_json(d)
        return
    e = d.error or {}
    click.echo(
        render.key_values(
            [
                ("ID", d.id),
                ("Job", d.job),
                ("State", d.state),
                *[(f"Input {i.name}", f"{i.repo}@{i.commit or '-'}:{i.path}") for i in d.inputs],
                ("Outputs", ", ".join(d.outputs) or None),
                ("Tries", d.tries),
                ("Time", seconds(d.duration_s)),
                ("Reused from", d.reused_from),
                ("Error", f"{e.get('ename')}: {e.get('evalue')}" if e else None),
                (
                    "Notebook",
                    f"jupyter pipes get notebook {d.job} {d.id}" if d.has_notebook else None,
                ),
            ]
        )
    )


@get.command("notebook")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
@click.argument("datum_id", metavar="DATUM")
@click.option(
    "-o",
    "--output",
    metavar="OUT.ipynb",
    type=click.Path(dir_okay=False),
    help="Write to this file. Default: stdout.",
)
def get_notebook(job_id: str, datum_id: str, output: str | None) -> None:
    """Get a datum's executed notebook (kept for failed datums too), as .ipynb JSON.

    \b
    Example:
      jupyter pipes get notebook 3f2a9c1e 8aba07ec -o executed.ipynb
    """
    data = client().get_datum_notebook(job_id, datum_id)
    if output is not None:
        Path(output).write_bytes(data)
        return
    out = sys.stdout.buffer
    out.write(data)
    out.flush()


@cli.command("logs")
@click.argument("job_arg", metavar="[JOB | PIPELINE@JOB]", required=False)
@click.option("-j", "--job", "job_id", metavar="JOB", help="The job (also PIPELINE@JOB).")
@click.option(
    "-p",
    "--pipeline",
    metavar="NAME",
    help="The pipeline: its newest job, or with --job the job of this pipeline.",
)
@click.option("--datum", "datum_id", metavar="DATUM", help="Only this datum's log.")
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="Keep printing each datum's log as it finishes, until the job is done.",
)
def logs(
    job_arg: str | None,
    job_id: str | None,
    pipeline: str | None,
    datum_id: str | None,
    follow: bool,
) -> None:
    """Print the log of a job's datums (each headed by its id), or of one datum.

    \b
    Examples:
      jupyter pipes logs 3f2a9c1e
      jupyter pipes logs --pipeline edges --datum 8aba07ec
      jupyter pipes logs --job edges@3f2a9c1e -f
    """
    if job_arg is not None and job_id is not None:
        raise click.UsageError("give the job once: as JOB or with --job")
    cl = client()
    job = cl.logs_job(job_arg or job_id, pipeline)
    if not follow:
        text = cl.get_logs(job, datum_id)
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        for text in cl.follow_logs(job, datum_id):
            click.echo(text, nl=not text.endswith("\n"))
    except KeyboardInterrupt:
        return
    final = cl.inspect_job(job)
    click.echo(f"job {final.id} {final.pipeline} {final.state}", err=True)


@restart.command("datum")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
@click.argument("datum_id", metavar="DATUM")
def restart_datum(job_id: str, datum_id: str) -> None:
    """Restart a datum of a running job: its command or kernel is killed and it runs again
    from the start (not counted as a try). DATUM is the datum's full id: $PACH_DATUM_ID of
    its command (datum_id in a notebook).

    \b
    Example:
      jupyter pipes restart datum edges@3f2a9c1e 8aba07ec5d1f
    """
    if not datum_id.strip():
        raise CliError("give a datum id")
    client().restart_datum(job_id, datum_id)
