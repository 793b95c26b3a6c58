"""Online serving: a real HTTP endpoint on loopback following a branch of a real store.

The model here is tiny (a JSON file of weights) so that a few hundred requests take a few
seconds; ``test_serving_iris`` serves the demo's scikit-learn model with its notebook.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client
from jupyter_pipes.errors import InvalidArgument, NotFound, ServingCodeError
from jupyter_pipes.pipeline import state
from jupyter_pipes.pipeline.serving import Definition, Endpoint
from jupyter_pipes.pipeline.serving import log as serving_log

SERVE_PY = """\
import json, time
from pathlib import Path

def load(model_dir):
    weights = json.loads((Path(model_dir) / "weights.json").read_text())
    if weights.get("broken"):
        raise ValueError("this model is broken on purpose")
    return {"w": weights["w"], "dir": Path(model_dir)}

def predict(model, request):
    if isinstance(request, list):  # the rows of a CSV body
        return [predict(model, row) for row in request]
    time.sleep(request.get("sleep", 0))
    # reading a file of this version's folder at the end proves it was not deleted meanwhile
    w = json.loads((model["dir"] / "weights.json").read_text())["w"]
    assert w == model["w"]
    return {"y": w * request["x"]}
"""


def put_model(client: Client, w: float | None, *, broken: bool = False) -> str:
    body = json.dumps({"w": w, "broken": broken}).encode()
    return client.put_file("model@master", "/weights.json", body, message=f"w={w}").id


TRAIN_CMD = ["bash", "-c", 'f="$PFS/data/weights.json"; [ ! -e "$f" ] || cp "$f" "$out/"']
"""A ``model`` pipeline's transform: its output is the weights put in ``data`` (only a
pipeline's jobs write its output branch, #12)."""


def train_model(client: Client, w: float | None, *, broken: bool = False) -> str:
    """Put weights in ``data@master`` and run the ``model`` pipeline's job: the new head of
    ``model@master``."""
    body = json.dumps({"w": w, "broken": broken}).encode()
    client.put_file("data@master", "/weights.json", body, message=f"w={w}")
    jobs = client.wait_commit("data@master", timeout=120)
    assert all(j.state == "success" for j in jobs), jobs
    head = client.inspect_branch("model@master").head
    assert head is not None
    return head


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    c.create_repo("model")
    (tmp_path / "serve.py").write_text(SERVE_PY)
    yield c
    c.close()


