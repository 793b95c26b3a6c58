"""Running and watching jobs: ``wait job|commit``, ``list|inspect job``, and the waiting helpers
that ``create|update|run pipeline`` and the branch-moving commands (``--wait``) share.

There is no always-on server: jobs are queued when a branch moves, and run when a controller
runs them. Waiting here (``wait ...``, ``--wait``, ``create pipeline``) makes this process that
controller, on a local Dask cluster, until the awaited jobs are done.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import render
from .base import CliError, F, client, delete, inspect, json_option, list_, rerun, stop, wait

if TYPE_CHECKING:
    from ..pipeline.records import JobInfo

FAILED = ("failure", "killed", "unrunnable")
STDIN = "-"


# -- rendering -----------------------------------------------------------------------------------


def seconds(s: float | None) -> str:
    """``2.1s`` under a minute, else pachctl's human duration; ``-`` when unknown."""
    if s is None:
        return render.NONE
    return f"{s:.1f}s" if s < 60 else render.human_duration(s)


def datum_counts(job: JobInfo) -> str:
    """``3 processed, 0 skipped, 0 failed``."""
    return f"{job.processed} processed, {job.skipped} skipped, {job.failed} failed"


def summary(job: JobInfo) -> str:
    """``job <id> <pipeline> success 3 processed, 0 skipped, 0 failed in 2.1s``."""
    took = f" in {seconds(job.duration_s)}" if job.duration_s is not None else ""
    return f"job {job.id} {job.pipeline} {job.state} {datum_counts(job)}{took}"


def error_text(job: JobInfo) -> str:
    """Why a job failed: ``datum <id>, cell 2: ValueError: bad row`` (or its reason)."""
    e = job.error or {}
    if not e.get("ename"):
        return job.reason or job.state
    where = []
    if e.get("datum"):
        where.append(f"datum {e['datum']}")
    if isinstance(e.get("cell_index"), int) and e["cell_index"] >= 0:
        where.append(f"cell {e['cell_index']}")
    head = ", ".join(where) + ": " if where else ""
    return f"{head}{e['ename']}: {e.get('evalue', '')}"


def spec_source(spec: str) -> tuple[Any, str | None]:
    """``-f SPEC``: ``(source, base_dir)`` for the Client: a path, or stdin's text read against
    the working directory."""
    if spec == STDIN:
        return sys.stdin.read(), os.getcwd()
    return Path(spec), None


spec_file = click.Path(exists=True, dir_okay=False, allow_dash=True)


# -- progress and waiting ------------------------------------------------------------------------


class JobProgress:
    """The ``progress=`` callback of the Client's waits: a tqdm bar of datums per job on stderr
    (``bars``), or else one line per job state change on stderr."""

    def __init__(self, enabled: bool | None) -> None:
        self.bars = sys.stderr.isatty() if enabled is None else enabled
        self.states: dict[str, str] = {}
        self._bar: Any = None
        self._bar_job: str | None = None

    def __call__(self, job: JobInfo) -> None:
        if not self.bars:
            if self.states.get(job.id) != job.state:
                self.states[job.id] = job.state
                click.echo(f"job {job.id} {job.pipeline} {job.state}", err=True)
            return
        if self._bar_job != job.id:
            self.close()
            from tqdm import tqdm  # only when a bar is shown: keeps start-up fast

            self._bar = tqdm(
                total=job.total, desc=job.pipeline, unit="datum", file=sys.stderr, **_bar_shape()
            )
            self._bar_job = job.id
        self._bar.total = job.total
        self._bar.n = job.processed + job.skipped + job.failed
        self._bar.refresh()
        if job.done:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar = self._bar_job = None


def _bar_shape() -> dict[str, int]:
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError):
        return {}
    return {"ncols": size.columns or 80, "nrows": size.lines or 24}


def progress_option(f: F) -> F:
    """``--progress/--no-progress``: a bar of datums, or one line per job state change."""
    return click.option(
        "--progress/--no-progress",
        "progress",
        default=None,
        help="Show a progress bar of datums on stderr. Default: only when stderr is a terminal; "
        "otherwise one line per job state change.",
    )(f)


def timeout_option(f: F) -> F:
    """``--timeout SECONDS`` for a wait."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        help="Give up (exit status 1) after this long; the jobs stay queued.",
    )(f)


def no_wait_option(f: F) -> F:
    """``--no-wait``: only queue the job."""
    return click.option(
        "--no-wait", is_flag=True, help="Only queue the job; run it later with 'wait job'."
    )(f)


@contextmanager
def quiet_dask() -> Iterator[None]:
    """Hide distributed's "Port 8787 is already in use" warning (its dashboard) while a local
    cluster starts: stderr is for progress and errors."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        yield


