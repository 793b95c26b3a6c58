"""Live events: how long from a commit to its event on the wire, today and with jupyter_events.

Run: ``python benchmarks/events.py [--repeat N]``.

A real ``jupyter server`` with this project's extension (controller off) serves a store; the
benchmark commits through its own :class:`~jupyter_pipes.Client` (as the CLI or a notebook
would: the server learns of it only by polling) and measures, over loopback:

* ``commit → SSE event``: from ``put_file`` returning to the ``commit`` event arriving on
  ``/pipes/api/events`` (today's transport: the poller, the in-process bus, server-sent events).
  This is the delay the sidebar sees before it starts refreshing; rendering is not included.
* ``POST /api/events → websocket``: from sending an event to jupyter_server's own event API to
  its arrival on ``/api/events/subscribe`` (the jupyter_events transport a switch would use
  instead of the bus and SSE; it includes one HTTP request, so it is an upper bound of the
  transport's own cost).
* ``GET /pipes/api/settings``: one small REST round trip, for scale.

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

CONTENTS_SCHEMA = "https://events.jupyter.org/jupyter_server/contents_service/v1"


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipes-events-"))
    store = work / "store"
    with Client(str(store)) as c:
        c.create_repo("data")
    token, port = secrets.token_hex(16), free_port()
    env = {**os.environ, "JUPYTER_PIPES_STORE": str(store)}
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
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    auth = {"Authorization": f"token {token}", "Content-Type": "application/json"}

    def request(path: str, body: dict[str, Any] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data, auth)
        with urllib.request.urlopen(req, timeout=30) as r:
            r.read()

    try:
        deadline = time.monotonic() + 180  # a loaded machine starts a server slowly
        while True:
            try:
                request("/pipes/api/settings")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        sse, ws = Arrivals(), Arrivals()
        for target, arrivals in ((read_sse, sse), (read_ws, ws)):
            ready = threading.Event()
            threading.Thread(
                target=target, args=(port, token, arrivals, ready), daemon=True
            ).start()
            ready.wait(30)
        time.sleep(1.0)  # the poller's baseline snapshot
        commit_s, post_s, rest_s = [], [], []
        with Client(str(store)) as c:
            for i in range(args.repeat):
                info = c.put_file("data@master", "/n.txt", str(i).encode())
                done = time.perf_counter()
                got = sse.wait_for(
                    lambda e, cid=info.id: e.get("type") == "commit" and e.get("commit") == cid
                )
                commit_s.append(got - done)

                path = f"bench-{i}.txt"
                sent = time.perf_counter()
                request(
                    "/api/events",
                    {
                        "schema_id": CONTENTS_SCHEMA,
                        "version": "1",
                        "data": {"action": "get", "path": path},
                    },
                )
                got = ws.wait_for(lambda e, p=path: e.get("path") == p)
                post_s.append(got - sent)

                t = time.perf_counter()
                request("/pipes/api/settings")
                rest_s.append(time.perf_counter() - t)
                time.sleep(0.05 + (i % 5) * 0.1)  # commits land at different poll phases
    finally:
        server.terminate()
        server.wait(timeout=30)
    rows = [
        ("commit → SSE event (today)", commit_s),
        ("POST /api/events → websocket (jupyter_events)", post_s),
        ("GET /pipes/api/settings (one REST round trip)", rest_s),
    ]
    print(f"| what ({args.repeat} samples) | median | p90 |")
    print("|---|---|---|")
    for name, samples in rows:
        med, p90 = quantiles(samples)
        print(f"| {name} | {med * 1000:.1f} ms | {p90 * 1000:.1f} ms |")


if __name__ == "__main__":
    main()
