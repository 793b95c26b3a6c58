"""``create_pipeline`` killed at any point leaves nothing or the whole pipeline (#19).

A process that creates a pipeline is SIGKILLed at one of the points where it touches storage:
before each SQL statement, before each database commit, and before and after each object
written. One probe run counts those points; the test then kills a run at each of about twenty
points spread over them, from the first to the last. After each kill the store must pass fsck and
hold either no trace of the pipeline (and then a retry succeeds) or all of it: the pipeline row,
its output repo, the spec branch at a finished commit holding the spec, and the first job.

The kill points are counted in the killed process itself (SQLAlchemy's engine events and the
object store's ``Backend.put``; not the lease heartbeat's statements, which come on a timer), so
a run is killed at the same point every time: nothing is timed. Each run forks from one process
that has imported the package already, so a run costs a fork, not an interpreter start.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import NotFound

NAME = "edges"
SPEC: dict[str, Any] = {
    "pipeline": {"name": NAME},
    "description": "killed while it is created",
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": ["sh", "-c", "cp -r /pfs/data/. /pfs/out/"]},
}
RUNS = 20

# Forks one child a kill point; each child creates the pipeline in its own copy of the store and
# SIGKILLs itself at its point (0: never; it then reports how many points it passed). The parent
# prints one JSON line: each point and how its child ended (the signal number, or 0).
FORK_SERVER = textwrap.dedent(
    """
    import json, os, shutil, signal, sys, threading
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from jupyter_pipes import Client
    from jupyter_pipes.store.backend import Backend

    base, runs, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    points = [int(p) for p in sys.argv[4].split(",")]

    def child(store, kill_at):
        passed = 0

        def point(*_args, **_kwargs):
            nonlocal passed
            if threading.current_thread().name == "pipes-lease-keeper":
                return  # its heartbeat comes on a timer: not a point of the create's sequence
            passed += 1
            if passed == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

        c = Client(store, autostart=False)
        event.listen(Engine, "before_cursor_execute", point)
        event.listen(Engine, "commit", point)
        put = Backend.put

        def put_with_points(self, key, data):
            point()
            put(self, key, data)
            point()

        Backend.put = put_with_points
        c.create_pipeline(spec)
        with open(os.path.join(store, "points.txt"), "w") as f:
            f.write(str(passed))

    ended = {}
    for kill_at in points:
        store = os.path.join(runs, str(kill_at))
        shutil.copytree(base, store)
        pid = os.fork()
        if pid == 0:
            try:
                child(store, kill_at)
            except BaseException as exc:
                print(f"point {kill_at}: {type(exc).__name__}: {exc}", file=sys.stderr)
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        ended[kill_at] = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    print(json.dumps(ended))
    """
)


def _fork_runs(base: Path, runs: Path, points: list[int]) -> dict[int, int]:
    """Run one child per kill point; how each ended (``-9``: killed, ``0``: finished)."""
    res = subprocess.run(
        [sys.executable, "-c", FORK_SERVER, str(base), str(runs), json.dumps(SPEC),
         ",".join(map(str, points))],
        capture_output=True,
        timeout=600,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr.decode()[-3000:]
    return {int(k): v for k, v in json.loads(res.stdout.decode().splitlines()[-1]).items()}


def _whole(c: Client) -> None:
    """Every part of the pipeline is there and agrees with the others."""
    info = c.inspect_pipeline(NAME)
    assert NAME in {r.name for r in c.list_repo()}
    head = c.inspect_branch(f"{NAME}@spec").head
    assert head is not None and info.spec_commit == head
    assert c.inspect_commit(f"{NAME}@{head}").state == "finished"
    assert json.loads(c.get_file(f"{NAME}@spec", "/spec.json"))["pipeline"]["name"] == NAME
    assert len(c.list_job(NAME)) == 1


def _nothing(c: Client) -> bool:
    """Whether no part of the pipeline is there (an orphan part fails the test)."""
    repos = {r.name for r in c.list_repo()}
    try:
        c.inspect_pipeline(NAME)
        has_pipeline = True
    except NotFound:
        has_pipeline = False
    if not has_pipeline and NAME not in repos:
        return True
    assert has_pipeline and NAME in repos, (
        f"half a pipeline: row {'there' if has_pipeline else 'missing'}, output repo "
        f"{'there' if NAME in repos else 'missing'}"
    )
    return False


@pytest.mark.slow
def test_create_pipeline_killed_at_any_point_leaves_nothing_or_all(tmp_path: Path) -> None:
    base = tmp_path / "base"
    with Client(str(base), autostart=False) as c:
        c.create_repo("data")
        c.put_file("data@master", "/a.txt", b"a")
    runs = tmp_path / "runs"
    runs.mkdir()

    probe = _fork_runs(base, runs, [0])
    assert probe == {0: 0}
    total = int((runs / "0" / "points.txt").read_text())
    assert total >= RUNS  # the probe passed statements, commits and object writes
    points = sorted({1 + (total - 1) * i // (RUNS - 1) for i in range(RUNS)})
    ended = _fork_runs(base, runs, points)

    outcomes = {"nothing": 0, "whole": 0}
    for kill_at in points:
        assert ended[kill_at] == -9, f"point {kill_at} of {total} was not killed: {ended}"
        with Client(str(runs / str(kill_at)), autostart=False) as c:
            report = c.fsck()
            assert report.ok, (kill_at, report.problems)
            if _nothing(c):
                outcomes["nothing"] += 1
                c.create_pipeline(SPEC)  # the retry is not blocked by anything left over
            else:
                outcomes["whole"] += 1
            _whole(c)
            assert c.fsck().ok
        shutil.rmtree(runs / str(kill_at))
    assert outcomes["nothing"] and outcomes["whole"], outcomes  # both sides of the commit seen
    print(f"{len(points)} kills over {total} points: {outcomes}")
