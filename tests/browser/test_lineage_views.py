"""Lineage in the sidebar (#14), in Chromium against a real ``jupyter lab`` on the seeded store
(training → model → predict, two model versions; see ``conftest.py``):

* from a prediction file in a commit's file list, "lineage" opens what made it: the predict
  and model steps, the exact input files down to the user commit of the training data; the job
  id is a link that selects the job in the sidebar;
* "Compare with…" on it opens "why did it change": the upstream model and the added training
  file, and nothing else;
* the branch timeline answers "which model was live at T";
* metrics: a pipeline that declares a metric file shows its numbers per commit (table and plot,
  in the sidebar under its history too), "why?" explains a change of the numbers, and the
  revert dialog shows the target's metrics next to the head's.

The ``page`` fixture fails a test on any console error or uncaught exception in the page.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from .conftest import Lab

WAIT_MS = 120_000
PANEL = "#jupyter-pipes-panel"

SCORE_SPEC: dict[str, Any] = {
    "pipeline": {"name": "score"},
    "input": {"pfs": {"repo": "evals", "glob": "/"}},
    "transform": {
        "cmd": [
            "bash",
            "-c",
            'n=$(cat "$evals"/*.csv | wc -l); echo "{\\"rows\\": $n, \\"name\\": \\"x\\"}" '
            '> "$out/metrics.json"',
        ]
    },
    "metrics": ["/metrics.json"],
}


def select_repo(page: Any, name: str) -> Any:
    page.locator(f"{PANEL} .jp-Pipes-repo[data-repo={name}] .jp-Pipes-rowMain").click()
    history = page.locator(f"{PANEL} [data-section=history]")
    history.locator(".jp-Pipes-sectionDetail", has_text=f"{name}@master").wait_for()
    history.locator(".jp-Pipes-commit").first.wait_for()
    return history


def run_command(page: Any, command: str, args: dict[str, Any]) -> Any:
    return page.evaluate("([c, a]) => window.jupyterapp.commands.execute(c, a)", [command, args])


def test_a_prediction_leads_to_what_made_it_and_why_it_changed(page: Any, client: Any) -> None:
    head = client.inspect_commit("predict@master")
    (job,) = [j for j in client.list_job("predict") if j.output_commit == head.id]
    history = select_repo(page, "predict")
    history.locator(f".jp-Pipes-commit[data-commit='{head.id}'] .jp-Pipes-commitMain").click()
    detail = history.locator(".jp-Pipes-commitDetail")
    detail.get_by_role("button", name="Show the lineage of /batch-1.pred").click()

    view = page.locator(".jp-PipesLineage")
    view.locator(".jp-PipesLineage-step[data-pipeline=model]").wait_for()
    assert "Lineage of /batch-1.pred" in view.locator("h2").inner_text()
    steps = view.locator(".jp-PipesLineage-step").evaluate_all(
        "ss => ss.map(s => s.dataset.pipeline)"
    )
    assert steps == ["predict", "model"]
    # the exact input files: the sample batch, the model file, the two training files
    paths = set(
        view.locator(".jp-PipesLineage-file").evaluate_all("fs => fs.map(f => f.dataset.path)")
    )
    assert {"/batch-1.pred", "/batch-1.csv", "/model.json", "/part1.csv", "/part2.csv"} <= paths
    part2 = view.locator(".jp-PipesLineage-file[data-path='/part2.csv']")
    assert "user commit" in part2.inner_text() and "more training rows" in part2.inner_text()
    # the predict step names its job and datum: the job is a link into the sidebar
    link = view.locator(f".jp-PipesLineage-step[data-pipeline=predict] [data-job='{job.id}']")
    link.first.click()
    page.locator(f"{PANEL} .jp-Pipes-job.jp-mod-selected[data-job='{job.id}']").wait_for()

    # "why did it change": against the prediction of the first model
    view.get_by_role("button", name="Compare with…").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").first.wait_for()
    older = client.inspect_commit("predict@master^1").id
    field = dialog.locator("input").first
    field.fill(older)
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    why = page.locator(".jp-PipesExplain")
    why.locator(".jp-PipesExplain-difference").first.wait_for()
    kinds = why.locator(".jp-PipesExplain-difference").evaluate_all(
        "ds => ds.map(d => [d.dataset.kind, d.dataset.repo, d.dataset.path])"
    )
    assert ["upstream", "model", ""] in kinds
    assert ["file", "training", "/part2.csv"] in kinds
    assert {k[0] for k in kinds} <= {"result", "upstream", "file"}  # nothing else differs


def test_the_timeline_says_which_model_was_live(page: Any, client: Any) -> None:
    moves = list(reversed(client.branch_log("model@master")))
    first, second = moves[0], moves[1]
    assert (first.cause, second.cause) == ("pipeline", "pipeline")
    run_command(page, "jupyter-pipes:show-timeline", {"repo": "model", "branch": "master"})
    view = page.locator(".jp-PipesTimeline")
    view.wait_for()
    between = first.time + (second.time - first.time) / 2
    local = between.astimezone().replace(tzinfo=None)
    if (second.time - first.time).total_seconds() >= 2:  # the input is to the second
        view.locator("input.jp-PipesTimeline-when").fill(local.strftime("%Y-%m-%dT%H:%M:%S"))
        view.get_by_role("button", name="Show").click()
        answer = view.locator(f".jp-PipesTimeline-answer[data-commit='{first.new}']")
        answer.wait_for()
        assert "pipeline" in answer.inner_text()
    now = datetime.now().strftime("%Y-%m-%dT%H:%M:%S")
    view.locator("input.jp-PipesTimeline-when").fill(now)
    view.get_by_role("button", name="Show").click()
    head = client.inspect_commit("model@master").id
    view.locator(f".jp-PipesTimeline-answer[data-commit='{head}']").wait_for()


def test_metrics_per_commit_why_they_changed_and_in_the_revert_dialog(
    page: Any, client: Any, lab: Lab
) -> None:
    client.create_repo("evals")
    client.put_file("evals@master", "/a.csv", b"1\n2\n", message="two rows")
    info = client.create_pipeline(SCORE_SPEC)
    client.wait_commit(f"score@{info.spec_commit}", timeout=WAIT_MS / 1000)
    c = client.put_file("evals@master", "/b.csv", b"3\n4\n5\n", message="three more")
    client.wait_commit(f"evals@{c.id}", timeout=WAIT_MS / 1000)
    new, old = (m.commit for m in client.list_metrics("score@master"))

    run_command(page, "jupyter-pipes:show-metrics", {"repo": "score", "branch": "master"})
    view = page.locator(".jp-PipesMetrics").last
    table = view.locator("table.jp-PipesMetrics-table")
    table.locator(f"tr[data-commit='{old}']").wait_for()
    assert [h.strip() for h in table.locator("th").all_inner_texts()][:2] == ["commit", "rows"]
    assert table.locator(f"tr[data-commit='{new}'] td").nth(1).inner_text() == "5"
    assert table.locator(f"tr[data-commit='{old}'] td").nth(1).inner_text() == "2"
    assert view.locator("svg.jp-PipesMetrics-plot circle").count() == 2

    # why did it change: the numbers, then the lineage (the added file)
    table.locator(f"tr[data-commit='{new}']").get_by_role("button", name=re.compile("Why")).click()
    why = page.locator(".jp-PipesExplain").last
    changes = why.locator(".jp-PipesMetrics-diff tr[data-metric=rows] td")
    changes.first.wait_for()
    assert changes.all_inner_texts() == ["rows", "2", "5", "+3 (+150.0%)"]
    why.locator(".jp-PipesExplain-difference[data-kind=file][data-path='/b.csv']").wait_for()

    # the sidebar shows them under the history; the revert dialog next to the head's
    history = select_repo(page, "score")
    sidebar = page.locator(f"{PANEL} .jp-PipesMetrics-sidebar")
    sidebar.locator(f"tr[data-commit='{new}']").wait_for()
    row = history.locator(f".jp-Pipes-commit[data-commit='{old}']")
    row.get_by_role("button", name=re.compile("Revert score@master")).click()
    dialog = page.locator(".jp-Dialog")
    compare = dialog.locator(".jp-PipesMetrics-revert tr[data-metric=rows] td")
    compare.first.wait_for()
    assert compare.all_inner_texts() == ["rows", "5", "2"]
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
    assert client.inspect_commit("score@master").id == new  # cancelled: nothing moved
