"""The engine of ``jupyter pipes demo``: a train → predict DAG on real data, told step by step.

:func:`run_demo` builds the classic ML pipeline on a client's store with the iris data bundled
with scikit-learn (nothing is downloaded): a ``training`` repo feeds pipeline ``model``
(``train.ipynb``), whose output and a ``samples`` repo feed pipeline ``predict``
(``predict.ipynb``). It then shows what the store does: a new data drop retrains and re-predicts,
a new samples file runs one datum only, a model revert re-runs inference, every prediction
traces back to its data and notebook versions, and the model is served over HTTP by an endpoint
that follows the branch. The notebooks and specs ship inside the package
(``jupyter_pipes/demo_files/ml/``). Needs scikit-learn, pandas and matplotlib in the kernel.
"""

from __future__ import annotations

import csv
import io
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Client
from .errors import AlreadyExists, InvalidArgument, PipesError
from .pipeline.records import JobInfo
from .store.records import CommitInfo

FILES = Path(__file__).with_name("demo_files") / "ml"
"""The demo's specs (``model.yaml``, ``predict.yaml``) and notebooks."""
PIPELINES = ("predict", "model")  # downstream first, the order to delete them in
REPOS = ("training", "samples")
TIMEOUT = 900.0


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


def iris_files() -> tuple[bytes, bytes, list[bytes]]:
    """The demo data from ``sklearn.datasets.load_iris``: 72 labelled training rows (60% of
    the labelled pool), the other 48, and five batches of 6 unlabelled held-out rows."""
    try:
        from sklearn.datasets import load_iris
    except ImportError as e:
        raise InvalidArgument(
            "the demo needs scikit-learn, pandas and matplotlib: "
            "pip install scikit-learn pandas matplotlib"
        ) from e
    iris = load_iris()
    header = [n.removesuffix(" (cm)").replace(" ", "_") for n in iris.feature_names]
    rows = [[f"{v:g}" for v in x] for x in iris.data]
    labels = [str(iris.target_names[t]) for t in iris.target]
    held = [i for i in range(len(rows)) if i % 5 == 4]  # 10 rows of each species
    pool = [i for i in range(len(rows)) if i % 5 != 4]

    def table(idx: list[int], labelled: bool) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header + ["species"] * labelled)
        w.writerows(rows[i] + [labels[i]] * labelled for i in idx)
        return buf.getvalue().encode()

    first = table([i for k, i in enumerate(pool) if k % 5 < 3], True)
    rest = table([i for k, i in enumerate(pool) if k % 5 >= 3], True)
    return first, rest, [table(held[b::5], False) for b in range(5)]


def reset_demo(client: Client) -> list[str]:
    """Delete the demo's pipelines (with their output repos) and input repos; returns what was
    deleted. Refused (nothing deleted) while other pipelines read a demo repo."""
    from .demos.common import reset

    return reset(client, PIPELINES, REPOS)


def _short(cid: str | None) -> str:
    return (cid or "-")[:8]


def _job(j: JobInfo) -> str:
    took = f"{j.duration_s:.1f} s" if j.duration_s is not None else "-"
    return (f"{j.pipeline} job {_short(j.id)} {j.state}: {j.processed} processed, "
            f"{j.skipped} skipped, {j.failed} failed of {j.total} datum(s) in {took} "
            f"→ {j.pipeline}@{_short(j.output_commit)}")


