"""Fixtures of the sidebar's browser tests: a seeded store, a real ``jupyter lab`` on it, and
Debian's Chromium driven by Playwright.

The store holds a small train → predict DAG: repos ``training`` and ``samples``; pipeline
``model`` (a ``cmd`` transform: counts the training rows) and pipeline ``predict`` (a notebook:
one datum per samples file crossed with the model), with two model versions, so a revert has
something to go back to. Seeding runs the jobs here (one Dask cluster); then the server's own
controller runs whatever the tests trigger.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

CHROMIUM = (
    os.environ.get("JUPYTER_PIPES_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 90.0

PREDICT_CODE = (
    "import json, pathlib\n"
    "rows = json.loads((pathlib.Path(model) / 'model.json').read_text())['rows']\n"
    "for f in sorted(pathlib.Path(samples).iterdir()):\n"
    "    if 'boom' in f.read_text():\n"
    "        raise ValueError(f'cannot label {f.name}: it holds a bad sample')\n"
    "    n = len(f.read_text().splitlines())\n"
    "    text = f'{f.name}: {n} samples, model of {rows} rows\\n'\n"
    "    (pathlib.Path(out) / (f.stem + '.pred')).write_text(text)\n"
    "print('predicted with a model of', rows, 'rows')"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: runs the JupyterLab sidebar in Chromium")


def _missing() -> str | None:
    """Why the browser tests cannot run here, or ``None``."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set JUPYTER_PIPES_CHROMIUM)"
        )
    if not (Path(__file__).parents[2] / "jupyter_pipes" / "labextension" / "package.json").exists():
        return "the labextension is not built (cd labextension && npm run build:prod)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = None
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            reason = reason or _missing()
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


# -- the store -----------------------------------------------------------------------------------


def write_predict_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# Predict\nOne datum per samples file, with the current model."
        ),
        nbformat.v4.new_code_cell(
            "samples = ''\nmodel = ''\nout = ''", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell(PREDICT_CODE),
    ]
    nbformat.write(nb, path)
    return path


MODEL_SPEC: dict[str, Any] = {
    "pipeline": {"name": "model"},
    "description": "Count the training rows (a cmd transform).",
    "input": {"pfs": {"repo": "training", "glob": "/"}},
    "transform": {
        "cmd": [
            "bash",
            "-c",
            'n=$(cat "$training"/*.csv | wc -l); echo "{\\"rows\\": $n}" > "$out/model.json"',
        ]
    },
}

PREDICT_SPEC: dict[str, Any] = {
    "pipeline": {"name": "predict"},
    "description": "Label each samples file with the current model (a notebook).",
    "input": {
        "cross": [
            {"pfs": {"repo": "samples", "glob": "/*"}},
            {"pfs": {"repo": "model", "glob": "/"}},
        ]
    },
    "transform": {"notebook": "predict.ipynb", "kernel": "python3"},
}


def seed_store(store: Path, notebooks: Path) -> None:
    """The small DAG, with every job run (two model versions, predictions of each)."""
    from jupyter_pipes import Client

    write_predict_notebook(notebooks / "predict.ipynb")
    client = Client(str(store), n_workers=1)
    try:
        client.create_repo("training", "labelled rows")
        client.create_repo("samples", "rows to label, one batch per file")
        client.put_file(
            "training@master", "/part1.csv", b"1,a\n2,b\n", message="first training rows"
        )
        with client.start_commit("samples@master", message="two batches") as oc:
            oc.put_file("/batch-1.csv", b"x\ny\n")
            oc.put_file("/batch-2.csv", b"z\n")
        for spec in (MODEL_SPEC, PREDICT_SPEC):
            info = client.create_pipeline(spec, base_dir=notebooks)
            jobs = client.wait_commit(f"{info.name}@{info.spec_commit}", timeout=120)
            assert [j.state for j in jobs] == ["success"], jobs
        c = client.put_file("training@master", "/part2.csv", b"3,c\n", message="more training rows")
        jobs = client.wait_commit(f"training@{c.id}", timeout=120)
        assert [(j.pipeline, j.state) for j in jobs] == [
            ("model", "success"),
            ("predict", "success"),
        ]
    finally:
        client.close()


# -- the server ----------------------------------------------------------------------------------