@pytest.fixture
def endpoint(store: Client, tmp_path: Path) -> Iterator[Endpoint]:
    put_model(store, 1.0)
    ep = store.serve("model@master", tmp_path / "serve.py", log_window=0.5, poll_interval=0.05)
    yield ep
    ep.stop()


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """(status, JSON body, X-Pipes-Commit) of a POST."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data, {"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), r.headers.get("X-Pipes-Commit", "")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers.get("X-Pipes-Commit", "")


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@dataclass
class Answer:
    sent: float
    received: float
    status: int
    commit: str
    y: float | None


class Load:
    """``threads`` clients, each sending requests on one keep-alive connection until told to
    stop or ``limit`` requests are sent in all (a bounded loop)."""

    def __init__(self, url: str, threads: int = 4, limit: int = 600) -> None:
        self.host, self.port = url.removeprefix("http://").split(":")
        self.answers: list[list[Answer]] = [[] for _ in range(threads)]
        self.limit = limit
        self.sent = 0
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(threads)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self.done.set()
        for t in self.threads:  # else: the loop runs to its limit
            t.join(120)

    def _run(self, i: int) -> None:
        conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
        try:
            self._loop(i, conn)
        finally:
            conn.close()

    def _loop(self, i: int, conn: http.client.HTTPConnection) -> None:
        while not self.done.is_set():
            with self.lock:
                if self.sent >= self.limit:
                    return
                self.sent += 1
            t0 = time.time()
            try:
                conn.request(
                    "POST",
                    "/predict",
                    body=b'{"x": 2}',
                    headers={"Content-Type": "application/json"},
                )
                r = conn.getresponse()
                body = json.loads(r.read())
                self.answers[i].append(
                    Answer(
                        t0,
                        time.time(),
                        r.status,
                        r.getheader("X-Pipes-Commit", ""),
                        (body.get("result") or {}).get("y"),
                    )
                )
            except (OSError, http.client.HTTPException):
                self.answers[i].append(Answer(t0, time.time(), 0, "", None))
                conn.close()
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=30)
            time.sleep(0.002)  # a bounded loop that leaves the CPU to the endpoint

    def all(self) -> list[Answer]:
        return [a for per in self.answers for a in per]

    def wait_count(self, n: int) -> None:
        wait_for(lambda: len(self.all()) >= n)

    def wait_commit(self, commit: str) -> None:
        wait_for(lambda: any(a.commit == commit for a in self.all()))


def test_retrain_then_revert_under_load_fails_no_request(store: Client, endpoint: Endpoint) -> None:
    c1 = endpoint.commit
    assert c1 == store.inspect_commit("model@master").id
    moves: list[tuple[float, float, str]] = [(0.0, 0.0, c1)]  # (move started, returned, head)
    with Load(endpoint.url, limit=5000) as load:  # bounded below, once the revert answers
        load.wait_count(100)
        began = time.time()
        c2 = put_model(store, 3.0)  # retrain
        moves.append((began, time.time(), c2))
        load.wait_commit(c2)
        load.wait_count(len(load.all()) + 100)
        began = time.time()
        c3 = store.revert("model@master", to=c1).id  # back to the first model: a new commit
        moves.append((began, time.time(), c3))
        load.wait_commit(c3)
        with load.lock:
            load.limit = load.sent + 100
    answers = load.all()
    assert len(answers) == load.sent and 300 < load.sent < 5000
    assert [a for a in answers if a.status != 200] == []  # zero failed requests
    value = {c1: 2.0, c2: 6.0, c3: 2.0}
    for a in answers:
        # the head when the request was sent (or the one before, during a swap), or one that
        # became head while it was in flight
        k = max(i for i, m in enumerate(moves) if m[0] <= a.sent)
        allowed = {moves[k][2], moves[k - 1][2] if k else c1}
        allowed |= {m[2] for m in moves if a.sent <= m[0] <= a.received}
        assert a.commit in allowed, (a, moves)
        assert a.y == value[a.commit]
    order = {c1: 0, c2: 1, c3: 2}
    for per in load.answers:  # each client sees the swaps in order, never an old model again
        seen = [order[a.commit] for a in per]
        assert seen == sorted(seen)
    # the serving log counts every request, per commit
    endpoint.flush()
    windows = store.serving_log("model")
    assert sum(w.requests for w in windows) == len(answers)
    assert sum(w.errors for w in windows) == 0
    for commit in (c1, c2, c3):
        assert sum(w.requests for w in windows if w.commit == commit) == sum(
            a.commit == commit for a in answers
        )
    assert all(w.p50_ms is not None and w.p50_ms <= w.p99_ms <= w.max_ms for w in windows)
    # counted in memory, written per window: a handful of rows, not one per request
    with store.store.meta.read() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(serving_log.windows)).scalar()
    assert rows <= len(windows) + 6 and rows * 10 < len(answers)
    expected = [("start", None), ("load", c1), ("swap", c2), ("swap", c3)]
    wait_for(lambda: len(store.service_events("model")) >= 4)  # written just after each swap
    assert [(e.kind, e.commit) for e in store.service_events("model")][::-1] == expected
    # which model answered at a moment: the commit of an answer received then
    mid = next(a for a in answers if a.commit == c2)
    at = store.which_model("model", mid.received)
    assert c2 in at.commits and {r.commit for r in at.live} <= {c1, c2, c3}


def test_in_flight_requests_finish_on_the_old_model(store: Client, endpoint: Endpoint) -> None:
    c1 = endpoint.commit
    slow: list[Any] = []
    t = threading.Thread(
        target=lambda: slow.append(post(endpoint.url + "/predict", {"x": 1, "sleep": 1.5}))
    )
    t.start()
    wait_for(lambda: endpoint.inflight == 1)
    c2 = put_model(store, 5.0)
    wait_for(lambda: endpoint.commit == c2)
    status, body, commit = post(endpoint.url + "/predict", {"x": 1})
    assert (status, commit, body["result"]) == (200, c2, {"y": 5.0})
    t.join(30)
    ((status, body, commit),) = slow
    assert (status, commit, body["commit"], body["result"]) == (200, c1, c1, {"y": 1.0})


def test_a_model_that_fails_to_load_leaves_the_old_one_serving(
    store: Client, endpoint: Endpoint
) -> None:
    c1 = endpoint.commit
    bad = put_model(store, 2.0, broken=True)
    wait_for(lambda: endpoint.last_error is not None)
    assert endpoint.commit == c1
    status, body, commit = post(endpoint.url + "/predict", {"x": 1})
    assert (status, commit, body["result"]) == (200, c1, {"y": 1.0})
    assert "this model is broken on purpose" in endpoint.last_error
    failed = store.service_events("model", limit=1)[0]
    assert (failed.kind, failed.commit, failed.previous) == ("load_failed", bad, c1)
    assert "ValueError: this model is broken on purpose" in failed.detail
    assert "serve.py, line 7" in failed.detail  # where in the serving code, no traceback
    wait_for(lambda: store.inspect_service("model").last_error is not None)
    info = store.inspect_service("model")
    assert info.commits == (c1,) and info.head == bad and info.state == "ready"
    good = put_model(store, 4.0)
    wait_for(lambda: endpoint.commit == good)
    assert endpoint.last_error is None
    assert post(endpoint.url + "/predict", {"x": 1})[1]["result"] == {"y": 4.0}


def test_a_branch_move_swaps_too(store: Client, endpoint: Endpoint) -> None:
    c1 = endpoint.commit
    c2 = put_model(store, 7.0)
    wait_for(lambda: endpoint.commit == c2)
    store.create_branch("model@master", head=c1)  # moved back by hand: no new commit
    wait_for(lambda: endpoint.commit == c1)
    assert post(endpoint.url + "/predict", {"x": 1})[1:] == (
        {"service": "model", "ref": "model@master", "commit": c1, "result": {"y": 1.0}},
        c1,
    )


def test_the_log_is_pruned_by_age(store: Client) -> None:
    from jupyter_pipes.pipeline.serving.stats import Window

    log = serving_log.ServingLog(store.store.meta)
    now = time.time()
    old, new = Window(now - 40 * 86400, 10.0, "a", requests=3), Window(now - 60, 10.0, "b", 2)
    log.register({"service": "s", "replica": "r", "ref": "model@master", "pipeline": None,
                  "url": "http://x", "hostname": "h", "pid": 1, "definition": "d",
                  "token": False, "state": "ready", "commit": "b", "loaded_at": now,
                  "started_at": now - 50 * 86400, "heartbeat_at": now, "heartbeat_s": 2.0,
                  "stopped_at": None, "requests": 5, "errors": 0, "rate": 0.0,
                  "last_error": None})  # fmt: skip
    log.update_replica("s", "r", [old, new])
    log.event("s", "r", "load", "b")
    log.prune(now - serving_log.RETENTION_S)
    assert [(w.commit, w.requests) for w in log.windows("s")] == [("b", 2)]
    assert [e.kind for e in log.events("s")] == ["load"]  # recent: kept
    assert [r.replica for r in log.replicas("s")] == ["r"]  # alive: kept


def test_predict_errors_and_bad_requests_are_answered_and_counted(
    store: Client, endpoint: Endpoint
) -> None:
    c1 = endpoint.commit
    status, body, commit = post(endpoint.url + "/predict", {"no_x": 1})
    assert (status, body["error"], body["stage"]) == (500, "ServingCodeError", "predict")
    assert commit == c1
    assert body["message"].startswith("predict failed in serve.py, line 17: KeyError")
    assert "Traceback" not in json.dumps(body)
    status, body, _ = post(endpoint.url + "/predict", b"{not json")
    assert (status, body["error"]) == (400, "InvalidArgument")
    endpoint.flush()
    windows = store.serving_log("model")
    assert {w.commit for w in windows} == {c1}
    assert (sum(w.requests for w in windows), sum(w.errors for w in windows)) == (2, 2)
    assert any("KeyError" in (w.error_sample or "") for w in windows)


def test_health_readiness_and_an_empty_branch(store: Client, tmp_path: Path) -> None:
    ep = store.serve("model@master", tmp_path / "serve.py", poll_interval=0.05)
    try:
        assert get(ep.url + "/healthz") == (200, {"status": "ok", "service": "model"})
        status, body = get(ep.url + "/readyz")
        assert (status, body["ready"]) == (503, False)
        assert "model@master has no commits yet" in body["reason"]
        status, body, _ = post(ep.url + "/predict", {"x": 1})
        assert (status, body["error"]) == (503, "Unavailable")
        c1 = put_model(store, 2.0)
        wait_for(lambda: ep.ready)
        assert get(ep.url + "/readyz") == (200, {"ready": True, "service": "model", "commit": c1})
        assert get(ep.url + "/")[1]["commit"] == c1
    finally:
        ep.stop()
    with pytest.raises(urllib.error.URLError):
        get(ep.url + "/healthz")
    (replica,) = store.list_service(all=True)[0].replicas
    assert replica.state == "stopped"
    assert store.list_service() == []


def test_graceful_shutdown_finishes_requests_in_flight(store: Client, endpoint: Endpoint) -> None:
    slow: list[Any] = []
    t = threading.Thread(
        target=lambda: slow.append(post(endpoint.url + "/predict", {"x": 3, "sleep": 1.0}))
    )
    t.start()
    wait_for(lambda: endpoint.inflight == 1)
    endpoint.stop()
    t.join(30)
    assert slow[0][0] == 200 and slow[0][1]["result"] == {"y": 3.0}
    windows = store.serving_log("model")
    assert sum(w.requests for w in windows) == 1  # flushed on the way out


def test_token(store: Client, tmp_path: Path) -> None:
    put_model(store, 2.0)
    ep = store.serve("model@master", tmp_path / "serve.py", token="s3cret")
    try:
        status, body, _ = post(ep.url + "/predict", {"x": 1})
        assert (status, body["error"]) == (401, "Unauthorized")
        assert post(ep.url + "/predict", {"x": 1}, {"Authorization": "token wrong"})[0] == 401
        ok = post(ep.url + "/predict", {"x": 1}, {"Authorization": "Bearer s3cret"})
        assert ok[0] == 200 and ok[1]["result"] == {"y": 2.0}
        assert get(ep.url + "/healthz")[0] == 200  # for load balancers
        assert get(ep.url + "/")[0] == 401
        with pytest.raises(InvalidArgument, match="needs a token"):
            store.predict("model", {"x": 1})
        assert store.predict("model", {"x": 1}, token="s3cret").result == {"y": 2.0}
        assert store.inspect_service("model").replicas[0].token is True
    finally:
        ep.stop()


def test_client_predict_and_csv(store: Client, endpoint: Endpoint) -> None:
    answer = store.predict("model", {"x": 4})
    assert (answer.commit, answer.result, answer.url) == (endpoint.commit, {"y": 4.0}, endpoint.url)
    with pytest.raises(ServingCodeError, match="KeyError"):
        store.predict("model", {"nothing": 1})
    with pytest.raises(NotFound):
        store.predict("nope", {"x": 1})


def test_serving_the_demo_model_with_its_notebook(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    import pickle

    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from jupyter_pipes.demos.iris import FILES

    iris = load_iris(as_frame=True)
    x = iris.data.set_axis(["sepal_length", "sepal_width", "petal_length", "petal_width"], axis=1)
    model = LogisticRegression(max_iter=500).fit(x, iris.target_names[iris.target])
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("model")
        cid = c.put_file("model@master", "/model.pkl", pickle.dumps(model)).id
        ep = c.serve("model@master", FILES / "serve.ipynb", threads=0)
        try:
            row = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
            status, body, commit = post(ep.url + "/predict", row)
            assert (status, commit, body["commit"]) == (200, cid, cid)
            assert body["result"][0]["predicted"] == "setosa"
            csv = (
                b"sepal_length,sepal_width,petal_length,petal_width\n"
                b"5.1,3.5,1.4,0.2\n6.9,3.1,5.4,2.1\n"
            )
            req = urllib.request.Request(
                ep.url + "/predict", csv, {"Content-Type": "text/csv", "Accept": "text/csv"}
            )
            with urllib.request.urlopen(req) as r:
                assert r.headers["X-Pipes-Commit"] == cid
                lines = r.read().decode().splitlines()
            assert lines[0] == "predicted,p_setosa,p_versicolor,p_virginica"
            assert [line.split(",")[0] for line in lines[1:]] == ["setosa", "virginica"]
        finally:
            ep.stop()


# -- the serving definition ---------------------------------------------------------------------


def _nb(*cells: tuple[str, list[str]]) -> bytes:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {"tags": tags},
                    "source": src,
                    "outputs": [],
                    "execution_count": None,
                }
                for src, tags in cells
            ]
            + [{"cell_type": "markdown", "metadata": {}, "source": "# notes"}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


def test_definition_cells_tags_and_main_guard(tmp_path: Path) -> None:
    d = Definition.from_bytes(
        "serve.ipynb",
        _nb(
            ("import json\nmodel = None", []),
            ("def load(model_dir):\n    global model\n    model = model_dir\n", []),
            ("def predict(request):\n    return [model, request]", []),
            ("%pip install nothing\nraise SystemExit('a skipped cell ran')", ["serve-skip"]),
            ("if __name__ == '__main__':\n    raise SystemExit('the by-hand block ran')", []),
        ),
    )
    assert [i for i, _ in d.cells] == [0, 1, 2, 4]
    first, second = d.instantiate("/m1"), d.instantiate("/m2")
    # each version has its own namespace: a global set by load stays with its version
    assert first.predict(1) == ["/m1", 1] and second.predict(2) == ["/m2", 2]
    cosmetic = Definition.from_bytes(
        "other.ipynb",
        _nb(
            ("import json\nmodel = None", []),
            ("def load(model_dir):\n    global model\n    model = model_dir\n", []),
            ("def predict(request):\n    return [model, request]", []),
            ("if __name__ == '__main__':\n    raise SystemExit('the by-hand block ran')", []),
        ),
    )
    assert cosmetic.fingerprint == d.fingerprint


def test_definition_errors_name_the_cell() -> None:
    with pytest.raises(InvalidArgument, match=r"serve.ipynb cell 1, line 1: .*tag the cell"):
        Definition.from_bytes("serve.ipynb", _nb(("x = 1", []), ("%matplotlib inline", [])))
    with pytest.raises(InvalidArgument, match="not a Jupyter notebook"):
        Definition.from_bytes("serve.ipynb", b"[]")
    with pytest.raises(InvalidArgument, match=r"\.ipynb notebook or a \.py file"):
        Definition.from_bytes("serve.txt", b"")
    no_predict = Definition.from_bytes("s.py", b"def load(d):\n    return 1\n")
    with pytest.raises(ServingCodeError, match=r"s.py defines no predict\(\) function"):
        no_predict.instantiate("/m")
    failing = Definition.from_bytes("s.ipynb", _nb(("x = 1", []), ("import no_such_module_x", [])))
    with pytest.raises(
        ServingCodeError,
        match=r"running failed in s\.ipynb cell 1, line 1: "
        "ModuleNotFoundError",
    ):
        failing.instantiate("/m")


def test_codec_and_histograms() -> None:
    import numpy as np

    from jupyter_pipes.pipeline.serving.codec import decode_request, dumps, to_csv
    from jupyter_pipes.pipeline.serving.stats import Histogram

    rows = decode_request(b"a,b,c\n1,2.5,x\n,3,y\n", "text/csv; charset=utf-8")
    assert rows == [{"a": 1, "b": 2.5, "c": "x"}, {"a": None, "b": 3, "c": "y"}]
    assert decode_request(b'{"a": 1}', None) == {"a": 1}
    with pytest.raises(InvalidArgument, match="unsupported Content-Type 'image/png'"):
        decode_request(b"x", "image/png")
    assert json.loads(dumps({"v": np.arange(3), "s": np.float32(1.5), "n": float("nan")})) == {
        "v": [0, 1, 2],
        "s": 1.5,
        "n": None,
    }
    assert to_csv([{"a": 1}, {"a": 2, "b": None}]) == b"a,b\n1,\n2,\n"
    assert to_csv({"not": "rows"}) is None
    # percentiles from the log-spaced buckets are within 5% of the exact ones, and merge
    values = [0.2 * 1.01**i for i in range(1000)]
    a, b = Histogram(), Histogram()
    for i, v in enumerate(values):
        (a if i % 2 else b).add(v)
    a.merge(b)
    exact = sorted(values)
    for q in (0.5, 0.9, 0.99):
        got = a.percentile(q)
        assert got is not None and abs(got / exact[int(q * 1000) - 1] - 1) < 0.05
    assert a.n == 1000 and a.max_ms == max(values)


def test_an_old_store_upgrades_to_the_serving_tables(tmp_path: Path) -> None:
    """The fixture store made before schema versions gets the serving tables (pipeline chain
    revision 0002) and serves from them."""
    from .test_store_upgrade import unpack

    store, _ = unpack(tmp_path, "sqlite")
    (tmp_path / "serve.py").write_text(SERVE_PY)
    with Client(str(store)) as c:
        status = {s.chain: s for s in c.upgrade()}
        assert (status["pipeline"].previous, status["pipeline"].version) == (
            "unversioned",
            state.CHAIN.head,  # 0002 added the serving tables; later revisions keep them
        )
        c.create_repo("served")
        body = json.dumps({"w": 3.0}).encode()
        c1 = c.put_file("served@master", "/weights.json", body).id
        ep = c.serve("served@master", tmp_path / "serve.py")
        try:
            assert post(ep.url + "/predict", {"x": 1})[1]["result"] == {"y": 3.0}
        finally:
            ep.stop()
        assert [(w.commit, w.requests) for w in c.serving_log("served")] == [(c1, 1)]
