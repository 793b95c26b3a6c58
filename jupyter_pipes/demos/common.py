"""What every example shares: its report, refusing or resetting an earlier run, timed and
narrated steps, creating a shipped pipeline and running the jobs it triggers, and the lineage
tree of a commit. Imports nothing of the examples (they import it)."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..client import Client
from ..errors import AlreadyExists, Conflict, PipesError
from ..pipeline.records import JobInfo, PipelineInfo
from ..store.records import CommitInfo

DEMO_FILES = Path(__file__).parent.parent / "demo_files"
"""``jupyter_pipes/demo_files``: one folder of specs and notebooks per example."""
TIMEOUT = 900.0
"""How long a step waits for the jobs it triggered, in seconds."""


class DemoError(PipesError):
    """A demo job did not succeed (the message says which datum and cell failed)."""


@dataclass
class DemoStep:
    """One step of the demo: the commit that triggered it, the jobs it ran, its wall time."""

    key: str
    title: str
    commit: str | None = None
    jobs: list[JobInfo] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class LineageNode:
    """A commit and the commits it came from (provenance; for a revert, the restored one)."""

    commit: CommitInfo
    label: str
    parents: tuple[LineageNode, ...] = ()

    def find(self, repo: str, branch: str | None = "master") -> list[LineageNode]:
        """Every node of this tree (this one included) on ``repo@branch``, top-down."""
        here = [self] if (self.commit.repo, self.commit.branch) == (repo, branch) else []
        return here + [n for p in self.parents for n in p.find(repo, branch)]


@dataclass
class DemoReport:
    """What :func:`run_demo` did, for tests and for callers that render it themselves."""

    store: str
    steps: dict[str, DemoStep] = field(default_factory=dict)
    predictions: dict[str, dict[str, bytes]] = field(default_factory=dict)
    """``predict@master``'s files after each step (``"b"`` ... ``"e"``): path → bytes (for the
    other examples: the last pipeline's output files)."""
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``model@master:/metrics.json`` after each step (other examples: their own metrics)."""
    lineage_file: str = ""
    lineage: LineageNode | None = None
    served: list[dict[str, Any]] = field(default_factory=list)
    """(g): the endpoint's answers, before and after the revert (``commit``, ``result``)."""
    seconds: float = 0.0


def short(cid: str | None) -> str:
    """A commit or job id's first 8 characters."""
    return (cid or "-")[:8]


def job_line(j: JobInfo) -> str:
    """A job's one-line narration."""
    took = f"{j.duration_s:.1f} s" if j.duration_s is not None else "-"
    return (
        f"{j.pipeline} job {short(j.id)} {j.state}: {j.processed} processed, "
        f"{j.skipped} skipped, {j.failed} failed of {j.total} datum(s) in {took} "
        f"→ {j.pipeline}@{short(j.output_commit)}"
    )


def check(jobs: list[JobInfo], expect: list[str]) -> list[JobInfo]:
    """``jobs``, if each succeeded and they ran ``expect`` (pipeline names, in order); else
    :class:`DemoError` naming the failed datum and cell."""
    for j in jobs:
        if j.state != "success":
            err = j.error or {}
            where = (
                f"{err.get('ename')}: {err.get('evalue')} (cell {err.get('cell_index')} "
                f"of datum {short(err.get('datum'))}); "
                if err
                else ""
            )
            raise DemoError(
                f"{j.pipeline} job {short(j.id)} ended {j.state} ({j.reason}): {where}"
                f"see the log: jupyter pipes logs {j.id}",
                job=j.id,
                error=err,
            )
    if [j.pipeline for j in jobs] != expect:
        raise DemoError(f"expected jobs of {expect}, got {[j.pipeline for j in jobs]}")
    return jobs


def lineage(client: Client, ref: str) -> LineageNode:
    """The provenance tree of a commit: its input and spec commits (recursively); for a revert,
    the commit it restores (whose provenance the revert carries too)."""
    c = client.inspect_commit(ref)
    if c.branch == "spec":
        spec = json.loads(client.get_file(f"{c.repo}@{c.id}", "/spec.json"))
        nb = spec["transform"].get("notebook")
        label = f"spec + notebook {nb}, as run" if nb else "spec, as run"
    elif c.origin == "revert":
        label = f"revert: restores {c.repo}@{short(c.restores)}"
    elif c.origin == "auto":
        label = f"output of pipeline {c.repo}"
    else:
        label = f"user commit: {c.message}"
    if c.restores:
        parents = [f"{c.repo}@{c.restores}"]
    else:
        parents = [f"{p.repo}@{p.id}" for p in c.provenance]
    return LineageNode(c, label, tuple(lineage(client, p) for p in parents))


