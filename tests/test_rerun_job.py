"""``rerun job`` (#15): a new job of a done job's pipeline on the very input commits that job
read, on the Client and the CLI (the REST route is in tests/server/test_rerun.py).

Real parts: a local store, a real local Dask cluster running real commands, and the CLI as
real subprocesses reading the same store.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_pipes import Client, Conflict, NotFound
from tests.jobs_util import client, store
from tests.test_cli import Pipes, _error

__all__ = ["client", "store"]  # fixtures

# a datum of content "one" fails on its first run only (a flaky failure worth a rerun)
FLAKY = (
    'if [ "$(cat "$data")" = one ] && [ ! -e "{marks}/one" ]; then touch "{marks}/one"; '
    'echo flaky >&2; exit 1; fi; cp "$data" "$out"/; echo "ran $(cat "$data")" >> "{marks}/runs"'
)


def spec(name: str, script: str, repo: str = "data") -> dict[str, object]:
    return {
        "pipeline": {"name": name},
        "input": {"pfs": {"repo": repo, "glob": "/*"}},
        "transform": {"cmd": ["bash", "-c", script]},
        "datum_tries": 1,
    }


def test_rerun_job_runs_on_the_jobs_input_commits_not_the_current_heads(
    client: Client, tmp_path: Path
) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    first = client.put_file("data@master", "/a", b"one")
    info = client.create_pipeline(spec("copy", FLAKY.format(marks=marks)))
    failed = client.wait_job(info.last_job)
    assert failed.state == "failure"
    client.put_file("data@master", "/a", b"two")  # a newer input: its job succeeds
    newer = client.wait_commit("data@master")[0]
    assert newer.state == "success" and client.get_file("copy@master", "/a") == b"two"

    again = client.rerun_job(f"copy@{failed.id}")
    assert again.id != failed.id and again.state == "created"
    assert again.global_id not in (failed.global_id, newer.global_id)
    assert [(c.repo, c.id) for c in again.inputs] == [("data", first.id)]
    done = client.wait_job(again.id)
    assert (done.state, done.processed) == ("success", 1), done
    # the output of the old input is now the head, and the newest job is the rerun
    assert client.get_file("copy@master", "/a") == b"one"
    assert client.inspect_commit("copy@master").id == done.output_commit
    assert client.list_job("copy", limit=1)[0].id == done.id
    assert (marks / "runs").read_text() == "ran two\nran one\n"

    # datums that succeeded are reused, unless reprocess
    reused = client.wait_job(client.rerun_job(done.id).id)
    assert (reused.state, reused.processed, reused.skipped) == ("success", 0, 1)
    redone = client.wait_job(client.rerun_job(done.id, reprocess=True).id)
    assert (redone.state, redone.processed, redone.skipped) == ("success", 1, 0)
    assert (marks / "runs").read_text() == "ran two\nran one\nran one\n"


def test_rerun_job_runs_the_pipelines_downstream_and_refuses_what_it_cannot(
    client: Client, tmp_path: Path
) -> None:
    client.put_file("data@master", "/a", b"x")
    up = client.create_pipeline(spec("up", 'cp "$data" "$out"/'))
    client.create_pipeline(spec("down", 'cp "$up" "$out"/', repo="up"))
    client.run_jobs()
    again = client.rerun_job(up.last_job)
    jobs = client.wait_commit(again.global_id or again.id)
    assert [(j.pipeline, j.state) for j in jobs] == [("up", "success"), ("down", "success")]

    queued = client.run_pipeline("up")  # no controller runs it here: it stays created
    with pytest.raises(Conflict, match="is created: wait for it, or stop it"):
        client.rerun_job(queued.id)
    client.stop_job(queued.id)  # its downstream job is killed with it, never had its input
    (down,) = [j for j in client.list_job("down", limit=1) if j.state == "killed"]
    with pytest.raises(Conflict, match="never had its input up@master"):
        client.rerun_job(down.id)
    with pytest.raises(NotFound, match="job 'nope' not found"):
        client.rerun_job("nope")

    client.create_repo("other")
    client.update_pipeline({**spec("up", 'cp "$other" "$out"/', repo="other")})
    with pytest.raises(Conflict, match=r"now reads other@master, job \w+ read data@master"):
        client.rerun_job(up.last_job)


def test_cli_rerun_job(client: Client, store: Path, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    client.put_file("data@master", "/a", b"one")
    info = client.create_pipeline(spec("copy", FLAKY.format(marks=marks)))
    assert client.wait_job(info.last_job).state == "failure"
    pipes = Pipes(store)
    queued = pipes("rerun", "job", f"copy@{info.last_job}", "--no-wait")
    job_id = queued.out.split()[2].rstrip(";")
    assert queued.out == f"queued job {job_id}; run 'jupyter pipes wait job {job_id}' to run it\n"
    assert client.inspect_job(job_id).state == "created"
    _error(pipes("rerun", "job", job_id, rc=1), f"job {job_id} (copy) is created")
    ran = pipes("rerun", "job", info.last_job, "--reprocess", "--no-progress")
    (line,) = [ln for ln in ran.out.splitlines() if ln.startswith("job ")]
    assert " copy success 1 processed, 0 skipped, 0 failed" in line
    assert pipes("rerun", "job", "--help").out.count("same input commits") == 1
    _error(pipes("rerun", "job", "nope", rc=1), "job 'nope' not found")
