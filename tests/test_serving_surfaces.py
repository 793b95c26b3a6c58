"""Serving through its surfaces: the CLI as a subprocess, the supervisor of ``serve:`` specs
(child processes, restarted when killed), and ``%pipe serve`` in a real kernel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.pipeline.serving.supervisor import Supervisor

from .test_serving import SERVE_PY, TRAIN_CMD, post, put_model, train_model, wait_for

CLI = [sys.executable, "-m", "jupyter_pipes.cli"]


def spec(notebook: str = "serve.py", **serve: Any) -> dict[str, Any]:
    return {
        "pipeline": {"name": "model"},
        "input": {"pfs": {"repo": "data", "glob": "/"}},
        "transform": {"cmd": TRAIN_CMD},
        "serve": {"notebook": notebook, "log_window": "1s", **serve},
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    (tmp_path / "serve.py").write_text(SERVE_PY)
    yield c
    c.close()


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(store: Client, *args: str, check: bool = True) -> Ran:
    """The CLI in-process (click's runner): its real parsing, errors and rendering."""
    from click.testing import CliRunner

    from jupyter_pipes.cli import cli as root

    r = CliRunner().invoke(root, ["--store", store.store_url, *args], prog_name="jupyter pipes")
    ran = Ran(r.exit_code, r.stdout, r.stderr)
    assert not check or ran.returncode == 0, ran
    return ran


def test_cli_serve_list_inspect_and_graceful_stop(store: Client, tmp_path: Path) -> None:
    store.create_repo("model")
    c1 = put_model(store, 2.0)
    proc = subprocess.Popen(
        [
            *CLI,
            "--store",
            store.store_url,
            "serve",
            "model@master",
            "--notebook",
            str(tmp_path / "serve.py"),
            "--log-window",
            "1s",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("serving model@master as service model at http://127.0.0.1:")
        assert f"(commit {c1[:8]})" in first
        url = first.split(" at ")[1].split()[0]
        assert post(url + "/predict", {"x": 2})[1]["result"] == {"y": 4.0}
        listed = json.loads(cli(store, "list", "service", "--json").stdout)
        assert [(s["name"], s["state"], s["commits"], s["head"]) for s in listed] == [
            ("model", "ready", [c1], c1)
        ]
        table = cli(store, "list", "service").stdout
        assert table.split("\n")[0].split()[:5] == ["NAME", "REF", "STATE", "COMMIT", "HEAD"]
        assert "model@master   ready   " + c1[:8] in table
        now = datetime.now(timezone.utc).isoformat()
        at = json.loads(cli(store, "inspect", "service", "model", "--at", now, "--json").stdout)
        assert [r["commit"] for r in at["live"]] == [c1]
        text = cli(store, "inspect", "service", "model").stdout
        assert f"Answering: {c1}" in text and "Replicas:" in text and "Events:" in text
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "answers (load" in err
    assert cli(store, "list", "service", "--json").stdout.strip() == "[]"
    log = json.loads(cli(store, "inspect", "service", "model", "--log", "--json").stdout)
    assert sum(w["requests"] for w in log) == 1 and log[0]["commit"] == c1
    stopped = json.loads(cli(store, "list", "service", "--all", "--json").stdout)
    assert stopped[0]["replicas"][0]["state"] == "stopped"


def test_cli_errors_are_one_line(store: Client, tmp_path: Path) -> None:
    r = cli(store, "inspect", "service", "nope", check=False)
    assert (r.returncode, r.stderr) == (1, "error: service 'nope' not found\n")
    store.create_repo("model")
    r = cli(store, "serve", "model@master", check=False)
    assert r.returncode == 1
    assert r.stderr == (
        "error: give a serving notebook: 'model' is not a pipeline with serve: in its spec\n"
    )
    r = cli(store, "serve", "model@nobranch", "-n", str(tmp_path / "serve.py"), check=False)
    assert r.returncode == 1 and "branch model@nobranch not found" in r.stderr
    r = cli(store, "inspect", "service", "x", "--at", "yesterday", check=False)
    assert r.returncode == 1 and "invalid time 'yesterday'" in r.stderr
    for cmd in (["serve"], ["list", "service"], ["inspect", "service"]):
        assert "Examples:" in cli(store, *cmd, "--help").stdout


def test_supervisor_keeps_declared_endpoints_running(store: Client, tmp_path: Path) -> None:
    store.create_repo("data")
    store.create_pipeline(spec(), base_dir=tmp_path)
    assert (
        store.get_file(f"model@{store.inspect_pipeline('model').spec_commit}", "/serve.py")
        == SERVE_PY.encode()
    )
    c1 = train_model(store, 2.0)
    sup = Supervisor(store.store, interval=0.2).start()
    try:
        wait_for(lambda: _ready(store, c1), timeout=60)
        first = store.inspect_service("model").replicas[-1]
        assert (first.pipeline, first.definition) == ("model", "serve.py")
        assert store.predict("model", {"x": 3}).result == {"y": 6.0}
        # a killed endpoint is started again
        os.kill(first.pid, signal.SIGKILL)
        wait_for(lambda: _ready(store, c1, not_pid=first.pid), timeout=60)
        assert sup.status()[0]["restarts"] == 1
        dead = next(r for r in store.inspect_service("model").replicas if r.pid == first.pid)
        assert (dead.state, dead.last_error) == ("stopped", "the process exited with status -9")
        # a new serving notebook is swapped in by the running endpoint, no restart
        (tmp_path / "serve2.py").write_text(
            SERVE_PY.replace('"y": w * request["x"]', '"y": w * request["x"] + 100')
        )
        pid = _live(store)[0].pid
        store.update_pipeline(spec("serve2.py"), base_dir=tmp_path)
        wait_for(lambda: store.predict("model", {"x": 3}).result == {"y": 106.0}, timeout=30)
        assert [r.pid for r in _live(store)] == [pid]
        # a new model is swapped in too
        c2 = train_model(store, 10.0)
        wait_for(lambda: store.predict("model", {"x": 3}).commit == c2, timeout=30)
        # a pipeline without serve: stops its endpoint
        store.update_pipeline({k: v for k, v in spec().items() if k != "serve"}, base_dir=tmp_path)
        wait_for(lambda: not _live(store), timeout=60)
    finally:
        sup.stop()
    assert all(c["pid"] is None or not c["running"] for c in sup.status())


def test_supervisor_needs_the_token_variable(
    store: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_repo("data")
    store.create_pipeline(spec(token_env="PIPES_TEST_SERVE_TOKEN"), base_dir=tmp_path)
    c1 = train_model(store, 2.0)
    sup = Supervisor(store.store, interval=0.2)
    monkeypatch.delenv("PIPES_TEST_SERVE_TOKEN", raising=False)
    sup.reconcile()
    (status,) = sup.status()
    assert status["pid"] is None and "PIPES_TEST_SERVE_TOKEN, which is not set" in status["problem"]
    monkeypatch.setenv("PIPES_TEST_SERVE_TOKEN", "tok")
    sup.start()
    try:
        wait_for(lambda: _ready(store, c1), timeout=60)
        url = _live(store)[0].url
        assert post(url + "/predict", {"x": 1})[0] == 401
        # the Client finds the token through the pipeline's serve.token_env
        assert store.predict("model", {"x": 1}).result == {"y": 2.0}
    finally:
        sup.stop()


def _live(store: Client) -> list[Any]:
    try:
        info = store.inspect_service("model")
    except Exception:
        return []
    return [r for r in info.replicas if r.state not in ("stopped", "lost")]


def _ready(store: Client, commit: str, not_pid: int | None = None) -> bool:
    return any(r.state == "ready" and r.commit == commit and r.pid != not_pid for r in _live(store))


@pytest.mark.slow
def test_pipe_serve_magic_in_a_kernel(store: Client, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    store.create_repo("model")
    c1 = put_model(store, 2.0)
    store.close()  # the kernel opens the store itself
    cells = [
        "%load_ext jupyter_pipes",
        f"%pipe --store {store.store_url}",
        f"ep = %pipe serve model@master --notebook {tmp_path / 'serve.py'}",
        "import json, urllib.request\n"
        "req = urllib.request.Request(ep.url + '/predict', b'{\"x\": 5}',"
        " {'Content-Type': 'application/json'})\n"
        "print(json.loads(urllib.request.urlopen(req).read()))",
        "%pipe list service",
        "%pipe serve --stop",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    texts = [
        "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        for cell in nb.cells
    ]
    assert texts[2].startswith("serving model@master as service model at http://127.0.0.1:")
    assert f"(commit {c1[:8]})" in texts[2]
    assert f"'commit': '{c1}'" in texts[3] and "'result': {'y': 10.0}" in texts[3]
    assert "model@master" in texts[4] and "ready" in texts[4]
    assert texts[5] == "stopped service model\n"


def test_an_in_process_endpoint_flushes_its_log_at_exit(store: Client, tmp_path: Path) -> None:
    store.create_repo("model")
    c1 = put_model(store, 2.0)
    code = (
        "import urllib.request\n"
        "from jupyter_pipes import Client\n"
        f"ep = Client({store.store_url!r}).serve('model@master', {str(tmp_path / 'serve.py')!r})\n"
        "req = urllib.request.Request(ep.url + '/predict', b'{\"x\": 1}',"
        " {'Content-Type': 'application/json'})\n"
        "urllib.request.urlopen(req).read()\n"  # no stop(): the interpreter just exits
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert [(w.commit, w.requests) for w in store.serving_log("model")] == [(c1, 1)]
    assert store.list_service(all=True)[0].replicas[0].state == "stopped"