def _check(jobs: list[JobInfo], expect: list[str]) -> list[JobInfo]:
    for j in jobs:
        if j.state != "success":
            err = j.error or {}
            where = (f"{err.get('ename')}: {err.get('evalue')} (cell {err.get('cell_index')} "
                     f"of datum {_short(err.get('datum'))}); " if err else "")
            raise DemoError(
                f"{j.pipeline} job {_short(j.id)} ended {j.state} ({j.reason}): {where}"
                f"see the log: jupyter pipes logs {j.id}", job=j.id, error=err,
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
        label = f"revert: restores {c.repo}@{_short(c.restores)}"
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
    lines = [f"{head}{ref} {_short(c.id)}  ({node.label})"]
    inner = prefix + ("" if top else "   " if last else "│  ")
    for i, p in enumerate(node.parents):
        lines += lineage_lines(p, inner, i == len(node.parents) - 1, False)
    return lines


def run_demo(
    client: Client, *, out: Callable[[str], None] = print, example: str | None = "iris",
    fresh: bool = False,
) -> DemoReport:
    """Run the demo on ``client``'s store, printing one narrative line per event to ``out``.

    Refuses (``AlreadyExists``, nothing changed) if the demo's repos or pipelines exist, unless
    ``fresh`` (the CLI's ``--fresh``): then :func:`reset_demo` removes them first. Raises
    :class:`DemoError` if a job fails. Steps: (a) data, (b) pipelines, (c) more training
    data, (d) one new samples file, (e) model revert, (f) lineage of one prediction, (g) the
    model served over HTTP (model.yaml's ``serve:``), answering from a new revert commit once
    the branch moves. ``example``: ``"iris"`` (this one, the default, also for ``None``), or
    another of :data:`jupyter_pipes.demos.EXAMPLES` (``"housing"``, ``"images"``), run by its
    module in :mod:`jupyter_pipes.demos` with the same refusal, ``fresh`` and narration rules.
    """
    if example not in ("iris", None):
        from .demos import run_example

        report = run_example(example, client, out, fresh)
        assert isinstance(report, DemoReport)
        return report
    if fresh and (deleted := reset_demo(client)):
        out(f"--fresh: deleted the demo's earlier {', '.join(deleted)}")
    taken = sorted({r.name for r in client.list_repo()} & (set(PIPELINES) | set(REPOS)))
    if taken:
        raise AlreadyExists(
            f"this store already has the demo's repos ({', '.join(taken)}): pass --fresh to "
            "delete them and run the demo again, or use another store (--store)", repos=taken)
    t0 = time.perf_counter()
    report = DemoReport(store=client.store_url)
    first, rest, batches = iris_files()

    def step(key: str, title: str) -> DemoStep:
        report.steps[key] = DemoStep(key, title)
        return report.steps[key]

    def snapshot(key: str, began: float) -> None:
        report.steps[key].seconds = time.perf_counter() - began
        report.predictions[key] = {f.path: client.get_file("predict@master", f.path)
                                   for f in client.list_file("predict@master")}
        report.metrics[key] = json.loads(client.get_file("model@master", "/metrics.json"))

    def model_text(key: str) -> str:
        m = report.metrics[key]
        return f"{m['rows']} rows, CV accuracy {m['cv_accuracy']:.3f}"

    out(f"jupyter pipes demo: iris train → predict on store {client.store_url}")
    began = time.perf_counter()
    s = step("a", "data")
    client.create_repo("training", "labelled iris rows (sepal/petal sizes, species)")
    client.create_repo("samples", "unlabelled iris rows to classify, one batch per file")
    s.commit = client.put_file("training@master", "/iris-part1.csv", first,
                               message="first 72 labelled iris rows").id
    with client.start_commit("samples@master", message="4 batches of unlabelled rows") as oc:
        for n, data in enumerate(batches[:4], 1):
            oc.put_file(f"/batch-{n:02}.csv", data)
    s.seconds = time.perf_counter() - began
    out(f"(a) repo training: 72 labelled rows in /iris-part1.csv (training@{_short(s.commit)}); "
        f"repo samples: 4 files of 6 unlabelled rows (samples@{_short(oc.id)}) "
        f"[{s.seconds:.1f} s]")

    began = time.perf_counter()
    s = step("b", "pipelines")
    for name in ("model", "predict"):
        info = client.create_pipeline(FILES / f"{name}.yaml")
        jobs = client.wait_commit(f"{name}@{info.spec_commit}", timeout=TIMEOUT)
        s.jobs += _check(jobs, [name])
        out(f"(b) created pipeline {name} ({info.spec['transform']['notebook']}, version "
            f"{info.version}, {name}@spec {_short(info.spec_commit)}): {_job(jobs[0])}")
    snapshot("b", began)
    files = ", ".join(f.path for f in client.list_file("model@master"))
    out(f"    model v1 ({files}): {model_text('b')}; predict@master holds "
        f"{len(report.predictions['b'])} prediction files [{s.seconds:.1f} s]")

    began = time.perf_counter()
    s = step("c", "more training data")
    s.commit = client.put_file("training@master", "/iris-part2.csv", rest,
                               message="48 more labelled iris rows").id
    s.jobs = _check(client.wait_commit(f"training@{s.commit}", timeout=TIMEOUT),
                    ["model", "predict"])
    snapshot("c", began)
    changed = sum(report.predictions["c"].get(p) != b for p, b in report.predictions["b"].items())
    out(f"(c) committed 48 more training rows (training@{_short(s.commit)}) → retrain, then "
        f"re-predict:\n    {_job(s.jobs[0])} (model v2: {model_text('c')})\n    "
        f"{_job(s.jobs[1])}: the model changed, so every datum re-ran; {changed} of "
        f"{len(report.predictions['b'])} prediction files changed [{s.seconds:.1f} s]")

    began = time.perf_counter()
    s = step("d", "one new samples file")
    s.commit = client.put_file("samples@master", "/batch-05.csv", batches[4],
                               message="add batch 5").id
    s.jobs = _check(client.wait_commit(f"samples@{s.commit}", timeout=TIMEOUT), ["predict"])
    snapshot("d", began)
    (j,) = s.jobs
    if (j.processed, j.skipped) != (1, 4):
        raise DemoError(f"expected 1 processed and 4 skipped datums, got {_job(j)}")
    out(f"(d) committed one new samples file /batch-05.csv (samples@{_short(s.commit)}) → "
        f"only its datum ran:\n    {_job(j)} [{s.seconds:.1f} s]")

    began = time.perf_counter()
    s = step("e", "model revert")
    v1 = client.list_commit("model@master")[-1].id
    revert = client.revert("model@master", to=v1)
    s.commit = revert.id
    s.jobs = _check(client.wait_commit(f"model@{revert.id}", timeout=TIMEOUT), ["predict"])
    snapshot("e", began)
    same = [p for p, b in report.predictions["b"].items() if report.predictions["e"].get(p) == b]
    out(f"(e) reverted model@master to its first commit {_short(v1)} (revert commit "
        f"model@{_short(revert.id)}, origin {revert.origin}) → inference re-ran on model v1 "
        f"({model_text('e')}):\n    {_job(s.jobs[0])}\n    {len(same)} of "
        f"{len(report.predictions['b'])} prediction files are byte-identical to (b)'s again "
        f"[{s.seconds:.1f} s]")

    step("f", "lineage")
    head = client.inspect_commit("predict@master")
    report.lineage_file = "/batch-01.predictions.csv"
    report.lineage = lineage(client, f"predict@{head.id}")
    datum = next(d for d in client.list_datum(s.jobs[0].id)
                 if report.lineage_file in d.outputs)
    out(f"(f) lineage of predict@{_short(head.id)}:{report.lineage_file}, written by datum "
        f"{_short(datum.id)} of job {_short(datum.job)} from "
        + " and ".join(f"{i.repo}@{_short(i.commit)}:{i.path}" for i in datum.inputs) + ":")
    for line in lineage_lines(report.lineage):
        out("    " + line)
    _serve_step(client, report, step("g", "serving"), out)
    report.seconds = time.perf_counter() - t0
    out(f"done in {report.seconds:.1f} s. Look around with:")
    url = client.store_url
    local = "://" not in url and Path(url).resolve() == Path(".pipes").resolve()
    cmd = "jupyter pipes" + ("" if local else f" --store {shlex.quote(url)}")
    for hint in ("list commit predict@master", "inspect commit predict@master", "list job",
                 f"get file predict@master:{report.lineage_file}"):
        out(f"    {cmd} {hint}")
    return report


SAMPLE = {"sepal_length": 6.0, "sepal_width": 2.7, "petal_length": 5.1, "petal_width": 1.6}
"""The flower the demo's endpoint is asked about (a hard one: versicolor or virginica)."""


def _serve_step(
    client: Client, report: DemoReport, s: DemoStep, out: Callable[[str], None]
) -> None:
    """(g) Serve model@master over HTTP (model.yaml's ``serve:``), predict, revert the model
    to v2, and predict again: the endpoint answers from the revert commit."""
    import urllib.request

    began = time.perf_counter()
    endpoint = client.serve("model@master", log_window=1.0)

    def ask() -> dict[str, Any]:
        req = urllib.request.Request(endpoint.url + "/predict", json.dumps(SAMPLE).encode(),
                                     {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
        report.served.append({"commit": answer["commit"], "result": answer["result"][0]})
        return report.served[-1]

    def said(a: dict[str, Any]) -> str:
        r, by = a["result"], _short(a["commit"])
        return f"{r['predicted']} (p={r['p_' + r['predicted']]:.2f}) from model@{by}"

    try:
        first = ask()
        out(f"(g) served model@master over HTTP at {endpoint.url}/predict (serve.ipynb, declared "
            f"in model.yaml): a flower {json.dumps(SAMPLE)} → {said(first)}")
        v2 = report.steps["c"].jobs[0].output_commit
        revert = client.revert("model@master", to=v2)
        s.commit = revert.id
        s.jobs = _check(client.wait_commit(f"model@{revert.id}", timeout=TIMEOUT), ["predict"])
        deadline = time.monotonic() + 60
        while endpoint.commit != revert.id and time.monotonic() < deadline:
            time.sleep(0.05)
        second = ask()
        out(f"    reverted model@master to model v2 (revert commit model@{_short(revert.id)}); "
            f"predictions recomputed, and the endpoint swapped on its own: the same flower → "
            f"{said(second)}")
    finally:
        endpoint.stop()
    counts: dict[str | None, int] = {}
    for w in client.serving_log(endpoint.name):
        counts[w.commit] = counts.get(w.commit, 0) + w.requests
    s.seconds = time.perf_counter() - began
    by = ", ".join(f"{n} request(s) by model@{_short(c)}" for c, n in counts.items())
    out(f"    the serving log says which model answered: {by} [{s.seconds:.1f} s]")


__all__ = [
    "DemoError", "DemoReport", "DemoStep", "LineageNode", "lineage", "lineage_lines", "reset_demo",
    "run_demo",
]