@dataclass
class Lab:
    url: str
    token: str
    store: Path
    root: Path
    log: Path

    def lab_url(self, workspace: str) -> str:
        """A fresh workspace (no layout restored from an earlier test)."""
        return f"{self.url}lab/workspaces/{workspace}?reset&token={self.token}"

    def api(self, path: str) -> Any:
        req = urllib.request.Request(
            f"{self.url}pipes/api/{path}", headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _settings_dir(base: Path) -> Path:
    """User settings that keep JupyterLab quiet: no news or update checks, no popups."""
    d = base / "lab-settings"
    notification = d / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"checkForUpdates": False, "fetchNews": "false"}))
    return d


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = tmp_path_factory.mktemp("browser")
    store, root = base / "store", base / "root"
    root.mkdir()
    seed_store(store, root)
    token = secrets.token_hex(16)
    port = _free_port()
    log = base / "jupyter-lab.log"
    env = {
        **os.environ,
        "JUPYTER_PIPES_STORE": str(store),
        "JUPYTERLAB_SETTINGS_DIR": str(_settings_dir(base)),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
    }
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
        f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        "--LabApp.news_url=None", "--LabApp.expose_app_in_browser=True",
        "--PipesApp.n_workers=1",
    ]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    server = Lab(f"http://127.0.0.1:{port}/", token, store, root, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                if server.api("settings")["version"]:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"jupyter lab did not answer in {STARTUP_TIMEOUT} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.3)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def client(lab: Lab) -> Iterator[Any]:
    """A Client on the server's store, to check what the UI did (it runs no jobs)."""
    from jupyter_pipes import Client

    c = Client(str(lab.store))
    yield c
    c.close()


# -- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


# JupyterLab shows one splash element while it starts and while a theme loads, counting the
# showings; when the count drops to 0 it fades the splash and removes it 200 ms later. A splash
# shown again inside those 200 ms does not cancel that removal, so the next fade schedules a
# second one, which throws `NotFoundError: Failed to execute 'removeChild' on 'Node'` (JupyterLab
# 4.6's apputils-extension:splash). A theme switch must therefore start when no splash is up or
# fading, and count as done only when its own splash is gone: what a person sees anyway.
SETTLED = "() => !document.getElementById('jupyterlab-splash')"


def set_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab's theme (``light`` or ``dark``) and wait until it applies and its
    splash screen is gone (see ``SETTLED``)."""
    name = THEMES[theme]
    page.wait_for_function(SETTLED)
    page.evaluate(
        "name => window.jupyterapp.commands.execute('apputils:change-theme', { theme: name })",
        name,
    )
    page.wait_for_function(
        "light => document.body.dataset.jpThemeLight === String(light)", arg=theme == "light"
    )
    page.wait_for_function(SETTLED)


def expect_refusal(page: Any, url_part: str) -> None:
    """Declare that the server will refuse a request whose URL holds ``url_part`` (a test that
    types a bad value on purpose): Chromium logs every 4xx response as a console error, which
    the page cannot prevent; that one line is then not counted as an error of the page."""
    page.pipes_refusals.append(url_part)


def _counts(message: Any, refusals: list[str]) -> bool:
    """Whether a console message is an error of the page (not a declared refusal)."""
    if message.type != "error":
        return False
    url = str((message.location or {}).get("url", ""))
    refused = message.text.startswith(
        "Failed to load resource: the server responded with a status of 4"
    )
    return not (refused and any(part in url for part in refusals))


@pytest.fixture
def theme() -> str:
    """The theme a test runs in (parametrize it with ``light`` and ``dark``)."""
    return "light"


@pytest.fixture
def page(lab: Lab, browser: Any, request: pytest.FixtureRequest, theme: str) -> Iterator[Any]:
    """JupyterLab in a fresh browser context and workspace, in ``theme``, with the Pipes
    sidebar open. At the end, the console must hold no error and the page must have raised
    none, whatever their source (the sidebar, JupyterLab, another extension)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors: list[str] = []
    refusals: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"uncaught: {e}\n{e.stack or ''}"))
    page.on(
        "console",
        lambda m: (
            errors.append(f"console.error: {m.text} ({m.location})")
            if _counts(m, refusals)
            else None
        ),
    )
    page.set_default_timeout(20000)
    page.pipes_errors = errors  # type: ignore[attr-defined]
    page.pipes_refusals = refusals  # type: ignore[attr-defined]
    page.goto(lab.lab_url(request.node.name.replace("[", "-").replace("]", "")))
    # started: the app restored and its first theme loaded (the splash is attached by then; a
    # wait for its absence alone can pass before it was ever shown), then the splash gone
    page.wait_for_function(
        "() => window.jupyterapp?.commands.hasCommand('apputils:change-theme')"
        " && document.body.dataset.jpThemeLight !== undefined",
        timeout=60000,
    )
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_function(SETTLED)
    if theme != "light" or page.evaluate("document.body.dataset.jpThemeLight") != "true":
        set_theme(page, theme)
    panel = page.locator("#jupyter-pipes-panel")
    if not panel.is_visible():
        page.locator('.jp-SideBar [data-id="jupyter-pipes-panel"]').click()
    panel.wait_for()
    yield page
    if theme != "light":
        set_theme(page, "light")  # the theme is a server-side setting: leave it as found
    context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)
