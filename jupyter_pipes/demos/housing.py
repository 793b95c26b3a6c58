"""The ``housing`` example: a house-price regression, train → model (with plots) → evaluation.

Data is generated here, deterministically (no download): sales with a floor area, rooms, age,
distance to the centre and a garden, priced by a known formula plus noise. Repos ``houses``
(training sales, one CSV per year) and ``holdout`` (sales kept aside) feed pipeline
``price_model`` (``train.ipynb``: a ridge regression, its metrics and two plots), whose output
and ``holdout`` feed ``price_eval`` (``evaluate.ipynb``: holdout error and a predicted-vs-actual
plot). Steps: (a) data, (b) pipelines, (c) a new year of sales retrains and re-evaluates,
(d) a parameter change (a new pipeline version) does it again, (e) the lineage of the metrics.
"""

from __future__ import annotations

import csv
import io
import math
import random
from collections.abc import Callable

from ..client import Client
from .common import DEMO_FILES, DemoReport, Run, job_line, lineage, lineage_lines, short

NAME = "housing"
FILES = DEMO_FILES / NAME
PIPELINES = ("price_eval", "price_model")  # downstream first
REPOS = ("houses", "holdout")
COLUMNS = ("area_m2", "rooms", "age_years", "distance_km", "garden", "price")


def sales(n: int, seed: int) -> bytes:
    """``n`` generated sales as CSV (the same bytes for the same arguments)."""
    rng = random.Random(seed)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for _ in range(n):
        area = rng.uniform(35, 220)
        rooms = max(1, min(8, round(area / 28 + rng.gauss(0, 0.7))))
        age = rng.uniform(0, 80)
        distance = rng.uniform(0.5, 30)
        garden = int(rng.random() < 0.15 + distance / 40)
        price = (
            90_000
            + 2_600 * area
            + 8_000 * rooms
            - 900 * age
            - 38_000 * math.log(distance)
            + 22_000 * garden
            + rng.gauss(0, 22_000)
        )
        w.writerow(
            [
                f"{area:.1f}",
                rooms,
                f"{age:.0f}",
                f"{distance:.2f}",
                garden,
                f"{max(price, 30_000):.0f}",
            ]
        )
    return buf.getvalue().encode()


def run(client: Client, out: Callable[[str], None], fresh: bool) -> DemoReport:
    """Run the housing example on ``client``'s store (see the module docstring)."""
    r = Run(client, out, name=NAME, pipelines=PIPELINES, repos=REPOS, fresh=fresh)
    report = r.report

    def snapshot(key: str) -> str:
        report.predictions[key] = r.files("price_eval@master")
        report.metrics[key] = {
            "train": r.json("price_model@master", "/metrics.json"),
            "holdout": r.json("price_eval@master", "/metrics.json"),
        }
        m = report.metrics[key]["holdout"]
        return (
            f"holdout of {m['rows']} sales: MAE {m['mae']:,.0f}, RMSE {m['rmse']:,.0f}, "
            f"R² {m['r2']:.3f} (model trained on {report.metrics[key]['train']['rows']} "
            f"sales, alpha {report.metrics[key]['train']['alpha']})"
        )

    out(f"jupyter pipes demo --example housing: price regression on store {client.store_url}")
    with r.step("a", "data") as s:
        client.create_repo("houses", "house sales to train on, one CSV per year")
        client.create_repo("holdout", "house sales kept aside to evaluate models on")
        s.commit = client.put_file(
            "houses@master", "/sales-2023.csv", sales(400, 2023), message="400 sales of 2023"
        ).id
        hold = client.put_file(
            "holdout@master", "/holdout.csv", sales(150, 1), message="150 sales kept aside"
        ).id
    out(
        f"(a) repo houses: 400 generated sales in /sales-2023.csv (houses@{short(s.commit)}); "
        f"repo holdout: 150 more (holdout@{short(hold)}) [{s.seconds:.1f} s]"
    )

    with r.step("b", "pipelines") as s:
        for name, expect in (("train", ["price_model"]), ("evaluate", ["price_eval"])):
            info, jobs = r.create(FILES / f"{name}.yaml", expect)
            s.jobs += jobs
            out(
                f"(b) created pipeline {info.name} ({info.spec['transform']['notebook']}, "
                f"version {info.version}): {job_line(jobs[0])}"
            )
        text = snapshot("b")
    model_files = ", ".join(f.path for f in client.list_file("price_model@master"))
    out(f"    price_model@master holds {model_files}\n    {text} [{s.seconds:.1f} s]")

    with r.step("c", "a new year of sales") as s:
        s.commit = client.put_file(
            "houses@master", "/sales-2024.csv", sales(300, 2024), message="300 sales of 2024"
        ).id
        s.jobs = r.wait(f"houses@{s.commit}", ["price_model", "price_eval"])
        text = snapshot("c")
    out(
        f"(c) committed 300 sales of 2024 (houses@{short(s.commit)}) → retrain, re-evaluate:\n"
        f"    {job_line(s.jobs[0])}\n    {job_line(s.jobs[1])}\n    {text} [{s.seconds:.1f} s]"
    )

    with r.step("d", "a parameter change") as s:
        spec = client.inspect_pipeline("price_model").spec
        spec["transform"]["parameters"]["alpha"] = 30.0
        info, s.jobs = r.update(spec, ["price_model", "price_eval"])
        s.commit = info.spec_commit
        text = snapshot("d")
    out(
        f"(d) updated pipeline price_model to alpha 30 (version {info.version}, "
        f"price_model@spec {short(info.spec_commit)}) → retrain, re-evaluate:\n"
        f"    {job_line(s.jobs[0])}\n    {job_line(s.jobs[1])}\n    {text} [{s.seconds:.1f} s]"
    )

    with r.step("e", "lineage"):
        head = client.inspect_commit("price_eval@master")
        report.lineage_file = "/metrics.json"
        report.lineage = lineage(client, f"price_eval@{head.id}")
    out(f"(e) lineage of price_eval@{short(head.id)}:/metrics.json:")
    for line in lineage_lines(report.lineage):
        out("    " + line)
    return r.done(
        [
            "list commit price_model@master",
            "inspect pipeline price_model",
            "get file price_eval@master:/metrics.json",
            "get file price_model@master:/price-vs-area.png -o price-vs-area.png",
        ]
    )
