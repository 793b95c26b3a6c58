"""Jobs run wherever the store is used (#12): the background controller started on demand.

Real processes on a real local store: the CLI as subprocesses (with auto-start on, a short idle
time and thread Dask workers, set in their environment only), the background controller they
start, SIGKILL. The test process's own clients have auto-start off (tests/conftest.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.pipeline.presence import pid_alive

CLI = [sys.executable, "-m", "jupyter_pipes.cli"]


def eventually(check: Callable[[], Any], timeout: float = 60.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something true (fails after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        time.sleep(0.1)


class Store:
    """A local store, its test-side client (auto-start off) and the CLI environment."""

    def __init__(self, root: Path, **env: str) -> None:
        self.root = root
        self.path = root / "store"
        self.log = root / "controller.log"
        self.env = {
            **os.environ,
            "JUPYTER_PIPES_STORE": str(self.path),
            "JUPYTER_PIPES_AUTOSTART": "1",
            "JUPYTER_PIPES_CONTROLLER_IDLE": "3",
            "JUPYTER_PIPES_CONTROLLER_LOG": str(self.log),
            "JUPYTER_PIPES_DASK_PROCESSES": "0",
            **env,
        }
        self.client = Client(str(self.path))

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        res = subprocess.run(
            [*CLI, *args], capture_output=True, text=True, env=self.env, timeout=120
        )
        if check:
            assert res.returncode == 0, res.stderr
        return res

    def put(self, target: str, content: str) -> subprocess.CompletedProcess[str]:
        local = self.root / f"upload-{time.monotonic_ns()}"
        local.write_text(content)
        return self.cli("put", "file", target, "-f", str(local))

    def started(self) -> list[str]:
        text = self.log.read_text() if self.log.exists() else ""
        return [line for line in text.splitlines() if "(background) started" in line]

    def pids(self) -> list[int]:
        return [c.pid for c in self.client.list_controller() if c.kind == "background"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    s.client.create_repo("data")
    yield s
    for c in s.client.list_controller():  # never leave a controller behind
        if pid_alive(c.pid):
            os.kill(c.pid, signal.SIGKILL)
    s.client.close()


def copy_pipeline(c: Client, script: str = 'cp "$PFS/data"/* "$out"/') -> None:
    c.create_pipeline(
        {
            "pipeline": {"name": "copy"},
            "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["bash", "-c", script]},
        }
    )


def test_a_cli_commit_runs_its_job_with_no_server_and_the_controller_exits_when_idle(
    store: Store,
) -> None:
    copy_pipeline(store.client)  # its first job (no input yet) is queued too
    res = store.put("data@master:/a.txt", "hello")
    commit = res.stdout.strip()
    assert len(commit) == 32  # stdout: the commit id only (scripts read it)
    assert "queued 1 job(s): copy@" in res.stderr
    assert "background controller" in res.stderr
    assert "jupyter pipes wait commit" in res.stderr and "jupyter pipes logs" in res.stderr
    job = store.client.inspect_global_commit(f"data@{commit}").jobs[0]
    eventually(lambda: store.client.inspect_job(job.id).done, what="the job")
    assert store.client.inspect_job(job.id).state == "success"
    assert store.client.get_file("copy@master", "/a.txt") == b"hello"
    [pid] = store.pids()  # the background controller, alive while not idle
    assert len(store.started()) == 1
    eventually(lambda: not pid_alive(pid), what="the idle controller to exit")
    assert store.client.list_controller() == []
    assert "stopping: idle" in store.log.read_text()


def test_with_auto_start_off_the_job_stays_queued_and_the_cli_says_so(store: Store) -> None:
    copy_pipeline(store.client)
    store.env["JUPYTER_PIPES_AUTOSTART"] = "0"
    res = store.put("data@master:/a.txt", "hello")
    assert "auto-start is off" in res.stderr
    time.sleep(1.0)  # a controller, had one started, would have registered by now
    assert store.client.list_controller() == [] and not store.log.exists()
    assert {j.state for j in store.client.list_job()} == {"created"}


def test_two_cli_processes_committing_at_once_start_one_controller(store: Store) -> None:
    store.client.create_repo("more")
    copy_pipeline(store.client)
    store.client.create_pipeline(
        {
            "pipeline": {"name": "copy2"},
            "input": {"pfs": {"repo": "more", "glob": "/*"}},
            "transform": {"cmd": ["bash", "-c", 'cp "$PFS/more"/* "$out"/']},
        }
    )
    files = []
    for name in ("a", "b"):
        local = store.root / name
        local.write_text(name)
        files.append(str(local))
    procs = [
        subprocess.Popen(
            [*CLI, "put", "file", f"{repo}@master:/{name}.txt", "-f", path],
            env=store.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for repo, name, path in (("data", "a", files[0]), ("more", "b", files[1]))
    ]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
        p.communicate()
    eventually(lambda: all(j.state == "success" for j in store.client.list_job()), what="every job")
    assert store.client.get_file("copy2@master", "/b.txt") == b"b"
    assert len(store.started()) == 1  # both commits: one controller between them
    assert len(store.pids()) <= 1


def test_two_background_controllers_started_at_once_one_runs(store: Store) -> None:
    """The guard itself: of two started together, one takes the store's background row and
    the other exits at once."""
    env = {**store.env, "JUPYTER_PIPES_CONTROLLER_IDLE": "2"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jupyter_pipes.background"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert sum("(background) started" in o for o in outs) == 1, outs
    assert sum("another background controller runs" in o for o in outs) == 1, outs


@pytest.mark.slow  # ~20 s: two CLI commands, a SIGKILL, a lease to lapse, two slow datums
def test_a_sigkilled_background_controllers_job_is_taken_over_by_the_next_command(
    store: Store,
) -> None:
    store.env["JUPYTER_PIPES_JOB_LEASE"] = "2"  # a dead controller's claim lapses in 2 s
    store.env["JUPYTER_PIPES_CONTROLLER_IDLE"] = "4"
    copy_pipeline(store.client, 'sleep 2; cp "$PFS/data"/* "$out"/')
    first = store.put("data@master:/a.txt", "one").stdout.strip()
    job = store.client.inspect_global_commit(f"data@{first}").jobs[0]
    eventually(
        lambda: store.client.inspect_job(job.id).state == "running" and store.pids(),
        what="the background controller to claim the job",
    )
    [pid] = store.pids()
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: not pid_alive(pid), what="the SIGKILLed controller to die")
    assert store.client.inspect_job(job.id).state == "running"  # its claim is still there
    second = store.put("data@master:/b.txt", "two").stdout.strip()  # the next command
    job2 = store.client.inspect_global_commit(f"data@{second}").jobs[0]
    eventually(lambda: store.client.inspect_job(job2.id).done, what="both jobs")
    jobs = [store.client.inspect_job(j) for j in (job.id, job2.id)]
    assert [j.state for j in jobs] == ["success", "success"]
    [new_pid] = store.pids()
    assert new_pid != pid
    done = [j for j in store.client.list_job("copy") if j.state == "success"]
    outputs = store.client.list_commit("copy@master")
    assert sorted(c.id for c in outputs) == sorted(j.output_commit for j in done)  # no extra
    assert store.client.get_file("copy@master", "/a.txt") == b"one"
    assert store.client.get_file("copy@master", "/b.txt") == b"two"
    assert len(store.started()) == 2


def test_create_pipeline_no_wait_says_a_controller_runs_the_job_and_one_does(
    store: Store,
) -> None:
    store.put("data@master:/a.txt", "hello")
    spec = store.root / "copy.yaml"
    spec.write_text(
        "pipeline: {name: copy}\n"
        "input: {pfs: {repo: data, glob: /*}}\n"
        'transform: {cmd: [bash, -c, \'cp "$PFS/data"/* "$out"/\']}\n'
    )
    res = store.cli("create", "pipeline", "-f", str(spec), "--no-wait")
    assert "a controller runs it" in res.stdout and "to run it" not in res.stdout, res.stdout
    job = res.stdout.split()[2].rstrip(";")
    eventually(lambda: store.client.inspect_job(job).done, what="the queued job")
    assert store.client.get_file("copy@master", "/a.txt") == b"hello"
