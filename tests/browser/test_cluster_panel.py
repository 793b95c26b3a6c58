"""The sidebar's Cluster section against the real local Dask cluster of a real ``jupyter lab``
(one worker, ``--PipesApp.n_workers=1``) while a slow job runs: it says no cluster runs before
the first job, then lists the worker and the job's datums in flight (one running, two queued),
the dashboard (or why there is none), and the idle workers once the job is done; it asks the
server only while the section is on screen. The ``page`` fixture fails the test on any console
error or uncaught exception in the page."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from .conftest import Lab

WAIT_MS = 120_000


def gated_spec(gate: Path) -> dict[str, Any]:
    """Each datum waits until ``gate`` exists (the job is as slow as the test wants)."""
    script = f'while [ ! -e "{gate}" ]; do sleep 0.05; done; cp -r "$PFS/slow"/. "$out"/'
    return {
        "pipeline": {"name": "slowcopy"},
        "input": {"pfs": {"repo": "slow", "glob": "/*"}},
        "transform": {"cmd": ["bash", "-c", script]},
    }


def cluster_requests(page: Any) -> list[float]:
    """Times of the page's requests to the cluster route, from now on."""
    seen: list[float] = []
    page.on(
        "request",
        lambda r: seen.append(time.monotonic()) if "/pipes/api/cluster" in r.url else None,
    )
    return seen


def test_cluster_panel_shows_the_worker_and_a_running_job(
    page: Any, client: Any, lab: Lab, tmp_path: Path
) -> None:
    section = page.locator("#jupyter-pipes-panel [data-section=cluster]")
    body = section.locator(".jp-Pipes-cluster")
    body.scroll_into_view_if_needed()
    # nothing ran in this server yet: no cluster, and when one starts
    page.wait_for_selector(".jp-Pipes-cluster[data-state=stopped]")
    message = body.locator(".jp-Pipes-clusterMessage").inner_text()
    assert "No Dask cluster is running" in message
    assert "a local cluster of 1 workers starts when the next job runs" in message
    assert lab.api("cluster")["state"] == "stopped"  # looking started nothing

    # a slow job: the server's controller starts the cluster and runs it
    gate = tmp_path / "gate"
    client.create_repo("slow")
    with client.start_commit("slow@master") as oc:
        for i in range(3):
            oc.put_file(f"/f{i}.txt", f"{i}".encode())
    job = client.create_pipeline(gated_spec(gate)).last_job
    # the new pipeline grows the DAG above and pushes the section off screen, where it asks
    # nothing (by design): bring it back, as a user looking at it would
    page.locator("#jupyter-pipes-panel").get_by_text("slowcopy").first.wait_for(timeout=WAIT_MS)
    body.scroll_into_view_if_needed()
    row = body.locator(f".jp-Pipes-clusterJob[data-job='{job}']")
    row.wait_for(timeout=WAIT_MS)
    page.wait_for_selector(
        f".jp-Pipes-clusterJob[data-job='{job}'][data-running='1'][data-queued='2']",
        timeout=WAIT_MS,
    )
    assert row.inner_text().startswith("slowcopy")
    assert "1 running, 2 queued on 1 worker" in row.inner_text()
    workers = body.locator(".jp-Pipes-clusterWorker")
    assert workers.count() == 1
    worker = workers.first
    assert worker.get_attribute("data-worker") == "0"
    assert worker.get_attribute("title").startswith("tcp://127.0.0.1:")  # loopback only
    text = worker.inner_text()
    assert "1 thread" in text and "no warm kernel" in text
    assert worker.locator(f"[data-job='{job}'][data-running='1']").count() == 1
    assert section.locator("[data-cluster-state=running]").inner_text().startswith("1 worker")
    assert "A local Dask cluster is running: 1 worker, 1 thread" in body.inner_text()

    # Dask's dashboard: a new tab on 127.0.0.1 (this browser is on the server's machine),
    # or, without bokeh, why there is none
    if importlib.util.find_spec("bokeh") is not None:
        link = body.locator("a.jp-Pipes-clusterDashboard")
        assert link.get_attribute("href").startswith("http://127.0.0.1:")
        assert link.get_attribute("target") == "_blank"
        with page.context.expect_page() as opened:
            link.click()
        dashboard = opened.value
        dashboard.wait_for_load_state()
        assert dashboard.url.startswith("http://127.0.0.1:") and "Dask" in dashboard.title()
        dashboard.close()
    else:
        assert "Dashboard: Dask's dashboard needs bokeh" in body.inner_text()

    # while shown and running it refreshes; hidden (another side panel), it asks nothing
    seen = cluster_requests(page)
    page.wait_for_timeout(5000)
    assert len(seen) >= 2, seen
    page.locator('.jp-SideBar [data-id="filebrowser"]').click()
    page.wait_for_selector("#jupyter-pipes-panel", state="hidden")
    page.wait_for_timeout(500)  # a request already under way may still land
    hidden_at = time.monotonic()
    page.wait_for_timeout(5000)
    assert [t for t in seen if t > hidden_at] == []
    page.locator('.jp-SideBar [data-id="jupyter-pipes-panel"]').click()
    body.scroll_into_view_if_needed()

    # the job ends: the worker stays, idle
    gate.touch()
    body.get_by_text("None: the workers are idle.").wait_for(timeout=WAIT_MS)
    assert client.inspect_job(job).state == "success"
    assert body.locator(".jp-Pipes-clusterWorker[data-running='0']").count() == 1