def lineage_lines(
    node: LineageNode, prefix: str = "", last: bool = True, top: bool = True
) -> list[str]:
    """A lineage tree as text lines (``├─``/``└─``), one commit per line."""
    c = node.commit
    ref = f"{c.repo}@{c.branch}" if c.branch else c.repo
    head = "" if top else prefix + ("└─ " if last else "├─ ")
    lines = [f"{head}{ref} {short(c.id)}  ({node.label})"]
    inner = prefix + ("" if top else "   " if last else "│  ")
    for i, p in enumerate(node.parents):
        lines += lineage_lines(p, inner, i == len(node.parents) - 1, False)
    return lines


def reset(client: Client, pipelines: tuple[str, ...], repos: tuple[str, ...]) -> list[str]:
    """Delete an example's pipelines (downstream first, with their output repos) and input
    repos; what was deleted. Refused (nothing deleted) while another pipeline reads one."""
    mine = set(pipelines) | set(repos)
    readers = [
        p.name
        for p in client.list_pipeline()
        if p.name not in pipelines and any(i.split("@")[0] in mine for i in p.inputs)
    ]
    if readers:
        raise Conflict(
            f"pipeline(s) {', '.join(readers)} read the example's repos; delete them first",
            pipelines=readers,
        )
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

    def __init__(
        self,
        client: Client,
        out: Callable[[str], None],
        *,
        name: str,
        pipelines: tuple[str, ...],
        repos: tuple[str, ...],
        fresh: bool,
    ) -> None:
        self.client, self.out, self.name = client, out, name
        if fresh and (deleted := reset(client, pipelines, repos)):
            out(f"--fresh: deleted the example's earlier {', '.join(deleted)}")
        taken = sorted({r.name for r in client.list_repo()} & (set(pipelines) | set(repos)))
        if taken:
            raise AlreadyExists(
                f"this store already has the {name} example's repos ({', '.join(taken)}): pass "
                "--fresh to delete them and run it again, or use another store (--store)",
                repos=taken,
            )
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
        info = one(self.client.create_pipeline(spec))
        jobs = self.client.wait_commit(f"{info.name}@{info.spec_commit}", timeout=TIMEOUT)
        return info, check(jobs, expect)

    def update(self, spec: dict[str, Any], expect: list[str]) -> tuple[PipelineInfo, list[JobInfo]]:
        """Update a pipeline to ``spec`` and run the job it queues (and what that triggers)."""
        info = one(self.client.update_pipeline(spec, base_dir=DEMO_FILES / self.name))
        jobs = self.client.wait_commit(f"{info.name}@{info.spec_commit}", timeout=TIMEOUT)
        return info, check(jobs, expect)

    def wait(self, ref: str, expect: list[str]) -> list[JobInfo]:
        """Run the jobs a commit triggered; fail the example if one did not succeed."""
        return check(self.client.wait_commit(ref, timeout=TIMEOUT), expect)

    def files(self, branch: str) -> dict[str, bytes]:
        """Every file of a branch's head: path → bytes."""
        return {
            f.path: self.client.get_file(branch, f.path)
            for f in self.client.walk_file(branch)
            if f.type == "file"
        }

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


def expect_counts(job: JobInfo, processed: int, skipped: int) -> None:
    """Fail the example unless ``job`` processed and skipped that many datums."""
    if (job.processed, job.skipped) != (processed, skipped):
        raise DemoError(
            f"expected {processed} processed and {skipped} skipped datums, got {job_line(job)}"
        )


def one(info: PipelineInfo | list[PipelineInfo]) -> PipelineInfo:
    """The pipeline a one-spec file made (``create_pipeline`` returns a list for several)."""
    if isinstance(info, list):
        raise DemoError(f"expected one pipeline spec, got {len(info)}")
    return info
