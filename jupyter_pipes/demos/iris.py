"""The ``iris`` example, the default of ``jupyter pipes demo``: a train → predict DAG on real
data, told step by step.

:func:`run` builds the classic ML pipeline on a client's store with the iris data bundled
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
from pathlib import Path
from typing import Any

from ..client import Client
from ..errors import AlreadyExists, InvalidArgument
from .common import (
    DEMO_FILES,
    TIMEOUT,
    DemoError,
    DemoReport,
    DemoStep,
    check,
    job_line,
    lineage,
    lineage_lines,
    one,
    short,
)

NAME = "iris"
FILES = DEMO_FILES / "ml"
"""The demo's specs (``model.yaml``, ``predict.yaml``) and notebooks."""
PIPELINES = ("predict", "model")  # downstream first, the order to delete them in
REPOS = ("training", "samples")


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


def reset(client: Client) -> list[str]:
    """Delete the iris example's pipelines (with their output repos) and input repos; returns
    what was deleted. Refused (nothing deleted) while other pipelines read one of its repos."""
    from .common import reset as reset_example

    return reset_example(client, PIPELINES, REPOS)


def run(client: Client, out: Callable[[str], None], fresh: bool) -> DemoReport:
    """Run the iris example on ``client``'s store, one narrative line per event to ``out``.

    Refuses (``AlreadyExists``, nothing changed) if its repos or pipelines exist, unless
    ``fresh``: then :func:`reset` removes them first. Raises :class:`DemoError` if a job fails.
    Steps: (a) data, (b) pipelines, (c) more training data, (d) one new samples file, (e) model
    revert, (f) lineage of one prediction, (g) the model served over HTTP (model.yaml's
    ``serve:``), answering from a new revert commit once the branch moves.
    """
    if fresh and (deleted := reset(client)):
        out(f"--fresh: deleted the demo's earlier {', '.join(deleted)}")
    taken = sorted({r.name for r in client.list_repo()} & (set(PIPELINES) | set(REPOS)))
    if taken:
        raise AlreadyExists(
            f"this store already has the demo's repos ({', '.join(taken)}): pass --fresh to "
            "delete them and run the demo again, or use another store (--store)",
            repos=taken,
        )
    t0 = time.perf_counter()
    report = DemoReport(store=client.store_url)
    first, rest, batches = iris_files()

    def step(key: str, title: str) -> DemoStep:
        report.steps[key] = DemoStep(key, title)
        return report.steps[key]

    def snapshot(key: str, began: float) -> None:
        report.steps[key].seconds = time.perf_counter() - began
        report.predictions[key] = {
            f.path: client.get_file("predict@master", f.path)
            for f in client.list_file("predict@master")
        }
        report.metrics[key] = json.loads(client.get_file("model@master", "/metrics.json"))

    def model_text(key: str) -> str:
        m = report.metrics[key]
        return f"{m['rows']} rows, CV accuracy {m['cv_accuracy']:.3f}"

    out(f"jupyter pipes demo: iris train → predict on store {client.store_url}")
    began = time.perf_counter()
    s = step("a", "data")
    client.create_repo("training", "labelled iris rows (sepal/petal sizes, species)")
    client.create_repo("samples", "unlabelled iris rows to classify, one batch per file")
    s.commit = client.put_file(
        "training@master", "/iris-part1.csv", first, message="first 72 labelled iris rows"
    ).id
    with client.start_commit("samples@master", message="4 batches of unlabelled rows") as oc:
        for n, data in enumerate(batches[:4], 1):
            oc.put_file(f"/batch-{n:02}.csv", data)
    s.seconds = time.perf_counter() - began
    out(
        f"(a) repo training: 72 labelled rows in /iris-part1.csv (training@{short(s.commit)}); "
        f"repo samples: 4 files of 6 unlabelled rows (samples@{short(oc.id)}) "
        f"[{s.seconds:.1f} s]"
    )

    began = time.perf_counter()
    s = step("b", "pipelines")
    for name in ("model", "predict"):
        info = one(client.create_pipeline(FILES / f"{name}.yaml"))
        jobs = client.wait_commit(f"{name}@{info.spec_commit}", timeout=TIMEOUT)
        s.jobs += check(jobs, [name])
        out(
            f"(b) created pipeline {name} ({info.spec['transform']['notebook']}, version "
            f"{info.version}, {name}@spec {short(info.spec_commit)}): {job_line(jobs[0])}"
        )
    snapshot("b", began)
    files = ", ".join(f.path for f in client.list_file("model@master"))
    out(
        f"    model v1 ({files}): {model_text('b')}; predict@master holds "
        f"{len(report.predictions['b'])} prediction files [{s.seconds:.1f} s]"
    )

    began = time.perf_counter()
    s = step("c", "more training data")
    s.commit = client.put_file(
        "training@master", "/iris-part2.csv", rest, message="48 more labelled iris rows"
    ).id
    s.jobs = check(
        client.wait_commit(f"training@{s.commit}", timeout=TIMEOUT), ["model", "predict"]
    )
    snapshot("c", began)
    changed = sum(report.predictions["c"].get(p) != b for p, b in report.predictions["b"].items())
    out(
        f"(c) committed 48 more training rows (training@{short(s.commit)}) → retrain, then "
        f"re-predict:\n    {job_line(s.jobs[0])} (model v2: {model_text('c')})\n    "
        f"{job_line(s.jobs[1])}: the model changed, so every datum re-ran; {changed} of "
        f"{len(report.predictions['b'])} prediction files changed [{s.seconds:.1f} s]"
    )

    began = time.perf_counter()
    s = step("d", "one new samples file")
    s.commit = client.put_file(
        "samples@master", "/batch-05.csv", batches[4], message="add batch 5"
    ).id
    s.jobs = check(client.wait_commit(f"samples@{s.commit}", timeout=TIMEOUT), ["predict"])
    snapshot("d", began)
    (j,) = s.jobs
    if (j.processed, j.skipped) != (1, 4):
        raise DemoError(f"expected 1 processed and 4 skipped datums, got {job_line(j)}")
    out(
        f"(d) committed one new samples file /batch-05.csv (samples@{short(s.commit)}) → "
        f"only its datum ran:\n    {job_line(j)} [{s.seconds:.1f} s]"
    )

    began = time.perf_counter()
    s = step("e", "model revert")
    v1 = client.list_commit("model@master")[-1].id
    revert = client.revert("model@master", to=v1)
    s.commit = revert.id
    s.jobs = check(client.wait_commit(f"model@{revert.id}", timeout=TIMEOUT), ["predict"])
    snapshot("e", began)
    same = [p for p, b in report.predictions["b"].items() if report.predictions["e"].get(p) == b]
    out(
        f"(e) reverted model@master to its first commit {short(v1)} (revert commit "
        f"model@{short(revert.id)}, origin {revert.origin}) → inference re-ran on model v1 "
        f"({model_text('e')}):\n    {job_line(s.jobs[0])}\n    {len(same)} of "
        f"{len(report.predictions['b'])} prediction files are byte-identical to (b)'s again "
        f"[{s.seconds:.1f} s]"
    )

    step("f", "lineage")
    head = client.inspect_commit("predict@master")
    report.lineage_file = "/batch-01.predictions.csv"
    report.lineage = lineage(client, f"predict@{head.id}")
    datum = next(d for d in client.list_datum(s.jobs[0].id) if report.lineage_file in d.outputs)
    out(
        f"(f) lineage of predict@{short(head.id)}:{report.lineage_file}, written by datum "
        f"{short(datum.id)} of job {short(datum.job)} from "
        + " and ".join(f"{i.repo}@{short(i.commit)}:{i.path}" for i in datum.inputs)
        + ":"
    )
    for line in lineage_lines(report.lineage):
        out("    " + line)
    _serve_step(client, report, step("g", "serving"), out)
    report.seconds = time.perf_counter() - t0
    out(f"done in {report.seconds:.1f} s. Look around with:")
    url = client.store_url
    local = "://" not in url and Path(url).resolve() == Path(".pipes").resolve()
    cmd = "jupyter pipes" + ("" if local else f" --store {shlex.quote(url)}")
    for hint in (
        "list commit predict@master",
        "inspect commit predict@master",
        "list job",
        f"get file predict@master:{report.lineage_file}",
    ):
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
        req = urllib.request.Request(
            endpoint.url + "/predict",
            json.dumps(SAMPLE).encode(),
            {"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            answer = json.loads(r.read())
        report.served.append({"commit": answer["commit"], "result": answer["result"][0]})
        return report.served[-1]

    def said(a: dict[str, Any]) -> str:
        r, by = a["result"], short(a["commit"])
        return f"{r['predicted']} (p={r['p_' + r['predicted']]:.2f}) from model@{by}"

    try:
        first = ask()
        out(
            f"(g) served model@master over HTTP at {endpoint.url}/predict (serve.ipynb, declared "
            f"in model.yaml): a flower {json.dumps(SAMPLE)} → {said(first)}"
        )
        v2 = report.steps["c"].jobs[0].output_commit
        if v2 is None:
            raise DemoError("step (c)'s model job made no output commit")
        revert = client.revert("model@master", to=v2)
        s.commit = revert.id
        s.jobs = check(client.wait_commit(f"model@{revert.id}", timeout=TIMEOUT), ["predict"])
        deadline = time.monotonic() + 60
        while endpoint.commit != revert.id and time.monotonic() < deadline:
            time.sleep(0.05)
        second = ask()
        out(
            f"    reverted model@master to model v2 (revert commit model@{short(revert.id)}); "
            f"predictions recomputed, and the endpoint swapped on its own: the same flower → "
            f"{said(second)}"
        )
    finally:
        endpoint.stop()
    counts: dict[str | None, int] = {}
    for w in client.serving_log(endpoint.name):
        counts[w.commit] = counts.get(w.commit, 0) + w.requests
    s.seconds = time.perf_counter() - began
    by = ", ".join(f"{n} request(s) by model@{short(c)}" for c, n in counts.items())
    out(f"    the serving log says which model answered: {by} [{s.seconds:.1f} s]")
