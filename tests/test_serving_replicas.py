"""Two replicas of one service on a shared store (objects on S3 — moto's server on loopback —,
metadata in PostgreSQL or a shared SQLite file), each its own process, as on two hosts behind a
load balancer: each swaps on its own when the branch moves; one serving log counts both."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client

from .conftest import new_bucket, postgres_database, s3_options
from .test_serving import SERVE_PY, TRAIN_CMD, post, train_model, wait_for


@pytest.fixture(params=["sqlite", "postgres"])
def shared(request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str) -> Iterator[Client]:
    with ExitStack() as stack:
        if request.param == "postgres":
            db_url = stack.enter_context(postgres_database())
        else:
            db_url = f"sqlite:///{tmp_path}/metadata.sqlite"
        c = Client(
            f"s3://{new_bucket(s3_endpoint)}/store", db_url=db_url, **s3_options(s3_endpoint)
        )
        stack.callback(c.close)
        yield c


def replica(client: Client) -> subprocess.Popen[bytes]:
    """One endpoint process serving pipeline ``model`` (settings on stdin, as the supervisor
    starts them)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_pipes.pipeline.serving.process"], stdin=subprocess.PIPE
    )
    config = {
        "store": client.store_url,
        "db_url": client.store.meta.url,
        "storage_options": client.store.storage_options,
        "pipeline": "model",
        "ref": "model@master",
        "log_window": 0.5,
    }
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(config).encode())
    proc.stdin.close()
    return proc


def test_replicas_swap_on_their_own_and_share_one_log(shared: Client, tmp_path: Path) -> None:
    c = shared
    (tmp_path / "serve.py").write_text(SERVE_PY)
    c.create_repo("data")
    c.create_pipeline(
        {
            "pipeline": {"name": "model"},
            "input": {"pfs": {"repo": "data", "glob": "/"}},
            "transform": {"cmd": TRAIN_CMD},
            "serve": {"notebook": "serve.py"},
        },
        base_dir=tmp_path,
    )
    c1 = train_model(c, 1.0)
    procs = [replica(c), replica(c)]
    try:
        wait_for(lambda: _ready(c) == {c1}, timeout=90)
        urls = [r.url for r in c.inspect_service("model").replicas]
        assert len(set(urls)) == 2
        answers: list[tuple[int, str]] = []
        stop = threading.Event()

        def load(url: str) -> None:  # a load balancer sends to both
            while not stop.is_set():
                status, _, commit = post(url + "/predict", {"x": 1})
                answers.append((status, commit))

        threads = [threading.Thread(target=load, args=(u,)) for u in urls]
        for t in threads:
            t.start()
        wait_for(lambda: len(answers) >= 40)
        c2 = train_model(c, 2.0)
        wait_for(lambda: _ready(c) == {c2}, timeout=60)
        n = len(answers)
        wait_for(lambda: len(answers) >= n + 40)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(60) for p in procs]
    assert codes == [0, 0]
    assert {s for s, _ in answers} == {200}
    assert {commit for _, commit in answers} == {c1, c2}
    info = c.list_service(all=True)[0]
    assert [r.state for r in info.replicas] == ["stopped", "stopped"]
    events: dict[str, list[Any]] = {}
    for e in reversed(c.service_events("model")):
        events.setdefault(e.replica, []).append((e.kind, e.commit))
    assert (
        sorted(events.values()) == [[("start", None), ("load", c1), ("swap", c2), ("stop", c2)]] * 2
    )
    windows = c.serving_log("model")
    assert sum(w.requests for w in windows) == len(answers)
    assert max(w.replicas for w in windows) == 2


def _ready(c: Client) -> set[str | None]:
    try:
        reps = c.inspect_service("model").replicas
    except Exception:
        return set()
    live = [r for r in reps if r.state == "ready"]
    return {r.commit for r in live} if len(live) == 2 else set()