def run_and_report(
    waiter: Callable[[JobProgress], list[JobInfo]], progress: bool | None, what: str
) -> list[JobInfo]:
    """Run ``waiter(progress_callback)`` (a Client wait), then print one summary line per job on
    stdout and each failed job's error on stderr; exit status 1 if any failed."""
    factory = getattr(click.get_current_context().find_root().obj, "progress", None)
    reporter = factory(progress) if factory is not None else JobProgress(progress)
    try:
        with quiet_dask():
            jobs = waiter(reporter)
    except TimeoutError:
        raise CliError(f"timed out waiting for {what}; its jobs stay queued") from None
    finally:
        reporter.close()
    for job in jobs:
        click.echo(summary(job))
    failed = [j for j in jobs if j.state in FAILED]
    for job in failed:
        click.echo(f"error: job {job.id} ({job.pipeline}) {job.state}: {error_text(job)}", err=True)
        datum = (job.error or {}).get("datum")
        if datum:
            click.echo(f"  see: jupyter pipes logs {job.id} --datum {datum}", err=True)
    if failed:
        click.get_current_context().exit(1)
    return jobs


def wait_jobs(
    job_ids: list[str], progress: bool | None, timeout: float | None = None
) -> list[JobInfo]:
    """Run and wait for these jobs in order (with progress, summary and exit status)."""
    cl = client()
    deadline = None if timeout is None else time.monotonic() + timeout

    def left() -> float | None:
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def waiter(cb: JobProgress) -> list[JobInfo]:
        return [cl.wait_job(j, timeout=left(), progress=cb) for j in job_ids]

    return run_and_report(waiter, progress, "job " + ", ".join(job_ids))


def print_queued_job(job_id: str | None) -> None:
    """Say where a queued job will run: the background controller (auto-start on), or a
    waiting command (auto-start off, or no controller could be started)."""
    cl = client()
    if cl.autostart or cl.list_controller():
        click.echo(f"queued job {job_id}; a controller runs it "
                   f"('jupyter pipes wait job {job_id}' waits for it)")  # fmt: skip
    else:
        click.echo(f"queued job {job_id}; run 'jupyter pipes wait job {job_id}' to run it")


def wait_commit_jobs(
    ref: str, progress: bool | None, timeout: float | None = None, since: float | None = None
) -> list[JobInfo]:
    """Run and wait for every job triggered by commit ``ref`` (only those created at or after
    ``since``, an epoch time, when given), with progress, summary and exit status."""
    cl = client()

    def waiter(cb: JobProgress) -> list[JobInfo]:
        jobs = cl.wait_commit(ref, timeout=timeout, progress=cb)
        return [j for j in jobs if since is None or j.created.timestamp() >= since]

    jobs = run_and_report(waiter, progress, f"the jobs of {ref}")
    if not jobs:
        click.echo(f"no jobs were triggered by {ref}", err=True)
    return jobs


def _wait_since(ctx: click.Context, param: click.Parameter, value: bool) -> float | None:
    return time.time() if value else None  # parsed before the command moves the branch


def wait_option(f: F) -> F:
    """``--wait`` for commands that move a branch: the command gets the epoch time the option
    was parsed (or ``None``) and passes it to :func:`wait_after_commit`."""
    return click.option(
        "--wait",
        "wait",
        is_flag=True,
        callback=_wait_since,
        help="Then run the pipeline jobs this triggers (transitively) here, wait for them and "
        "print a summary per job; exit status 1 if one fails.",
    )(f)


def wait_after_commit(ref: str | None, since: float | None, progress: bool | None = None) -> None:
    """After a branch moved to ``ref`` (``repo@<commit id>``): with ``--wait``, run its jobs;
    else name the jobs it queued and how to follow them (on stderr)."""
    if since is not None and ref is not None:
        wait_commit_jobs(ref, progress, since=since)
    elif ref is not None:
        from .controller import print_queued

        print_queued(ref)


# -- commands ------------------------------------------------------------------------------------


@wait.command("job")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
@timeout_option
@progress_option
def wait_job(job_id: str, timeout: float | None, progress: bool | None) -> None:
    """Run queued jobs here until JOB is done; print its summary (exit status 1 if it failed).

    \b
    Examples:
      jupyter pipes wait job 3f2a9c1e --timeout 600
      jupyter pipes wait job edges@3f2a9c1e
    """
    wait_jobs([client().inspect_job(job_id).id], progress, timeout)


@wait.command("commit")
@click.argument("ref", metavar="REPO@REF | GLOBAL_ID")
@timeout_option
@progress_option
def wait_commit(ref: str, timeout: float | None, progress: bool | None) -> None:
    """Run every job of a global commit — the jobs a commit triggered, transitively — until
    all are done; print a summary per job (exit status 1 if one failed).

    REPO@COMMIT waits for that commit's global commit; REPO@BRANCH for the one that moved the
    branch to its current head; GLOBAL_ID for that global commit.

    \b
    Examples:
      jupyter pipes wait commit images@master
      jupyter pipes wait commit 3f2a9c1e0b7d4c55a1e2f3a4b5c6d7e8
    """
    wait_commit_jobs(ref, progress, timeout)


JOB_STATES = ("created", "running", "success", "failure", "killed", "unrunnable")


