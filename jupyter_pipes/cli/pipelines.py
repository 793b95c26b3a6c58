"""``create|update|list|inspect|delete|run pipeline`` and ``demo``.

Creating, updating or running a pipeline queues a job; by default the command then runs it
here (see :mod:`.jobs`) and prints a summary line per job, exit status 1 if one failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from . import render
from .base import CliError, cli, client, create, delete, inspect, json_option, list_, run, update
from .jobs import (
    no_wait_option,
    print_queued_job,
    progress_option,
    quiet_dask,
    spec_file,
    spec_source,
    timeout_option,
    wait_commit_jobs,
)

if TYPE_CHECKING:
    from ..pipeline.records import PipelineInfo


def spec_option(f: Any) -> Any:
    """``-f/--file SPEC`` (required): a YAML/JSON spec file, or ``-`` for stdin."""
    return click.option(
        "-f",
        "--file",
        "spec",
        type=spec_file,
        required=True,
        metavar="SPEC",
        help="The pipeline spec: a YAML or JSON file, or '-' for stdin (then a relative "
        "notebook path is read from the working directory; otherwise from the spec's folder).",
    )(f)


def _queued(
    info: PipelineInfo, no_wait: bool, progress: bool | None, timeout: float | None
) -> None:
    """Wait for the jobs rooted at the new spec commit (the first job and what it triggers)."""
    if no_wait:
        print_queued_job(info.last_job)
        return
    wait_commit_jobs(f"{info.name}@{info.spec_commit}", progress, timeout)


def _created(
    infos: PipelineInfo | list[PipelineInfo],
    no_wait: bool,
    progress: bool | None,
    timeout: float | None,
) -> None:
    """Name the ignored fields of each spec (once, on stderr), then wait for each in order."""
    infos = infos if isinstance(infos, list) else [infos]
    for info in infos:
        if info.ignored:
            click.echo(f"{info.name}: ignored {', '.join(info.ignored)} (Kubernetes-only or not "
                       "applicable here; see docs/pipeline-spec.md)", err=True)  # fmt: skip
    for info in infos:
        _queued(info, no_wait, progress, timeout)


@create.command("pipeline")
@spec_option
@no_wait_option
@timeout_option
@progress_option
def create_pipeline(spec: str, no_wait: bool, timeout: float | None, progress: bool | None) -> None:
    """Create a pipeline, then run its first job here (on the inputs' current heads) and
    whatever that triggers downstream, printing a summary line per job.

    The spec and its notebook are snapshotted into the store. Exit status 1 if a job fails
    (its error goes to stderr). With --no-wait the job is only queued.

    \b
    Examples:
      jupyter pipes create pipeline -f edges.yaml
      cat edges.json | jupyter pipes create pipeline -f - --no-wait
    """
    source, base_dir = spec_source(spec)
    _created(client().create_pipeline(source, base_dir=base_dir), no_wait, progress, timeout)


@update.command("pipeline")
@spec_option
@click.option(
    "--reprocess",
    is_flag=True,
    help="Re-run every datum, even those whose inputs and code are unchanged.",
)
@no_wait_option
@timeout_option
@progress_option
def update_pipeline(
    spec: str, reprocess: bool, no_wait: bool, timeout: float | None, progress: bool | None
) -> None:
    """Update a pipeline to a new spec (and notebook) version, then run the job it queues.

    Datums whose inputs, code and parameters did not change are skipped (their outputs are
    reused) unless --reprocess. A cosmetic notebook edit (outputs, metadata) re-runs nothing.

    \b
    Examples:
      jupyter pipes update pipeline -f edges.yaml
      jupyter pipes update pipeline -f edges.yaml --reprocess --no-wait
    """
    source, base_dir = spec_source(spec)
    infos = client().update_pipeline(source, reprocess=reprocess, base_dir=base_dir)
    _created(infos, no_wait, progress, timeout)


def input_text(node: Any) -> str:
    """A spec's ``input`` in one line: ``images:/*``, ``cross(images:/*, models@prod:/)``."""
    if not isinstance(node, dict):
        return render.NONE
    if "pfs" in node:
        p = node["pfs"]
        branch = p.get("branch") or "master"
        return f"{p.get('repo')}{'' if branch == 'master' else '@' + branch}:{p.get('glob')}"
    for kind in ("cross", "union", "join", "group"):
        if kind in node:
            return f"{kind}({', '.join(input_text(c) for c in node[kind] or [])})"
    return render.NONE


@list_.command("pipeline")
@click.argument("name", required=False)
@click.option(
    "--history",
    type=click.IntRange(min=-1),
    default=None,
    metavar="N",
    help="Also the older versions: up to N versions per pipeline (-1: all).",
)
@json_option
def list_pipeline(name: str | None, history: int | None, as_json: bool) -> None:
    """List pipelines with their version, input and newest job; with --history, their past
    versions too (newest first), each as its spec commit holds it.

    \b
    Examples:
      jupyter pipes list pipeline
      jupyter pipes list pipeline --json
      jupyter pipes list pipeline edges --history -1
    """
    pipelines = client().list_pipeline(name, history=history)
    if as_json:
        render.echo_json(pipelines)
        return
    click.echo(
        render.table(
            ["NAME", "VERSION", "INPUT", "LAST JOB", "STATE", "DESCRIPTION"],
            [
                [
                    p.name,
                    p.version,
                    input_text(p.spec.get("input")),
                    p.last_job,
                    p.last_job_state,
                    render.first_line(p.description),
                ]
                for p in pipelines
            ],
        )
    )


@inspect.command("pipeline")
@click.argument("name")
@json_option
def inspect_pipeline(name: str, as_json: bool) -> None:
    """Show one pipeline: version, input, spec commit, newest job, and its spec as YAML.

    \b
    Example:
      jupyter pipes inspect pipeline edges
    """
    p = client().inspect_pipeline(name)
    if as_json:
        render.echo_json(p)
        return
    click.echo(
        render.key_values(
            [
                ("Name", p.name),
                ("Version", p.version),
                ("Description", p.description or None),
                ("Input", input_text(p.spec.get("input"))),
                ("Output branch", f"{p.name}@{p.output_branch}"),
                ("Spec commit", f"{p.name}@{p.spec_commit}"),
                ("Created", render.ago(p.created)),
                ("Updated", render.ago(p.updated)),
                ("Last job", p.last_job),
                ("Last job state", p.last_job_state),
            ]
        )
    )
    click.echo("Spec:")
    import yaml  # here: the CLI starts without it

    text = yaml.safe_dump(p.spec, sort_keys=False, default_flow_style=False, allow_unicode=True)
    click.echo("\n".join("  " + line for line in text.rstrip("\n").splitlines()))


@delete.command("pipeline")
@click.argument("name")
@click.option("--keep-repo", is_flag=True, help="Keep the output repo (and its commits).")
def delete_pipeline(name: str, keep_repo: bool) -> None:
    """Delete a pipeline and its jobs, and (unless --keep-repo) its output repo.

    Refused while another pipeline reads its output: delete that one first.

    \b
    Examples:
      jupyter pipes delete pipeline edges
      jupyter pipes delete pipeline edges --keep-repo
    """
    client().delete_pipeline(name, keep_repo=keep_repo)


@run.command("pipeline")
@click.argument("name")
@click.option("--reprocess", is_flag=True, help="Re-run every datum, even unchanged ones.")
@no_wait_option
@timeout_option
@progress_option
def run_pipeline(
    name: str, reprocess: bool, no_wait: bool, timeout: float | None, progress: bool | None
) -> None:
    """Queue a job of NAME on its inputs' current heads, then run it here (and the jobs it
    feeds downstream), printing a summary line per job; exit status 1 if one fails.

    \b
    Examples:
      jupyter pipes run pipeline edges
      jupyter pipes run pipeline edges --reprocess --no-wait
    """
    job = client().run_pipeline(name, reprocess=reprocess)
    if no_wait:
        print_queued_job(job.id)
        return
    wait_commit_jobs(job.global_id or job.id, progress, timeout)


@cli.command("demo")
@click.option(
    "--example", metavar="NAME", help="Which example to run: iris (the default), housing or images."
)
@click.option("--fresh", is_flag=True, help="Start over: remove what an earlier demo made.")
def demo(example: str | None, fresh: bool) -> None:
    """Run the demo in the store: repos of iris data, a training and a prediction notebook
    pipeline, new data, a model revert, and the lineage of one prediction, narrated.

    \b
    Examples:
      jupyter pipes --store /tmp/pipes-demo demo
      jupyter pipes demo --fresh        # delete an earlier run's repos first
    """
    try:
        from ..demos import run_demo
    except ImportError as e:
        raise CliError(f"the demo is not available in this installation ({e})") from None
    with quiet_dask():
        run_demo(client(), out=click.echo, example=example, fresh=fresh)
