"""Regenerate the sidebar screenshots (``docs/images/sidebar.png`` and ``sidebar-dark.png``).

Seeds a store with ``jupyter pipes demo`` (iris: training → model → predict, a model revert;
about 40 s), starts ``jupyter lab`` on it, opens the Pipes sidebar in Chromium (Playwright) with
the model's history (the revert commit's detail open under its row) and the DAG showing, and
the larger DAG with the predict jobs in the main area, then saves the picture in JupyterLab's
light theme and again in its dark theme.

    python scripts/screenshot.py                      # seeds a temporary store
    python scripts/screenshot.py --store /tmp/demo    # reuses (or seeds) that store

Needs the demo extra (scikit-learn, pandas, matplotlib), playwright, Chromium
(``/usr/bin/chromium`` or ``--chromium``) and the built labextension.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "images" / "sidebar.png"
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1440, "height": 960}
SIDEBAR_WIDTH = 360


def seed(store: Path) -> None:
    """Run the demo on ``store`` unless it holds the demo already."""
    from jupyter_pipes import Client
    from jupyter_pipes.demos import run_demo

    with Client(str(store)) as client:
        if {r.name for r in client.list_repo()} >= {"training", "samples", "model", "predict"}:
            print(f"reusing the demo in {store}")
            return
        print(f"running jupyter pipes demo on {store} (about 40 s)...")
        run_demo(client, out=lambda line: print("  " + line.splitlines()[0]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def jupyter_lab(store: Path, work: Path) -> Iterator[str]:
    """A ``jupyter lab`` on ``store`` with quiet, throw-away settings; yields the /lab URL."""
    token = secrets.token_hex(16)
    port = free_port()
    settings = work / "settings"
    apputils = settings / "@jupyterlab" / "apputils-extension"
    notification = apputils / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    root = work / "root"
    root.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "JUPYTER_PIPES_STORE": str(store),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
    }
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True",
    ]  # fmt: skip
    log = work / "jupyter-lab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
            req = urllib.request.Request(
                f"{base}pipes/api/settings", headers={"Authorization": f"token {token}"}
            )
            try:
                with urllib.request.urlopen(req, timeout=5):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.3)
        yield f"{base}lab/workspaces/screenshot?reset&token={token}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def shoot(url: str, out: Path, chromium: str, theme: str = "light") -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(30000)
        page.goto(url)
        # wait until started and the splash is gone before switching the theme (a theme
        # switch during the splash's fade makes JupyterLab remove it twice: an uncaught error)
        settled = "() => !document.getElementById('jupyterlab-splash')"
        page.wait_for_function(
            "() => window.jupyterapp?.commands.hasCommand('apputils:change-theme')"
            " && document.body.dataset.jpThemeLight !== undefined",
            timeout=60000,
        )
        page.evaluate("async () => { await window.jupyterapp.restored; }")
        page.wait_for_function(settled)
        page.evaluate(
            "t => window.jupyterapp.commands.execute('apputils:change-theme', { theme: t })",
            THEMES[theme],
        )
        page.wait_for_function(
            "light => document.body.dataset.jpThemeLight === String(light)",
            arg=theme == "light",
        )
        page.wait_for_function(settled)
        panel = page.locator("#jupyter-pipes-panel")
        if not panel.is_visible():
            page.locator('.jp-SideBar [data-id="jupyter-pipes-panel"]').click()
        panel.locator(".jp-Pipes-repo").first.wait_for()
        # widen the sidebar by dragging its split handle
        box = panel.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] + 2, box["y"] + 300
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(box["x"] + SIDEBAR_WIDTH, y, steps=5)
        page.mouse.up()
        # the model's history (its revert commit's detail under its row) and the DAG
        panel.locator(".jp-Pipes-repo[data-repo=model] .jp-Pipes-rowMain").click()
        history = panel.locator("[data-section=history]")
        history.locator(".jp-Pipes-commit").first.wait_for()
        history.locator(".jp-Pipes-commit .jp-Pipes-commitMain").first.click()
        history.locator(".jp-Pipes-commitDetail .jp-Pipes-diffEntry").first.wait_for()
        # the larger DAG in the main area, with the predict pipeline's newest job open
        page.get_by_role("button", name="Open the DAG in the main area").first.click()
        main = page.locator(".jp-PipesDagPanel")
        main.locator(".jp-Pipes-dagNode[data-node='pipeline:predict'] button").click()
        main.locator(".jp-Pipes-job .jp-Pipes-jobMain").first.click()
        main.locator(".jp-Pipes-datum").first.wait_for()
        panel.locator(".jp-Pipes-dagNode[data-node='pipeline:predict']").wait_for()
        page.wait_for_timeout(1500)  # fitView, fonts
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out))
        browser.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to save the PNG")
    parser.add_argument("--store", type=Path, help="store to seed or reuse (default: a temp one)")
    parser.add_argument(
        "--chromium", default=shutil.which("chromium") or "/usr/bin/chromium", help="browser"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pipes-screenshot-") as tmp:
        work = Path(tmp)
        store = args.store or work / "store"
        seed(store)
        dark = args.out.with_name(f"{args.out.stem}-dark{args.out.suffix}")
        with jupyter_lab(store, work) as url:
            shoot(url, args.out, args.chromium, "light")
            shoot(url, dark, args.chromium, "dark")
    print(f"saved {args.out} and {dark}")


if __name__ == "__main__":
    main()