@list_.command("job")
@click.option("-p", "--pipeline", metavar="NAME", help="Only this pipeline's jobs.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(JOB_STATES),
    help="Only jobs in this state (repeat for several).",
)
@click.option(
    "-n", "--number", "limit", type=click.IntRange(min=0), metavar="N", help="At most N jobs."
)
@click.option(
    "--offset", type=click.IntRange(min=0), default=0, metavar="K", help="Skip the K newest jobs."
)
@json_option
def list_job(
    pipeline: str | None, states: tuple[str, ...], limit: int | None, offset: int, as_json: bool
) -> None:
    """List jobs, newest first. DATUMS is processed/skipped/failed of total.

    \b
    Examples:
      jupyter pipes list job
      jupyter pipes list job -p edges -n 5 --json
      jupyter pipes list job --state running --state created
    """
    jobs = client().list_job(pipeline, limit=limit, offset=offset, state=list(states) or None)
    if as_json:
        render.echo_json(jobs)
        return
    click.echo(
        render.table(
            ["ID", "PIPELINE", "STATE", "STARTED", "DURATION", "DATUMS"],
            [
                [
                    j.id,
                    j.pipeline,
                    j.state,
                    render.ago(j.started),
                    seconds(j.duration_s),
                    f"{j.processed}/{j.skipped}/{j.failed} of {j.total}",
                ]
                for j in jobs
            ],
        )
    )


@inspect.command("job")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
@json_option
def inspect_job(job_id: str, as_json: bool) -> None:
    """Show one job: state, datum counts, input commits, output commit and error.

    \b
    Examples:
      jupyter pipes inspect job 3f2a9c1e
      jupyter pipes inspect job edges@3f2a9c1e --json
    """
    j = client().inspect_job(job_id)
    if as_json:
        render.echo_json(j)
        return
    inputs = [
        (f"Input {c.repo}@{c.branch}" if c.branch else f"Input {c.repo}", c.id) for c in j.inputs
    ]
    click.echo(
        render.key_values(
            [
                ("ID", j.id),
                ("Pipeline", f"{j.pipeline} (version {j.version})"),
                ("State", j.state),
                ("Reason", j.reason or None),
                ("Created", render.ago(j.created)),
                ("Started", render.ago(j.started)),
                ("Duration", seconds(j.duration_s)),
                ("Datums", f"{datum_counts(j)} of {j.total}"),
                *inputs,
                ("Spec commit", j.spec_commit),
                ("Output commit", j.output_commit),
                ("Global ID", j.global_id),
                ("Waiting on", ", ".join(j.waiting_on) or None),
                ("Error", error_text(j) if j.error else None),
            ]
        )
    )


@stop.command("job")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
def stop_job(job_id: str) -> None:
    """Stop a job: it becomes killed, its running datums are cancelled on the Dask cluster,
    its output branch does not move; the jobs of its global commit downstream of it are
    killed too. Prints each job killed.

    \b
    Examples:
      jupyter pipes stop job 3f2a9c1e
      jupyter pipes stop job edges@3f2a9c1e
    """
    for job in client().stop_job(job_id):
        click.echo(f"job {job.id} {job.pipeline} {job.state}")


@delete.command("job")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
def delete_job(job_id: str) -> None:
    """Delete a finished job that made no output (failed, killed or unrunnable) and its datums.

    A job not done must be stopped first; a successful job's output is history (delete its
    global commit instead: jupyter pipes delete commit GLOBAL_ID).

    \b
    Examples:
      jupyter pipes delete job 3f2a9c1e
      jupyter pipes delete job edges@3f2a9c1e
    """
    client().delete_job(job_id)


@rerun.command("job")
@click.argument("job_id", metavar="JOB | PIPELINE@JOB")
@click.option(
    "--reprocess", is_flag=True, help="Run every datum again, even those that succeeded in JOB."
)
@no_wait_option
@timeout_option
@progress_option
def rerun_job(
    job_id: str, reprocess: bool, no_wait: bool, timeout: float | None, progress: bool | None
) -> None:
    """Run a done job again: a new job of its pipeline, with the pipeline's current spec, on
    the same input commits JOB read (not the inputs' current heads: that is 'run pipeline'),
    then the jobs downstream of it; run them here and print a summary line per job (exit
    status 1 if one fails).

    Datums that succeeded in JOB are reused unless --reprocess. The new output commit
    becomes the output branch's head even if newer inputs were committed since. Refused
    for a job not done, a job whose upstream job never made its input (rerun that one), or
    a pipeline whose input branches changed since JOB. pachctl has no 'rerun job': its
    verbs re-run a pipeline on its inputs' current heads, 'run pipeline' here.

    \b
    Examples:
      jupyter pipes rerun job 3f2a9c1e
      jupyter pipes rerun job edges@3f2a9c1e --reprocess --no-wait
    """
    job = client().rerun_job(job_id, reprocess=reprocess)
    if no_wait:
        print_queued_job(job.id)
        return
    wait_commit_jobs(job.global_id or job.id, progress, timeout)
