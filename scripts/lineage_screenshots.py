"""Screenshots of the lineage views (#14) for the docs: docs/images/lineage.png, explain.png and
metrics.png.

    python scripts/lineage_screenshots.py [--store DIR] [--out docs/images]

Runs the iris demo into a fresh store (unless --store names one that has it), starts JupyterLab
on it, and drives Chromium (/usr/bin/chromium, Playwright) through the extension's commands:
the lineage of a prediction, and "why did it change" between the predictions before and after
the model revert, and the model's metrics with "why?" on the newest commit. Needs the built
labextension (see docs/sidebar.md).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("JUPYTER_PIPES_CHROMIUM", "/usr/bin/chromium")
PRED = "/batch-01.predictions.csv"


def demo_store(path: Path) -> dict[str, str]:
    from jupyter_pipes import Client
    from jupyter_pipes.demos import run_demo

    client = Client(str(path))
    try:
        if "predict" not in {r.name for r in client.list_repo()}:
            report = run_demo(client, out=print)
            steps = report.steps
            before = steps["d"].jobs[0].output_commit
            after = steps["e"].jobs[0].output_commit
        else:  # an existing demo store: the predictions around the first revert
            commits = list(reversed(client.list_commit("predict@master")))
            before, after = commits[2].id, commits[3].id  # steps (d) and (e)
        assert before and after
        return {"before": before, "after": after}
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", help="a store with the demo (default: a new one)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipes-shots-"))
    store = Path(args.store) if args.store else work / "store"
    ids = demo_store(store)
    token, port = secrets.token_hex(8), free_port()
    settings = work / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"checkForUpdates": false, "fetchNews": "false"}'
    )
    env = {
        **os.environ,
        "JUPYTER_PIPES_STORE": str(store),
        "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
    }
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={work}",
           f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", "--LabApp.news_url=None",
           "--LabApp.expose_app_in_browser=True", "--PipesApp.run_controller=False"]  # fmt: skip
    with open(work / "lab.log", "wb") as log:  # the server keeps its own handle
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    base = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.3)
        shoot(base, token, ids, Path(args.out))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def shoot(base: str, token: str, ids: dict[str, str], out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1500, "height": 980})
        page.set_default_timeout(30000)
        page.goto(f"{base}lab/workspaces/shots?reset&token={token}")
        page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=90000)
        page.wait_for_function(
            "() => window.jupyterapp?.commands.hasCommand('jupyter-pipes:show-lineage')"
        )
        page.evaluate("() => window.jupyterapp.commands.execute('jupyter-pipes:open')")
        page.evaluate(
            "a => window.jupyterapp.commands.execute('jupyter-pipes:show-lineage', a)",
            {"repo": "predict", "commit": ids["before"], "path": PRED},
        )
        page.wait_for_selector(".jp-PipesLineage-step")
        page.locator(".jp-PipesLineage-cell .jp-Pipes-link").first.click()
        time.sleep(1)
        page.screenshot(path=str(out / "lineage.png"))
        print("lineage.png", flush=True)
        page.evaluate(  # not awaited: the command waits for its dialog
            "a => { window.jupyterapp.commands.execute('jupyter-pipes:compare-file', a); }",
            {"repo": "predict", "commit": ids["after"], "path": PRED},
        )
        field = page.locator(".jp-Dialog input").first
        field.fill(ids["before"])
        page.locator(".jp-Dialog-button.jp-mod-accept").click()
        page.wait_for_selector(".jp-PipesExplain-difference")
        page.wait_for_selector(".jp-PipesExplain-image img", timeout=15000)
        time.sleep(1)
        page.screenshot(path=str(out / "explain.png"))
        print("explain.png", flush=True)
        page.evaluate(
            "a => window.jupyterapp.commands.execute('jupyter-pipes:show-metrics', a)",
            {"repo": "model", "branch": "master"},
        )
        page.wait_for_selector(".jp-PipesMetrics-plot circle >> visible=true")
        page.locator(
            ".jp-PipesMetrics-why >> visible=true"
        ).first.click()  # the newest commit against the one before
        page.wait_for_selector(".jp-PipesMetrics-diff tr[data-metric] >> visible=true")
        page.wait_for_selector(".jp-PipesExplain-difference >> visible=true")
        time.sleep(1)
        page.screenshot(path=str(out / "metrics.png"))
        browser.close()
    print(f"wrote lineage.png, explain.png and metrics.png in {out}")


if __name__ == "__main__":
    main()
