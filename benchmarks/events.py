"""Live events: how long from a commit to its event in the browser-facing transport.

Run: ``python benchmarks/events.py [--repeat N] [--baseline GITREF]``.

A real ``jupyter server`` with this project's extension (controller off) serves a store; the
benchmark commits through its own :class:`~jupyter_pipes.Client` (as the CLI or a notebook
would: the server learns of it only by polling) and measures, over loopback:

* ``commit → websocket event``: from ``put_file`` returning to the ``commit`` event arriving on
  jupyter_server's event websocket (``/api/events/subscribe``, what JupyterLab's
  ``EventManager`` reads): the poller, the jupyter_events logger (schema validation included),
  the websocket. This is the delay the sidebar sees before it starts refreshing; rendering is
  not included.
* ``commit → SSE event (GITREF)``: with ``--baseline GITREF`` (a commit before the switch, such
  as ``7b7416d``, main just before it; it must know the store's schema version), that commit's
  ``jupyter_pipes`` package (``git archive``) runs a second server on the same store, and the
  same commits are timed to their event on its server-sent events route ``/pipes/api/events``:
  the old transport, side by side in the same run.
* ``emit one job event``: the server-side cost of one ``job`` event (a running job sends one
  per progress step) on a jupyter_events logger with one listener, as with one open socket:
  jsonschema validation and the listener task, in this process, per event.
* ``GET /pipes/api/events/marker``: one small REST round trip (what a browser that regained its
  socket asks), for scale.

Medians and 90th percentiles of ``--repeat`` samples; see docs/events.md.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from jupyter_pipes import Client

COMMIT_SCHEMA = "https://events.jupyter.org/jupyter_pipes/commit/v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Arrivals:
    """Events received by a reader thread, each with its arrival time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.items: list[tuple[float, dict[str, Any]]] = []

    def add(self, event: dict[str, Any]) -> None:
        with self.cond:
            self.items.append((time.perf_counter(), event))
            self.cond.notify_all()

    def wait_for(self, match: Any, timeout: float = 30.0) -> float:
        """The arrival time of the first event ``match(event)`` accepts."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for t, e in self.items:
                    if match(e):
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("the event did not arrive")
                self.cond.wait(left)


def read_sse(port: int, token: str, out: Arrivals, ready: threading.Event) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", "/pipes/api/events", headers={"Authorization": f"token {token}"})
    resp = conn.getresponse()
    ready.set()
    while True:
        line = resp.readline()
        if not line:
            return
        if line.startswith(b"data: "):
            out.add(json.loads(line[6:]))


def read_ws(port: int, token: str, out: Arrivals, ready: threading.Event) -> None:
    from tornado.websocket import websocket_connect

    async def run() -> None:
        url = f"ws://127.0.0.1:{port}/api/events/subscribe?token={token}"
        ws = await websocket_connect(url)
        ready.set()
        while True:
            msg = await ws.read_message()
            if msg is None:
                return
            out.add(json.loads(msg))

    asyncio.run(run())


def quantiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, int(0.9 * len(s)))]


def start_server(store: Path, work: Path, pythonpath: Path | None = None) -> tuple[Any, int, str]:
    """A ``jupyter server`` on ``store`` (controller off); with ``pythonpath``, that package."""
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ, "JUPYTER_PIPES_STORE": str(store)}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}",
            "--PipesApp.run_controller=False",
            "--allow-root",
        ],
        env=env,
        cwd=work,  # `python -m` puts the working directory first on sys.path
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, port, token


def request(port: int, token: str, path: str) -> None:
    """GET ``path`` on the server."""
    headers = {"Authorization": f"token {token}"}
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", None, headers)
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def wait_up(server: Any, port: int, token: str, name: str = "the server") -> None:
    """Wait until the server answers (a loaded machine starts a server slowly)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            request(port, token, "/pipes/api/settings")
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(
                    f"{name} did not start (a baseline older than the store's schema refuses it)"
                ) from None
            time.sleep(0.2)


