"""Job control from the sidebar (#12), in Chromium against a real ``jupyter lab`` whose
controller runs the job: a running job's detail offers "Stop job…", which asks first (a
cancel changes nothing) and then stops it; the row and the store both say ``killed``.

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
