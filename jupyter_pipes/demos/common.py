"""What every example shares: refusing or resetting an earlier run, timed and narrated steps,
creating a shipped pipeline and running the jobs it triggers."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..client import Client
from ..demo import TIMEOUT, DemoError, DemoReport, DemoStep, _check, _job, _short
from ..errors import AlreadyExists, Conflict
from ..pipeline.records import JobInfo, PipelineInfo

DEMO_FILES = Path(__file__).parent.parent / "demo_files"
"""``jupyter_pipes/demo_files``: one folder of specs and notebooks per example."""


def reset(client: Client, pipelines: tuple[str, ...], repos: tuple[str, ...]) -> list[str]:
    """Delete an example's pipelines (downstream first, with their output repos) and input
    repos; what was deleted. Refused (nothing deleted) while another pipeline reads one."""
    mine = set(pipelines) | set(repos)
    readers = [p.name for p in client.list_pipeline() if p.name not in pipelines
               and any(i.split("@")[0] in mine for i in p.inputs)]
    if readers:
        raise Conflict(f"pipeline(s) {', '.join(readers)} read the example's repos; delete "
                       "them first", pipelines=readers)
    existing_pipelines = {p.name for p in client.list_pipeline()}
    existing_repos = {r.name for r in client.list_repo()}
    deleted = []
    for name in pipelines:
        if name in existing_pipelines:
            client.delete_pipeline(name)
            deleted.append(name)
        elif name in existing_repos:
            client.delete_repo(name, force=True)
            deleted.append(name)
    for name in repos:
        if name in existing_repos:
            client.delete_repo(name, force=True)
            deleted.append(name)
    return deleted


class Run:
    """One run of an example on a client: narration (``out``), steps and their report."""

    def __init__(self, client: Client, out: Callable[[str], None], *, name: str,
                 pipelines: tuple[str, ...], repos: tuple[str, ...], fresh: bool) -> None:
        self.client, self.out, self.name = client, out, name
        if fresh and (deleted := reset(client, pipelines, repos)):
            out(f"--fresh: deleted the example's earlier {', '.join(deleted)}")
        taken = sorted({r.name for r in client.list_repo()} & (set(pipelines) | set(repos)))
        if taken:
            raise AlreadyExists(
                f"this store already has the {name} example's repos ({', '.join(taken)}): pass "
                "--fresh to delete them and run it again, or use another store (--store)",
                repos=taken)
        self.report = DemoReport(store=client.store_url)
        self.t0 = time.perf_counter()

    @contextmanager
    def step(self, key: str, title: str) -> Iterator[DemoStep]:
        """Time a step (``report.steps[key]``)."""
        s = self.report.steps[key] = DemoStep(key, title)
        began = time.perf_counter()
        yield s
        s.seconds = time.perf_counter() - began

    def create(self, spec: Path, expect: list[str]) -> tuple[PipelineInfo, list[JobInfo]]:
        """Create a shipped pipeline and run its first job (and what it triggers)."""
        info = self.client.create_pipeline(spec)
        jobs = self.client.wait_commit(f"{info.name}@{info.spec_commit}", timeout=TIMEOUT)
        return info, _check(jobs, expect)

    def update(self, spec: dict[str, Any], expect: list[str]) -> tuple[PipelineInfo,
                                                                       list[JobInfo]]:
        """Update a pipeline to ``spec`` and run the job it queues (and what that triggers)."""
        info = self.client.update_pipeline(spec, base_dir=DEMO_FILES / self.name)
        jobs = self.client.wait_commit(f"{info.name}@{info.spec_commit}", timeout=TIMEOUT)
        return info, _check(jobs, expect)

    def wait(self, ref: str, expect: list[str]) -> list[JobInfo]:
        """Run the jobs a commit triggered; fail the example if one did not succeed."""
        return _check(self.client.wait_commit(ref, timeout=TIMEOUT), expect)

    def files(self, branch: str) -> dict[str, bytes]:
        """Every file of a branch's head: path → bytes."""
        return {f.path: self.client.get_file(branch, f.path)
                for f in self.client.walk_file(branch) if f.type == "file"}

    def json(self, branch: str, path: str) -> Any:
        """A JSON file of a branch's head."""
        return json.loads(self.client.get_file(branch, path))

    def done(self, hints: list[str]) -> DemoReport:
        """Print the total time and commands to look around with; the report."""
        self.report.seconds = time.perf_counter() - self.t0
        self.out(f"done in {self.report.seconds:.1f} s. Look around with:")
        url = self.client.store_url
        local = "://" not in url and Path(url).resolve() == Path(".pipes").resolve()
        cmd = "jupyter pipes" + ("" if local else f" --store {shlex.quote(url)}")
        for hint in hints:
            self.out(f"    {cmd} {hint}")
        return self.report


def job_line(job: JobInfo) -> str:
    """A job's one-line narration."""
    return _job(job)


def short(cid: str | None) -> str:
    """A commit or job id's first 8 characters."""
    return _short(cid)


def expect_counts(job: JobInfo, processed: int, skipped: int) -> None:
    """Fail the example unless ``job`` processed and skipped that many datums."""
    if (job.processed, job.skipped) != (processed, skipped):
        raise DemoError(f"expected {processed} processed and {skipped} skipped datums, got "
                        f"{job_line(job)}")
