"""Serving latency, throughput and swap time on the iris model, next to a plain tornado handler.

Run: ``python benchmarks/serving.py [--requests N] [--rounds N] [--swaps N] [--clients N]``.

Side by side in one run, each server in its own process, the client in this one:

* ``ours``: ``jupyter pipes serve model@master --notebook serve.ipynb`` (the demo's serving
  notebook), with the default 4 predict threads and with ``--threads 0`` (predict on the event
  loop, as the plain handler does);
* ``plain``: a minimal tornado app with the same ``load``/``predict`` code on the same pickle,
  read once from a file: no versioning, no log, no envelope beyond ``{"result": ...}``.

Latency: ``--rounds`` x ``--requests`` sequential requests per server on one keep-alive
connection each, the servers taking turns request by request (so a busy neighbour on a shared
machine hits all of them alike); p50 / p99 over every request, client side. Throughput:
``--clients`` threads with one keep-alive connection each, ``--seconds`` per server in five
slices, the servers taking turns; the median slice.
Swap: a new model committed (alternately a retrain and a revert) while a client keeps asking;
the time from the commit's return to the first answer naming it, ``--swaps`` times. Peak RSS
from /proc. Every server runs with one BLAS/OpenMP thread.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from jupyter_pipes import Client
from jupyter_pipes.demos.iris import FILES

ROW = {"sepal_length": 6.0, "sepal_width": 2.7, "petal_length": 5.1, "petal_width": 1.6}
BODY = json.dumps(ROW).encode()
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Every server alike: one BLAS/OpenMP thread (no oversubscription on a small shared machine)."""

PLAIN = r"""
import json, pickle, sys
import pandas as pd
import tornado.ioloop, tornado.web

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
with open(sys.argv[1], "rb") as f:
    model = pickle.load(f)


def predict(request):
    rows = request if isinstance(request, list) else [request]
    probabilities = model.predict_proba(pd.DataFrame(rows, columns=FEATURES))
    return [{"predicted": str(model.classes_[p.argmax()]),
             **{f"p_{n}": round(float(v), 4) for n, v in zip(model.classes_, p)}}
            for p in probabilities]


class Predict(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"result": predict(json.loads(self.request.body))}))


app = tornado.web.Application([(r"/predict", Predict)], log_function=lambda h: None)
app.listen(int(sys.argv[2]), "127.0.0.1")
print("ready", flush=True)
tornado.ioloop.IOLoop.current().start()
"""


def train(c: float) -> bytes:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    iris = load_iris(as_frame=True)
    x = iris.data.set_axis(list(ROW), axis=1)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
    return pickle.dumps(model.fit(x, iris.target_names[iris.target]))


class Server:
    """A server process and a keep-alive connection to it."""

    def __init__(self, name: str, cmd: list[str], port: int | None = None) -> None:
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, env=ENV)  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # ours: "serving ... at http://127.0.0.1:PORT (...)"
        if port is None and " at http://127.0.0.1:" in line:
            port = int(line.split(" at http://127.0.0.1:")[1].split()[0])
        if port is None or not line:
            raise RuntimeError(f"{name} did not start: {line!r}")
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def ask(self, conn: http.client.HTTPConnection | None = None) -> tuple[float, str | None]:
        """(seconds, commit header) of one prediction."""
        conn = conn or self.conn
        t0 = time.perf_counter()
        conn.request("POST", "/predict", body=BODY, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        took = time.perf_counter() - t0
        assert r.status == 200, data
        return took, r.getheader("X-Pipes-Commit")

    def peak_rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(30)


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s)) - 1))]


def throughput(server: Server, clients: int, seconds: float) -> float:
    counts = [0] * clients
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while time.perf_counter() < stop:
            server.ask(conn)
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / seconds


