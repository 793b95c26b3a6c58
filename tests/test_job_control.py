"""Job control in pachctl's grammar (#12): ``stop job``, ``restart datum``, ``logs -f``,
``subscribe commit``, ``delete job``, ``list job --state``, ``list pipeline --history`` and jobs
named ``pipeline@id``.

Real parts: a local store, a real local Dask cluster (one worker process) running real commands
in a controller thread of this process, and the CLI as real subprocesses reading the same store.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_pipes import Client, Conflict, NotFound
from tests.jobs_util import Runner, client, runner, sleepers, spec, store, until
from tests.test_cli import Pipes, _env, _error

__all__ = ["client", "runner", "store"]  # fixtures

# -- stop job --------------------------------------------------------------------------------------


def test_stop_job_during_a_slow_job_kills_it_and_its_downstream(
    client: Client, runner: Runner, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    client.put_file("data@master", "/a", b"a")
    client.put_file("data@master", "/b", b"b")
    fast = client.create_pipeline(spec("slow", 'cp "$data" "$out"/'))
    client.create_pipeline(
        spec("down", 'cp "$slow"/* "$out"/', {"pfs": {"repo": "slow", "glob": "/"}})
    )
    until(lambda: client.list_job("down") and client.list_job("down")[0].done)
    assert client.inspect_job(fast.last_job).state == "success"
    head = client.inspect_branch("slow@master").head
    down_head = client.inspect_branch("down@master").head
    # a slow version: each datum marks that it started, then sleeps
    tag = f"91{os.getpid() % 1000:03d}"
    slow = client.update_pipeline(
        spec("slow", f'touch {marks}/"$PACH_DATUM_ID"; sleep {tag}; cp "$data" "$out"/')
    )
    job = client.inspect_job(slow.last_job)
    (downstream,) = [j for j in client.list_job("down") if j.global_id == job.global_id]
    until(lambda: list(marks.iterdir()), what="a datum to start")
    until(lambda: sleepers(tag), what="the datum's command")
    assert client.inspect_job(job.id).state == "running"

    killed = client.stop_job(f"slow@{job.id[:10]}")  # pachctl's PIPELINE@JOB, a prefix

    assert [(j.id, j.state) for j in killed] == [(job.id, "killed"), (downstream.id, "killed")]
    assert "stop job" in killed[0].reason and job.id in killed[1].reason
    # the controller (another Client, as a server's would be) sees it and cancels the datums
    until(lambda: not sleepers(tag), timeout=60, what="the datum's process to be killed")
    until(lambda: not runner.client._executor.in_flight().get(job.id), what="Dask tasks to go")  # type: ignore[union-attr]
    time.sleep(1.5)  # a controller that wrongly finished the job would commit by now
    assert client.inspect_job(job.id).state == "killed"
    assert client.inspect_job(job.id).output_commit is None
    assert client.inspect_branch("slow@master").head == head  # the output did not move
    assert client.inspect_branch("down@master").head == down_head
    with pytest.raises(Conflict, match="already done"):
        client.stop_job(job.id)
    # the cluster is free for the next job at once
    client.update_pipeline(spec("slow", 'cp "$data" "$out"/'))
    assert [j.state for j in client.wait_commit("slow@spec", timeout=120)] == [
        "success",
        "success",
    ]
    # a killed job can be deleted; a successful one cannot (its output is history)
    client.delete_job(job.id)
    with pytest.raises(NotFound):
        client.inspect_job(job.id)
    with pytest.raises(Conflict, match="delete commit"):
        client.delete_job(fast.last_job)


# -- restart datum ---------------------------------------------------------------------------------


def test_restart_datum_runs_it_again_without_counting_a_try(
    client: Client, runner: Runner, tmp_path: Path
) -> None:
    marks = tmp_path / "runs"
    marks.mkdir()
    client.put_file("data@master", "/a", b"a")
    tag = f"92{os.getpid() % 1000:03d}"
    # the first run of the datum hangs; a restarted one finishes at once
    script = (
        f'echo run >> {marks}/"$PACH_DATUM_ID"; '
        f'if [ "$(wc -l < {marks}/"$PACH_DATUM_ID")" -eq 1 ]; then sleep {tag}; fi; '
        'cp "$data" "$out"/; echo finished'
    )
    info = client.create_pipeline({**spec("hang", script), "datum_tries": 1})
    datum_file = until(lambda: list(marks.iterdir()), what="the datum to start")[0]
    until(lambda: sleepers(tag), what="the hanging command")
    client.restart_datum(f"hang@{info.last_job}", datum_file.name)
    job = until(lambda: (j := client.inspect_job(info.last_job)).done and j, what="the job")
    assert job.state == "success", job
    assert datum_file.read_text() == "run\nrun\n"  # killed once, run again
    (d,) = client.list_datum(job.id)
    assert d.id == datum_file.name and d.state == "success" and d.tries == 1
    assert "finished" in client.get_logs(job.id, d.id)
    assert not sleepers(tag)
    with pytest.raises(Conflict, match="only a running job"):
        client.restart_datum(job.id, d.id)


# -- logs -f and subscribe commit, as CLI subprocesses ---------------------------------------------


def cli_process(store: Path, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    """``jupyter pipes ARGS`` as a subprocess writing stdout to a file (read while it runs)."""
    out = tmp_path / f"out-{len(list(tmp_path.glob('out-*')))}.txt"
    cmd = [sys.executable, "-m", "jupyter_pipes.cli", "--store", str(store), *args]
    with open(out, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.PIPE, env=_env())
    return proc, out


def lines(out: Path, n: int, timeout: float = 120) -> list[str]:
    """The first ``n`` lines the subprocess wrote, once it wrote them."""
    text = until(lambda: (t := out.read_text()).count("\n") >= n and t, timeout, f"{n} lines")
    return text.splitlines(keepends=True)[:n]


def finish(proc: subprocess.Popen[bytes], out: Path, timeout: float = 120) -> tuple[str, str]:
    """Wait for the subprocess (exit status 0): its stdout and stderr."""
    try:
        _, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return out.read_text(), err.decode()


def test_logs_follow_prints_each_datum_while_the_job_runs(
    client: Client, runner: Runner, store: Path, tmp_path: Path
) -> None:
    gate, first = tmp_path / "gate", tmp_path / "first"
    for name in ("a", "b"):
        client.put_file("data@master", f"/{name}", name.encode())
    # the first datum to run finishes at once; the second waits for the gate (opened once
    # the first one's log was printed)
    script = (
        'f=$(basename "$data"); echo "log of $f"; '
        f"if [ -e {first} ]; then while [ ! -e {gate} ]; do sleep 0.1; done; "
        f"else touch {first}; fi; "
        'cp "$data" "$out"/'
    )
    info = client.create_pipeline(spec("follow", script))
    until(lambda: client.inspect_job(info.last_job).state == "running")
    proc, out = cli_process(store, tmp_path, "logs", "--pipeline", "follow", "-f")
    try:
        head, log = lines(out, 2)  # while the other datum still runs
        assert head.startswith("--- datum ") and "(success)" in head
        assert re.fullmatch(r"log of [ab]\n", log)
        assert not client.inspect_job(info.last_job).done and proc.poll() is None
        gate.touch()
        text, err = finish(proc, out)
    finally:
        if proc.poll() is None:
            proc.kill()
    other = "b" if log == "log of a\n" else "a"
    assert text.count(f"log of {other}") == 1 and text.count(log) == 1  # each datum once
    assert re.search(rf"job {info.last_job} follow success", err)
    # pipeline@job names the same job; --datum one datum; a job of another pipeline is not it
    p = Pipes(store)
    d = client.list_datum(info.last_job)[0]
    one = p("logs", "--job", f"follow@{info.last_job[:8]}", "--datum", d.id)
    assert re.fullmatch(r"log of [ab]\n", one.out)  # one datum's log, as it printed it
    _error(p("logs", "--job", f"data@{info.last_job}", rc=1), "not found")
    _error(p("logs", rc=1), "--pipeline")


def test_subscribe_commit_prints_each_new_commit(
    client: Client, store: Path, tmp_path: Path
) -> None:
    first = client.put_file("data@master", "/a", b"a")
    proc, out = cli_process(
        store, tmp_path, "subscribe", "commit", "data@master", "-n", "3", "--json"
    )
    try:
        assert json.loads(lines(out, 1)[0])["id"] == first.id  # the history first
        second = client.put_file("data@master", "/b", b"b")
        assert json.loads(lines(out, 2)[1])["id"] == second.id  # then each new head
        third = client.put_file("data@master", "/c", b"c")
        text, _ = finish(proc, out)  # -n 3: exits after the third
    finally:
        if proc.poll() is None:
            proc.kill()
    assert json.loads(text.splitlines()[2])["id"] == third.id
    # --new skips the history; a branch that does not exist is a clear error
    p = Pipes(store)
    quiet = p("subscribe", "commit", "data@master", "--new", "--timeout", "0.5", rc=1)
    _error(quiet, "no new commit")
    _error(p("subscribe", "commit", "data@nope", rc=1), "nope")


# -- the smaller verbs, in-process through the Client and the CLI ----------------------------------


def test_list_job_state_pipeline_history_and_pipeline_at_job(client: Client, store: Path) -> None:
    client.put_file("data@master", "/a", b"a")
    v1 = client.create_pipeline(spec("p", 'cp "$data" "$out"/'))
    v2 = client.update_pipeline({**spec("p", 'cat "$data" > "$out"/all'), "description": "v2"})
    p = Pipes(store)
    created = p("list", "job", "--state", "created", "--json").json()
    assert {j["id"] for j in created} == {v1.last_job, v2.last_job}
    assert p("list", "job", "--state", "success", "--json").json() == []
    assert client.list_job(state=["running", "killed"]) == []
    assert "is not one of" in p("list", "job", "--state", "nope", rc=2).err
    inspected = p("inspect", "job", f"p@{v1.last_job}", "--json").json()
    assert inspected["id"] == v1.last_job
    _error(p("inspect", "job", f"data@{v1.last_job}", rc=1), "not found")
    history = p("list", "pipeline", "p", "--history", "-1", "--json").json()
    assert [(h["version"], h["spec_commit"]) for h in history] == [
        (2, v2.spec_commit),
        (1, v1.spec_commit),
    ]
    assert history[0]["description"] == "v2" and "cp" in str(history[1]["spec"]["transform"])
    assert len(client.list_pipeline(history=1)) == 1
    stopped = p("stop", "job", f"p@{v1.last_job}").out
    assert f"job {v1.last_job} p killed" in stopped
    _error(p("stop", "job", v1.last_job, rc=1), "already done")
    p("delete", "job", v1.last_job)
    _error(p("inspect", "job", v1.last_job, rc=1), "not found")
    _error(p("restart", "datum", v2.last_job, "0" * 64, rc=1), "only a running job")
