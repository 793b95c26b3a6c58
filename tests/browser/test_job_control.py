"""Job control from the sidebar (#12, #15), in Chromium against a real ``jupyter lab`` whose
controller runs the jobs: a running job's detail offers "Stop job…", which asks first (a
cancel changes nothing) and then stops it; the row and the store both say ``killed``. A
running datum is listed and restarted from its row; a failed job is rerun from its menu on
its own input commits. A focused row keeps the keyboard while the sidebar updates live.

The module has its own server (the slow pipeline it adds would change the DAG the other
modules' tests read)."""

from __future__ import annotations

import time
from typing import Any

import pytest

PANEL = "#jupyter-pipes-panel"

SLOW: dict[str, Any] = {
    "pipeline": {"name": "slow"},
    "description": "Runs until stopped.",
    "input": {"pfs": {"repo": "training", "glob": "/"}},
    "transform": {"cmd": ["bash", "-c", "sleep 600"]},
}


def running_job(client: Any, pipeline: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [j for j in client.list_job(pipeline) if j.state == "running"]
        if jobs:
            return jobs[0]
        time.sleep(0.3)
    pytest.fail(f"no job of {pipeline} ran within {timeout} s: {client.list_job(pipeline)}")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_stop_a_running_job_from_its_detail(page: Any, client: Any, theme: str) -> None:
    if not any(p.name == "slow" for p in client.list_pipeline()):
        client.create_pipeline(SLOW)
    else:  # the second theme: a new job of the same pipeline
        client.put_file("training@master", f"/more-{theme}.csv", b"9,z\n", message=theme)
    job = running_job(client, "slow")
    panel = page.locator(PANEL)
    panel.locator(".jp-Pipes-pipelineList button", has_text="slow").click()
    jobs = panel.locator("[data-section=jobs]")
    row = jobs.locator(f".jp-Pipes-job[data-job='{job.id}']")
    row.wait_for()
    row.locator(".jp-Pipes-jobMain").click()
    stop = jobs.get_by_role("button", name=f"Stop job {job.id[:8]} of slow")
    stop.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("nothing is committed").wait_for()
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
    dialog.wait_for(state="detached")
    assert client.inspect_job(job.id).state == "running"  # a cancel stops nothing
    stop.click()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.wait_for(state="detached")
    jobs.locator(f".jp-Pipes-job[data-job='{job.id}'][data-state=killed]").wait_for()
    assert client.inspect_job(job.id).state == "killed"
    stop.wait_for(state="detached")  # a stopped job offers no stop
    # its row's menu: Stop Job… is there, and disabled now
    row.locator(".jp-Pipes-jobMain").click(button="right")
    item = page.locator(".lm-Menu-item", has_text="Stop Job…").last
    item.wait_for()
    assert item.get_attribute("aria-disabled") == "true"
    page.keyboard.press("Escape")


def hanging(name: str, repo: str, marks: str) -> dict[str, Any]:
    """A pipeline whose datums each hang on their first run only (until restarted)."""
    script = (
        f'm="{marks}/$PACH_DATUM_ID"; if [ ! -e "$m" ]; then touch "$m"; sleep 600; fi; '
        f'cp -r "${repo}" "$out"/'
    )
    return {
        "pipeline": {"name": name},
        "input": {"pfs": {"repo": repo, "glob": "/*"}},
        "transform": {"cmd": ["bash", "-c", script]},
        "datum_tries": 1,
    }


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_restart_a_running_datum_from_its_row(
    page: Any, client: Any, theme: str, tmp_path: Any
) -> None:
    repo = f"hangin{theme}"
    client.create_repo(repo)
    client.put_file(f"{repo}@master", "/a.txt", b"a")
    marks = tmp_path / "marks"
    marks.mkdir()
    info = client.create_pipeline(hanging(f"hang-{theme}", repo, str(marks)))
    job = running_job(client, info.name)
    panel = page.locator(PANEL)
    panel.locator(".jp-Pipes-pipelineList button", has_text=info.name).click()
    jobs = panel.locator("[data-section=jobs]")
    jobs.locator(f".jp-Pipes-job[data-job='{job.id}'] .jp-Pipes-jobMain").click()
    # the datum runs: its row says so (no result yet), with its start and worker
    datum = jobs.locator(".jp-Pipes-datum[data-state=running]")
    datum.wait_for()
    assert "127.0.0.1" in datum.locator(".jp-Pipes-datumSince").inner_text()
    (listed,) = [d for d in client.list_datum(job.id) if d.state == "running"]
    assert datum.get_attribute("data-datum") == listed.id
    datum.get_by_role("button", name=f"Restart datum {listed.id[:8]}").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("starts again from the beginning").wait_for()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.wait_for(state="detached")
    # restarted, its second run finishes: the job succeeds and the datum row says success
    jobs.locator(f".jp-Pipes-job[data-job='{job.id}'][data-state=success]").wait_for(timeout=120000)
    jobs.locator(f".jp-Pipes-datum[data-datum='{listed.id}'][data-state=success]").wait_for()
    assert client.inspect_job(job.id).state == "success"
    assert (client.list_datum(job.id)[0].tries, client.list_datum(job.id)[0].state) == (
        1,
        "success",
    )
    # the menu's Restart Datum… applies to running datums only: disabled now
    jobs.locator(f".jp-Pipes-datum[data-datum='{listed.id}']").click(button="right")
    item = page.locator(".lm-Menu-item", has_text="Restart Datum…").last
    item.wait_for()
    assert item.get_attribute("aria-disabled") == "true"
    page.keyboard.press("Escape")


FLAKY = (
    'if [ ! -e "{marks}/failed" ]; then touch "{marks}/failed"; echo flaky >&2; exit 1; fi; '
    'cp -r "${repo}" "$out"/'
)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_rerun_a_failed_job_from_its_menu(
    page: Any, client: Any, theme: str, tmp_path: Any
) -> None:
    repo = f"flakyin{theme}"
    client.create_repo(repo)
    first = client.put_file(f"{repo}@master", "/a.txt", b"one")
    marks = tmp_path / "marks"
    marks.mkdir()
    spec = {
        "pipeline": {"name": f"flaky-{theme}"},
        "input": {"pfs": {"repo": repo, "glob": "/"}},
        "transform": {"cmd": ["bash", "-c", FLAKY.format(marks=marks, repo=repo)]},
        "datum_tries": 1,
    }
    info = client.create_pipeline(spec)
    deadline = time.monotonic() + 120
    while not (failed := client.inspect_job(info.last_job)).done:
        assert time.monotonic() < deadline, failed
        time.sleep(0.3)
    assert failed.state == "failure"
    client.put_file(f"{repo}@master", "/b.txt", b"two")  # newer input: not what a rerun reads
    panel = page.locator(PANEL)
    panel.locator(".jp-Pipes-pipelineList button", has_text=info.name).click()
    jobs = panel.locator("[data-section=jobs]")
    row = jobs.locator(f".jp-Pipes-job[data-job='{failed.id}'][data-state=failure]")
    row.wait_for()
    row.locator(".jp-Pipes-jobMain").click(button="right")
    page.locator(".lm-Menu-item", has_text="Rerun Job…").last.click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("same input commits").wait_for()
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()  # a cancel reruns nothing
    dialog.wait_for(state="detached")
    before = {j.id for j in client.list_job(info.name)}
    row.locator(".jp-Pipes-jobMain").click()
    jobs.get_by_role("button", name=f"Rerun job {failed.id[:8]} of {info.name}").click()
    dialog.get_by_label("Run", exact=True).select_option(label="every datum")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    dialog.wait_for(state="detached")
    deadline = time.monotonic() + 120
    while not (new := {j.id for j in client.list_job(info.name)} - before):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    (rerun,) = [client.inspect_job(j) for j in new]
    assert [i.id for i in rerun.inputs] == [first.id]  # the failed job's input, not the head
    # the new job is selected and runs on the first commit, not the newer head
    jobs.locator(f".jp-Pipes-job[data-job='{rerun.id}'][data-state=success]").wait_for(
        timeout=120000
    )
    assert client.inspect_job(rerun.id).state == "success"


# -- keyboard focus across live refreshes -------------------------------------------------------


def select_repo(page: Any, name: str) -> Any:
    panel = page.locator(PANEL)
    panel.locator(f".jp-Pipes-repo[data-repo='{name}'] .jp-Pipes-rowMain").click()
    history = panel.locator("[data-section=history]")
    history.locator(".jp-Pipes-sectionDetail", has_text=f"{name}@master").wait_for()
    history.locator(".jp-Pipes-commit").first.wait_for()
    return history


FOCUSED = "document.activeElement?.closest('.jp-Pipes-commit')?.dataset.commit ?? null"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_changes_made_elsewhere_keep_the_keyboard_on_its_row(
    page: Any, client: Any, theme: str
) -> None:
    panel = page.locator(PANEL)
    history = select_repo(page, "samples")
    head = client.inspect_commit("samples@master")
    row = history.locator(f".jp-Pipes-commit[data-commit='{head.id}'] .jp-Pipes-commitMain")
    row.focus()
    assert page.evaluate(FOCUSED) == head.id
    # another process makes a repo: the repos and the Pipes files panel refresh, and JupyterLab
    # activates the Launcher (this took the focus from the row before #15's focus keeper)
    client.create_repo(f"notes-{theme}")
    panel.locator(f".jp-Pipes-repo[data-repo='notes-{theme}']").wait_for()
    page.wait_for_timeout(500)  # let the refreshes after the event land (not a timing check)
    assert page.evaluate(FOCUSED) == head.id
    # ...a branch of the shown repo
    client.create_branch(f"samples@try-{theme}", head="samples@master")
    chip = f".jp-Pipes-repo[data-repo=samples] .jp-Pipes-chip[data-branch='try-{theme}']"
    panel.locator(chip).wait_for()
    page.wait_for_timeout(500)
    assert page.evaluate(FOCUSED) == head.id
    # ...a commit: the history refreshes (a new head on top) while the row is focused
    new = client.put_file("samples@master", f"/focus-{theme}.csv", b"q\n", message=theme)
    history.locator(f".jp-Pipes-commit[data-commit='{new.id}']").wait_for()
    history.locator(f".jp-Pipes-commit[data-commit='{head.id}'][data-head='0']").wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate(FOCUSED) == head.id
    assert page.evaluate("document.activeElement.classList.contains('jp-Pipes-commitMain')")
    # ...and the keys still work from there: ↑ reaches the new head
    page.keyboard.press("ArrowUp")
    assert page.evaluate(FOCUSED) == new.id