def swaps(client: Client, server: Server, n: int) -> tuple[list[float], list[float]]:
    """Client-side seconds from a head move's return to the first answer naming it, and the
    endpoint's own load+swap seconds (from its events)."""
    first = client.inspect_commit("model@master").id
    retrained = train(0.05)
    seen: list[float] = []
    for i in range(n):
        if i % 2 == 0:
            head = client.put_file("model@master", "/model.pkl", retrained, message="retrain").id
        else:
            head = client.revert("model@master", to=first).id
        moved = time.perf_counter()
        while server.ask()[1] != head:
            pass
        seen.append(time.perf_counter() - moved)
        time.sleep(0.3)
    events = [e.seconds for e in client.service_events("model", limit=n) if e.kind == "swap"]
    return seen, [s for s in events if s is not None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=500, help="sequential requests per round")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--clients", type=int, default=4, help="connections for throughput")
    ap.add_argument("--seconds", type=float, default=5.0, help="per server, for throughput")
    ap.add_argument("--swaps", type=int, default=10)
    args = ap.parse_args()
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="pipes-bench-serving-"))
    store = work / "store"
    model = train(1.0)
    (work / "model.pkl").write_bytes(model)
    (work / "plain.py").write_text(PLAIN)
    client = Client(str(store))
    client.create_repo("model")
    client.put_file("model@master", "/model.pkl", model, message="iris")
    cli = [
        sys.executable,
        "-m",
        "jupyter_pipes.cli",
        "--store",
        str(store),
        "serve",
        "model@master",
        "--notebook",
        str(FILES / "serve.ipynb"),
    ]
    port = _free_port()
    servers = [
        Server("ours (4 predict threads)", [*cli, "--name", "model"]),
        Server("ours (--threads 0)", [*cli, "--name", "model0", "--threads", "0"]),
        Server(
            "plain tornado",
            [sys.executable, str(work / "plain.py"), str(work / "model.pkl"), str(port)],
            port=port,
        ),
    ]
    try:
        for s in servers:  # warm up: imports, first predict
            for _ in range(50):
                s.ask()
        lat: dict[str, list[float]] = {s.name: [] for s in servers}
        for _ in range(args.rounds * args.requests):  # interleaved: noise hits all alike
            for s in servers:
                lat[s.name].append(s.ask()[0])
        slices: dict[str, list[float]] = {s.name: [] for s in servers}
        for _ in range(5):  # 5 slices per server, taking turns; the median slice
            for s in servers:
                slices[s.name].append(throughput(s, args.clients, args.seconds / 5))
        rps = {name: statistics.median(v) for name, v in slices.items()}
        seen, own = swaps(client, servers[0], args.swaps)
        rss = {s.name: s.peak_rss_mib() for s in servers}
    finally:
        for s in servers:
            s.stop()
        client.close()
    load_after = os.getloadavg()
    plain = lat["plain tornado"]
    print(
        f"\nserving benchmark: {args.rounds}x{args.requests} sequential requests per server, "
        f"{args.clients} clients x {args.seconds:.0f} s for throughput, {args.swaps} swaps; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"({os.cpu_count()} CPUs)\n"
    )
    print(
        "| server | p50 | p99 | p50 over plain | requests/s (1 conn) | requests/s "
        f"({args.clients} conns) | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|")
    for s in servers:
        v = lat[s.name]
        over = (statistics.median(v) - statistics.median(plain)) * 1000
        print(
            f"| {s.name} | {statistics.median(v) * 1000:.2f} ms | {pct(v, 0.99) * 1000:.2f} ms "
            f"| {over:+.2f} ms | {len(v) / sum(v):.0f} | {rps[s.name]:.0f} | "
            f"{rss[s.name]:.0f} MiB |"
        )
    print(
        f"\nswap, head move returned -> first answer from the new commit (client side, "
        f"{len(seen)} swaps): median {statistics.median(seen) * 1000:.0f} ms, "
        f"max {max(seen) * 1000:.0f} ms"
    )
    if own:
        print(
            f"swap, endpoint side (head seen -> new model answering): median "
            f"{statistics.median(own) * 1000:.0f} ms, max {max(own) * 1000:.0f} ms"
        )
    print(
        json.dumps(
            {
                "latency_ms": {
                    k: {"p50": statistics.median(v) * 1000, "p99": pct(v, 0.99) * 1000}
                    for k, v in lat.items()
                },
                "rps": rps,
                "swap_s": seen,
                "swap_endpoint_s": own,
                "rss_mib": rss,
                "load": [load_before, load_after],
            }
        )
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
