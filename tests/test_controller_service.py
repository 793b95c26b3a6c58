"""``jupyter pipes controller`` (#12): the controller as a foreground service, in a subprocess.

It runs jobs committed by another process (this one), logs a health line per interval, keeps
commits elsewhere from starting a background controller, and on SIGTERM hands the job it runs
back to the queue and exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import NotFound
from jupyter_pipes.pipeline import presence, state
from jupyter_pipes.store import txn as txnmod

from .conftest import postgres_database

CLI = [sys.executable, "-m", "jupyter_pipes.cli"]
SLEEP_THEN_COPY = 'sleep "$(cat "$PFS/data"/*)"; cp "$PFS/data"/* "$out"/'  # the file says how long


def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.1)


class Service:
    """``jupyter pipes controller`` as a subprocess, its stdout collected line by line."""

    def __init__(self, store: Path, *args: str) -> None:
        env = {
            **os.environ,
            "JUPYTER_PIPES_STORE": str(store),
            "JUPYTER_PIPES_DASK_PROCESSES": "0",
            "PYTHONFAULTHANDLER": "1",  # SIGABRT prints every thread's stack (terminate())
        }
        self.proc = subprocess.Popen(
            [*CLI, "controller", *args], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def terminate(self, timeout: float) -> int:
        """SIGTERM, then the exit code; past ``timeout`` the test fails with the service's
        log and every thread's stack (SIGABRT), so a hang says where it hangs."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)
            time.sleep(3)
            self.stop()
            log = "\n".join(self.lines[-200:])
            pytest.fail(f"the service did not stop {timeout:g} s after SIGTERM; its log:\n{log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


@pytest.fixture
def pipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("JUPYTER_PIPES_DASK_PROCESSES", "0")
    c = Client(str(tmp_path / "store"), n_workers=1)
    c.create_repo("data")
    yield c
    c.close()


def test_the_service_runs_jobs_committed_elsewhere_and_stops_cleanly_on_sigterm(
    pipes: Client, tmp_path: Path
) -> None:
    service = Service(tmp_path / "store", "--health-interval", "1")
    try:
        eventually(lambda: service.saw("(service) started"), what="the service to start")
        [live] = pipes.list_controller()
        assert live.kind == "service" and live.pid == service.proc.pid
        pipes.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "data", "glob": "/*"}},
                "transform": {"cmd": ["bash", "-c", SLEEP_THEN_COPY]},
            }
        )
        quick = pipes.put_file("data@master", "/a.txt", b"0")
        [job] = pipes.inspect_global_commit(f"data@{quick.id}").jobs
        eventually(lambda: pipes.inspect_job(job.id).done, what="the job")
        assert pipes.inspect_job(job.id).state == "success"
        assert pipes.get_file("copy@master", "/a.txt") == b"0"
        eventually(lambda: service.saw(f"job {job.id} (copy) success"), what="the job's log")
        eventually(lambda: service.saw("health: store ok; jobs run"), what="a health line")

        head = pipes.inspect_commit("copy@master").id
        slow = pipes.put_file("data@master", "/a.txt", b"120")  # a datum that sleeps 120 s
        [job2] = pipes.inspect_global_commit(f"data@{slow.id}").jobs
        eventually(lambda: pipes.inspect_job(job2.id).state == "running", what="job 2 to run")
        eventually(lambda: service.saw(f"job {job2.id} (copy) running"), what="job 2's log")
        assert service.terminate(timeout=60) == 0  # well before the datum's 120 s
        service._reader.join(timeout=10)  # the pipe is drained
        assert service.saw(f"job {job2.id} handed back to the queue")
        assert service.saw("stopped")
        after = pipes.inspect_job(job2.id)
        assert after.state == "created"  # back in the queue at once, not after a lease
        assert pipes.inspect_commit("copy@master").id == head  # no output committed
        assert pipes.list_controller() == []
        assert not any("Traceback" in line for line in service.lines)
    finally:
        service.stop()


