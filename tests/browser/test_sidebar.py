"""The Pipes sidebar in a real Chromium against a real ``jupyter lab`` with a seeded store.

Each test opens JupyterLab in a fresh workspace. The revert test comes last: it moves
``model@master`` and runs a job.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .conftest import Lab

REPOS = ["model", "predict", "samples", "training"]


def select_repo(page: Any, name: str) -> Any:
    panel = page.locator("#jupyter-pipes-panel")
    panel.locator(f".jp-Pipes-repo[data-repo={name}] .jp-Pipes-rowMain").click()
    history = panel.locator("[data-section=history]")
    history.locator(".jp-Pipes-sectionDetail", has_text=f"{name}@master").wait_for()
    history.locator(".jp-Pipes-commit").first.wait_for()
    return history


def test_the_sidebar_opens_and_lists_the_repos(page: Any, client: Any) -> None:
    panel = page.locator("#jupyter-pipes-panel")
    repos = panel.locator(".jp-Pipes-repo")
    repos.first.wait_for()
    assert repos.evaluate_all("rs => rs.map(r => r.dataset.repo)") == REPOS
    training = panel.locator(".jp-Pipes-repo[data-repo=training]")
    assert "more training rows" in training.inner_text()  # its last commit
    assert training.get_by_role("button", name="History of training@master").is_visible()
    model = panel.locator(".jp-Pipes-repo[data-repo=model]")
    # a pipeline's internal spec branch is listed only on request
    assert model.locator(".jp-Pipes-chip").all_inner_texts() == ["master"]
    panel.get_by_role("checkbox", name="spec branches").check()
    model.locator(".jp-Pipes-chip", has_text="spec").wait_for()
    assert model.locator(".jp-Pipes-chip").all_inner_texts() == ["master", "spec"]
    training = panel.locator(".jp-Pipes-repo[data-repo=training]")
    assert training.locator(".jp-Pipes-chip").all_inner_texts() == ["master"]
    panel.get_by_role("checkbox", name="spec branches").uncheck()
    # the live connection is up
    panel.locator(".jp-Pipes-connection.jp-mod-open").wait_for()


def test_the_dag_shows_every_pipeline_with_its_state(page: Any, client: Any) -> None:
    panel = page.locator("#jupyter-pipes-panel")
    for p in client.list_pipeline():
        node = panel.locator(f".jp-Pipes-dagNode[data-node='pipeline:{p.name}']")
        node.wait_for()
        assert node.get_attribute("data-state") == "success" == p.last_job_state
    for repo in ("training", "samples"):
        assert panel.locator(f".jp-Pipes-dagNode[data-node='repo:{repo}']").is_visible()
    # keyboard: a node is a button; Enter selects the pipeline and its jobs show
    panel.locator(".jp-Pipes-dagNode[data-node='pipeline:predict'] button").focus()
    page.keyboard.press("Enter")
    panel.locator("[data-section=jobs] .jp-Pipes-job").first.wait_for()
    assert panel.locator("[data-section=jobs] .jp-Pipes-sectionDetail").inner_text() == "predict"
    # the larger DAG in the main area also shows the output repos
    panel.get_by_role("button", name="Open the DAG in the main area").first.click()
    main = page.locator(".jp-PipesDagPanel")
    main.locator(".jp-Pipes-dagNode[data-node='repo:predict']").wait_for()
    ids = main.locator(".jp-Pipes-dagNode").evaluate_all("ns => ns.map(n => n.dataset.node)")
    assert sorted(ids) == sorted(
        [
            "repo:training",
            "repo:samples",
            "repo:model",
            "repo:predict",
            "pipeline:model",
            "pipeline:predict",
        ]
    )
    # selecting a pipeline shows its jobs
    main.locator(".jp-Pipes-dagNode[data-node='pipeline:model'] button").click()
    jobs = main.locator(".jp-PipesDagPanel-jobs .jp-Pipes-job")
    jobs.first.wait_for()
    assert jobs.count() == len(client.list_job("model"))


def test_a_commit_shows_its_files_its_diff_and_its_provenance(page: Any, client: Any) -> None:
    history = select_repo(page, "training")
    head = client.inspect_commit("training@master")
    row = history.locator(f".jp-Pipes-commit[data-commit='{head.id}']")
    assert "more training rows" in row.inner_text()
    assert row.locator(".jp-Pipes-origin-user").is_visible()
    row.locator(".jp-Pipes-commitMain").click()
    detail = history.locator(".jp-Pipes-commitDetail")
    files = detail.locator(".jp-Pipes-file")
    files.first.wait_for()
    assert files.evaluate_all("fs => fs.map(f => f.dataset.path)") == ["/part1.csv", "/part2.csv"]
    entry = detail.locator(".jp-Pipes-diffEntry[data-path='/part2.csv']")
    assert "added" in entry.inner_text()
    assert detail.locator(".jp-Pipes-diffEntry").count() == 1
    entry.locator("button.jp-Pipes-link").click()
    entry.locator(".jp-Pipes-diff-add", has_text="3,c").wait_for()

    # the file opens read-only in JupyterLab's CSV viewer, from the pipes: drive
    detail.get_by_role("button", name="Open /part2.csv").click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="part2.csv")
    tab.wait_for()
    page.locator(".jp-CSVViewer").last.wait_for()

    # provenance: a model commit links to the training commit it came from
    history = select_repo(page, "model")
    history.locator(".jp-Pipes-commit .jp-Pipes-commitMain").first.click()
    link = history.locator(
        ".jp-Pipes-commitDetail [aria-label=Provenance] button", has_text="training@"
    )
    link.click()
    page.locator(
        "#jupyter-pipes-panel [data-section=history] .jp-Pipes-sectionDetail",
        has_text="training@master",
    ).wait_for()
    page.locator(f"#jupyter-pipes-panel .jp-Pipes-commitDetail[data-commit='{head.id}']").wait_for()


def test_an_executed_notebook_opens_in_a_tab(page: Any, client: Any) -> None:
    panel = page.locator("#jupyter-pipes-panel")
    panel.locator(".jp-Pipes-dagNode[data-node='pipeline:predict'] button").click()
    jobs = panel.locator("[data-section=jobs] .jp-Pipes-job")
    jobs.first.wait_for()
    newest = client.list_job("predict")[0]
    assert jobs.first.get_attribute("data-job") == newest.id
    assert f"{newest.processed} processed" in jobs.first.inner_text()
    assert jobs.first.locator("[role=progressbar]").get_attribute("aria-valuenow") == str(
        newest.total
    )
    jobs.first.locator(".jp-Pipes-jobMain").click()
    datums = panel.locator(".jp-Pipes-datum")
    datums.first.wait_for()
    datums.first.get_by_role("button", name=re.compile("Open the executed notebook")).click()
    tab = page.locator(
        ".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=re.compile(r"predict-\w+\.ipynb")
    )
    tab.wait_for()
    notebook = page.locator(".jp-NotebookPanel:visible")
    notebook.locator(".jp-OutputArea-output", has_text="predicted with a model of").wait_for()
    assert notebook.locator(".jp-mod-readOnly, :text('read-only')").count() >= 1
    # trusted (its outputs are the pipeline's), kernel-less, saved when its job ran
    state = page.evaluate(
        """() => {
          const w = window.jupyterapp.shell.currentWidget;
          const cells = Array.from(w.content.model.cells);
          return {
            trusted: cells.filter(c => c.type === 'code').map(c => c.trusted),
            kernel: w.sessionContext.session?.kernel ?? null,
            modified: w.context.contentsModel.last_modified,
            caption: w.title.caption
          };
        }"""
    )
    assert state["trusted"] and all(state["trusted"]), state
    assert state["kernel"] is None, state
    assert state["modified"].startswith(newest.finished.isoformat()[:16]), state
    assert "1970" not in state["caption"] and "1/1/70" not in state["caption"], state
    assert not notebook.get_by_text("rerun this cell").count()
    # the datum's log opens in a tab of the main area
    datums.first.get_by_role("button", name=re.compile("Show the log")).click()
    log = page.locator(".jp-PipesLogPanel")
    log.locator(".jp-Pipes-logText", has_text="predicted with a model of").wait_for()
    log.get_by_text("the job has ended").wait_for()


def test_create_a_repo_and_drop_files_on_it(page: Any, client: Any) -> None:
    panel = page.locator("#jupyter-pipes-panel")
    panel.get_by_role("button", name="New repo").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_label("Name", exact=True).fill("uploads")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    repo = panel.locator(".jp-Pipes-repo[data-repo=uploads]")
    repo.wait_for()
    page.evaluate(
        """() => {
          const dt = new DataTransfer();
          dt.items.add(new File(['a,b\\n1,2\\n'], 'one.csv', { type: 'text/csv' }));
          dt.items.add(new File(['hello\\n'], 'two.txt', { type: 'text/plain' }));
          const target = document.querySelector('.jp-Pipes-repo[data-repo=uploads]');
          for (const type of ['dragenter', 'dragover', 'drop']) {
            const init = { dataTransfer: dt, bubbles: true, cancelable: true };
            target.dispatchEvent(new DragEvent(type, init));
          }
        }"""
    )
    # the upload asks for a message first (one commit per file, each with the file's name)
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_label("Commit message").fill("first rows")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    panel.locator(".jp-Pipes-upload", has_text="Uploaded 2 files").wait_for()
    commits = client.list_commit("uploads@master")
    assert [c.message for c in commits] == [
        "first rows (two.txt)",
        "first rows (one.csv)",
    ]  # one commit per file
    assert client.get_file("uploads@master", "/one.csv") == b"a,b\n1,2\n"
    history = panel.locator("[data-section=history]")
    history.locator(f".jp-Pipes-commit[data-commit='{commits[0].id}']").wait_for()


def test_a_pipelines_output_branch_takes_no_upload_or_drop(page: Any, client: Any) -> None:
    """Output branches belong to their pipeline (the server refuses a user commit there): the
    sidebar's upload is disabled with a tooltip naming the pipeline, and a drop does
    nothing; a user repo still takes both."""
    panel = page.locator("#jupyter-pipes-panel")
    model = panel.locator(".jp-Pipes-repo[data-repo=model]")
    model.wait_for()
    upload = model.locator(".jp-Pipes-iconButton").first
    assert upload.is_disabled()
    assert "written only by pipeline model" in (upload.get_attribute("title") or "")
    training = panel.locator(".jp-Pipes-repo[data-repo=training]")
    assert training.locator(".jp-Pipes-iconButton").first.is_enabled()
    before = client.inspect_commit("model@master").id
    dropped = page.evaluate(
        """() => {
          const dt = new DataTransfer();
          dt.items.add(new File(['x\\n'], 'x.csv', { type: 'text/csv' }));
          const target = document.querySelector('.jp-Pipes-repo[data-repo=model]');
          const init = { dataTransfer: dt, bubbles: true, cancelable: true };
          // a drop target cancels dragover; a refused one leaves it (the browser: no drop)
          return target.dispatchEvent(new DragEvent('dragover', init));
        }"""
    )
    assert dropped is True  # not cancelled: no drop offered
    assert page.locator(".jp-Dialog").count() == 0
    assert client.inspect_commit("model@master").id == before


def test_revert_the_model_end_to_end(page: Any, client: Any, lab: Lab) -> None:
    model_commits = client.list_commit("model@master")
    assert len(model_commits) == 2
    head, older = model_commits
    predict_head = client.inspect_commit("predict@master").id
    history = select_repo(page, "model")

    # revert to the older model commit: the dialog names the branch and what re-runs
    row = history.locator(f".jp-Pipes-commit[data-commit='{older.id}']")
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/downstream" in r.url else None)
    row.get_by_role("button", name=re.compile("Revert model@master")).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Pipes-revertBranch", has_text="model@master").wait_for()
    items = dialog.locator(".jp-Pipes-revertPipelines li")
    assert items.evaluate_all("els => els.map(e => e.dataset.pipeline)") == ["predict"]
    # what re-runs is the server's answer for that commit (not worked out in the browser)
    assert any(f"/repos/model/commits/{older.id}/downstream" in u for u in asked), asked
    earlier = lab.api(f"repos/model/commits/{older.id}/downstream")["jobs"]
    for j in earlier:  # the jobs that commit caused when it was made, named with their state
        if j["pipeline"] == "predict":
            assert f"job {j['id'][:8]}, {j['state']}" in items.first.inner_text()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    # the revert commit appears on top of the history; the branch moved (checked in the store)
    top = history.locator(".jp-Pipes-commit").first
    top.locator(".jp-Pipes-origin-revert").wait_for()
    new_head = client.inspect_commit("model@master")
    assert (new_head.origin, new_head.restores, new_head.parent) == ("revert", older.id, head.id)
    assert top.get_attribute("data-commit") == new_head.id

    # the server's controller runs inference; its job appears live in the sidebar
    panel = page.locator("#jupyter-pipes-panel")
    panel.locator(".jp-Pipes-dagNode[data-node='pipeline:predict'] button").click()
    select_repo(page, "predict")
    deadline = time.monotonic() + 120
    while True:
        jobs = [j for j in client.list_job("predict") if any(i.id == new_head.id for i in j.inputs)]
        if jobs and jobs[0].done:
            break
        assert time.monotonic() < deadline, f"the inference job did not finish: {jobs}"
        time.sleep(0.5)
    job = jobs[0]
    assert job.state == "success", job
    panel.locator(
        f"[data-section=jobs] .jp-Pipes-job[data-job='{job.id}'][data-state=success]"
    ).wait_for()
    # ...and the new predictions commit appears in predict's history without a reload
    predictions = client.inspect_commit("predict@master")
    assert predictions.id != predict_head and predictions.id == job.output_commit
    new_row = panel.locator(
        f"[data-section=history] .jp-Pipes-commit[data-commit='{predictions.id}']"
    )
    new_row.wait_for()
    assert (
        panel.locator("[data-section=history] .jp-Pipes-commit").first.get_attribute("data-commit")
        == predictions.id
    )
    assert any(p.repo == "model" and p.id == new_head.id for p in predictions.provenance)
    assert lab.api("dag")["nodes"]