def export_package(ref: str, into: Path) -> Path:
    """The ``jupyter_pipes`` package of git commit ``ref``, unpacked into ``into``."""
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", ref, "jupyter_pipes"],
        capture_output=True,
        check=True,
    ).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def emit_cost(n: int = 2000) -> list[float]:
    """Seconds per ``job`` event emitted with one listener (batches of 100, in this process)."""
    from jupyter_events import EventLogger

    from jupyter_pipes.server.events import Emitter, register_schemas

    job = {
        "type": "job",
        "id": "j" * 32,
        "pipeline": "train",
        "version": 3,
        "state": "running",
        "reason": "input commit",
        "created": "2026-11-30T18:00:00+00:00",
        "started": "2026-11-30T18:00:01+00:00",
        "finished": None,
        "inputs": [{"repo": "data", "branch": "master", "id": "c" * 32}],
        "spec_commit": "s" * 32,
        "output_commit": None,
        "total": 1000,
        "processed": 10,
        "skipped": 0,
        "failed": 0,
        "error": None,
        "blocked_on": None,
        "global_id": "g" * 32,
        "waiting_on": [],
        "done": False,
        "duration_s": None,
    }

    async def run() -> list[float]:
        logger = EventLogger()
        register_schemas(logger)

        async def listener(logger: EventLogger, schema_id: str, data: dict[str, Any]) -> None:
            pass

        logger.add_listener(listener=listener)
        emitter = Emitter(logger)
        per_event = []
        for _ in range(n // 100):
            t = time.perf_counter()
            for _ in range(100):
                emitter.publish(job)
            await asyncio.sleep(0)  # the listener tasks run
            per_event.append((time.perf_counter() - t) / 100)
        return per_event

    return asyncio.run(run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument(
        "--baseline", help="git commit whose SSE transport to time side by side (e.g. 7b7416d)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipes-events-"))
    store = work / "store"
    with Client(str(store)) as c:
        c.create_repo("data")
    servers = []
    try:
        server, port, token = start_server(store, work)
        servers.append(server)
        old = None
        if args.baseline:
            tree = export_package(args.baseline, work / "baseline")
            old = start_server(store, work, tree)
            servers.append(old[0])
        wait_up(server, port, token)
        ws, sse = Arrivals(), Arrivals()
        readers: list[tuple[Any, int, str, Arrivals]] = [(read_ws, port, token, ws)]
        if old is not None:
            wait_up(*old, name=f"the {args.baseline} server")
            readers.append((read_sse, old[1], old[2], sse))
        for target, p, t, arrivals in readers:
            ready = threading.Event()
            threading.Thread(target=target, args=(p, t, arrivals, ready), daemon=True).start()
            ready.wait(30)
        time.sleep(1.5)  # the pollers' baseline snapshots
        ws_s: list[float] = []
        sse_s: list[float] = []
        rest_s: list[float] = []
        with Client(str(store)) as c:
            for i in range(args.repeat):
                info = c.put_file("data@master", "/n.txt", str(i).encode())
                done = time.perf_counter()
                got = ws.wait_for(
                    lambda e, cid=info.id: (
                        e.get("schema_id") == COMMIT_SCHEMA and e.get("commit") == cid
                    )
                )
                ws_s.append(got - done)
                if old is not None:
                    got = sse.wait_for(
                        lambda e, cid=info.id: e.get("type") == "commit" and e.get("commit") == cid
                    )
                    sse_s.append(got - done)
                t = time.perf_counter()
                request(port, token, "/pipes/api/events/marker")
                rest_s.append(time.perf_counter() - t)
                time.sleep(0.05 + (i % 5) * 0.1)  # commits land at different poll phases
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
    rows = [("commit → websocket event (jupyter_events)", ws_s)]
    if sse_s:
        rows.append((f"commit → SSE event ({args.baseline}, before the switch)", sse_s))
    rows.append(("emit one job event (validation + one listener task)", emit_cost()))
    rows.append(("GET /pipes/api/events/marker (one REST round trip)", rest_s))
    print(f"| what ({args.repeat} samples) | median | p90 |")
    print("|---|---|---|")
    for name, samples in rows:
        med, p90 = quantiles(samples)
        print(f"| {name} | {med * 1000:.2f} ms | {p90 * 1000:.2f} ms |")
    if sse_s:
        ratio = statistics.median(ws_s) / statistics.median(sse_s)
        print(f"\nwebsocket / SSE median ratio: {ratio:.2f}")


if __name__ == "__main__":
    main()