def test_the_service_keeps_declared_endpoints_running(pipes: Client, tmp_path: Path) -> None:
    """With --serve (the default) the service runs the endpoints specs declare, as a Jupyter
    server does: the model its job trains answers, and SIGTERM stops the endpoint too."""
    from .test_serving import SERVE_PY, TRAIN_CMD

    (tmp_path / "serve.py").write_text(SERVE_PY)
    service = Service(tmp_path / "store", "--health-interval", "0")
    try:
        eventually(lambda: service.saw("(service) started"), what="the service to start")
        pipes.create_pipeline(
            {
                "pipeline": {"name": "model"},
                "input": {"pfs": {"repo": "data", "glob": "/"}},
                "transform": {"cmd": TRAIN_CMD},
                "serve": {"notebook": "serve.py"},
            },
            base_dir=tmp_path,
        )
        put = pipes.put_file("data@master", "/weights.json", b'{"w": 3.0}')
        [job] = pipes.inspect_global_commit(f"data@{put.id}").jobs
        eventually(lambda: pipes.inspect_job(job.id).state == "success", what="the training job")
        head = pipes.inspect_branch("model@master").head

        def live() -> list[Any]:
            try:
                replicas = pipes.inspect_service("model").replicas
            except NotFound:  # no replica has registered yet
                return []
            return [r for r in replicas if r.state not in ("stopped", "lost")]

        eventually(
            lambda: any(r.state == "ready" and r.commit == head for r in live()),
            timeout=90,
            what="the endpoint to serve the trained model",
        )
        answer = pipes.predict("model", {"x": 2})
        assert (answer.commit, answer.result) == (head, {"y": 6.0})
        assert service.terminate(timeout=60) == 0
        assert live() == []  # the endpoint was stopped with the service
    finally:
        service.stop()


def test_the_service_can_leave_endpoints_alone(pipes: Client, tmp_path: Path) -> None:
    res = subprocess.run([*CLI, "controller", "--help"], capture_output=True, text=True)
    assert "--serve / --no-serve" in res.stdout


def test_the_service_help_has_examples_and_list_controller_shows_it(tmp_path: Path) -> None:
    res = subprocess.run([*CLI, "controller", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    assert "Examples:" in res.stdout and "--dask-scheduler" in res.stdout
    assert "SIGTERM" in res.stdout
    service = Service(tmp_path / "store", "--health-interval", "0")
    try:
        eventually(lambda: service.saw("(service) started"), what="the service to start")
        env = {**os.environ, "JUPYTER_PIPES_STORE": str(tmp_path / "store")}
        out = subprocess.run(
            [*CLI, "list", "controller"], capture_output=True, text=True, env=env, timeout=60
        ).stdout
        assert out.splitlines()[0].split()[:3] == ["ID", "KIND", "HOST"]
        assert " service " in out and str(service.proc.pid) in out
    finally:
        service.stop()


@pytest.mark.parametrize("db", ["sqlite", "postgres"])
def test_the_background_row_is_taken_once_and_from_the_dead(tmp_path: Path, db: str) -> None:
    """The presence rows on both databases: one background controller per store, a dead
    holder's row taken over by compare-and-swap, a stopping controller's jobs handed back."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if db == "postgres" else None
        c = stack.enter_context(Client(str(tmp_path / "store"), db_url=url))
        store = c.store

        def register(owner: str) -> bool:
            with txnmod.write(store) as t:
                return presence.register(t.connection, presence.BACKGROUND, "background", owner, 5)

        assert register("a") and not register("b")
        with txnmod.read(store) as t:
            rows = t.connection.execute(presence.controllers.select()).all()
        assert [r.owner for r in rows] == ["a"]
        with txnmod.write(store) as t:  # "a" stops renewing: its row expires
            t.connection.execute(presence.controllers.update().values(expires_at=0))
        assert c.list_controller() == []
        assert register("b") and not register("a")
        [live] = c.list_controller()
        assert live.kind == "background" and live.pid == os.getpid()

        c.create_repo("data")
        c.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "data", "glob": "/*"}},
                "transform": {"cmd": ["true"]},
            }
        )
        with txnmod.write(store) as t:
            job = state.claim_job(t.connection, "b", 60)
            assert presence.hand_back(t.connection, "a") == []
            assert presence.hand_back(t.connection, "b") == [job.id]
        assert c.inspect_job(job.id).state == "created"
