"""Incremental jobs: the plan from a Merkle diff equals a full recomputation, and a job writes
datum rows only for what ran or went, while every job still lists all of its datums."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.pipeline import state
from jupyter_pipes.pipeline.plan import Plan, plan_job
from jupyter_pipes.pipeline.stage import datum_key, stage_key

WRITE_ID = 'echo "$PACH_DATUM_ID" > "$out/$PACH_DATUM_ID"'


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()


def pfs(repo: str, glob: str, name: str | None = None) -> dict[str, Any]:
    return {"pfs": {"repo": repo, "glob": glob, **({"name": name} if name else {})}}


def plans(c: Client, pipeline: str) -> tuple[Plan, Plan]:
    """The fast and the full plan of the pipeline's pending job."""
    p = c._pipelines
    with c.store.meta.read() as conn:
        (row,) = [r for r in state.pending_jobs(conn) if r.pipeline == pipeline]
    spec, notebook = p.spec_at(row.pipeline, row.spec_commit)
    stage = stage_key(spec, notebook)
    pins = state.loads(row.inputs)
    args = (c.store, p.trees, row, spec, pins, stage, datum_key(spec, stage))
    return plan_job(*args), plan_job(*args, allow_fast=False)


def summary(plan: Plan) -> tuple[Any, ...]:
    return (
        plan.total,
        sorted(d.id for d in plan.run),
        sorted(plan.hashes.items()),
        sorted(plan.gone),
        sorted(plan.replaced),
    )


def random_change(c: Client, rng: random.Random, repo: str) -> None:
    files = [f.path for f in c.walk_file(f"{repo}@master") if not f.path.endswith("/")]
    with c.start_commit(f"{repo}@master") as oc:
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(["add", "modify", "delete", "dir"])
            if kind == "add" or not files:
                oc.put_file(f"/d{rng.randint(0, 3)}/n{rng.randint(0, 99)}", b"new")
            elif kind == "modify":
                oc.put_file(rng.choice(files), str(rng.random()).encode())
            elif kind == "delete":
                oc.delete_file(rng.choice(files))
            else:
                oc.delete_file(f"/d{rng.randint(0, 3)}")
                oc.put_file(f"/top{rng.randint(0, 3)}", b"t")


INPUTS = {
    "files": pfs("a", "/*/*"),
    "top": pfs("a", "/*"),
    "whole": pfs("a", "/"),
    "cross": {"cross": [pfs("a", "/*"), pfs("b", "/")]},
    "union": {"union": [pfs("a", "/*", "x"), pfs("b", "/*", "x")]},
    "nested": {"cross": [{"union": [pfs("a", "/d0/*", "x"), pfs("b", "/*", "x")]}, pfs("b", "/")]},
}


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_the_fast_plan_equals_a_full_recomputation(pipes: Client, name: str) -> None:
    rng = random.Random(name)
    for repo in ("a", "b"):
        pipes.create_repo(repo)
        with pipes.start_commit(f"{repo}@master") as oc:
            for d in range(3):
                for f in range(3):
                    oc.put_file(f"/d{d}/f{f}", f"{repo}{d}{f}".encode())
    pipes.create_pipeline(
        {
            "pipeline": {"name": "p"},
            "input": INPUTS[name],
            "transform": {"cmd": ["bash", "-c", WRITE_ID]},
        }
    )
    pipes.run_jobs(timeout=300)
    fast_used = 0
    for _ in range(5):
        reads_b = "'repo': 'b'" in str(INPUTS[name])
        random_change(pipes, rng, rng.choice(["a", "b"] if reads_b else ["a"]))
        fast, full = plans(pipes, "p")
        assert summary(fast) == summary(full)
        fast_used += fast.fast
        pipes.run_jobs(timeout=300)
        job = pipes.list_job("p", limit=1)[0]
        assert job.state == "success" and job.total == fast.total
        listed = pipes.list_datum(job.id)
        assert len(listed) == job.total
        assert {f.path.lstrip("/") for f in pipes.list_file("p@master")} == {d.id for d in listed}
    assert fast_used == 5


def test_a_one_file_change_writes_one_datum_row_and_lists_them_all(pipes: Client) -> None:
    pipes.create_repo("data")
    with pipes.start_commit("data@master") as oc:
        for i in range(50):
            oc.put_file(f"/f{i:02}", f"{i}".encode())
    script = 'v=$(cat $PFS/data/*); [ "$v" != bad ] || exit 1; echo "$v" > "$out/$(ls $PFS/data)"'
    info = pipes.create_pipeline(
        {
            "pipeline": {"name": "copy"},
            "input": pfs("data", "/*"),
            "transform": {"cmd": ["bash", "-c", script]},
            "datum_tries": 1,
        }
    )
    first = pipes.wait_job(info.last_job, timeout=300)
    assert (first.processed, first.total) == (50, 50)

    def rows_of(job_id: str) -> int:
        with pipes.store.meta.read() as conn:
            return len(
                conn.execute(state.datums.select().where(state.datums.c.job == job_id)).all()
            )

    pipes.put_file("data@master", "/f07", b"seven")
    (job,) = pipes.wait_commit("data@master", timeout=300)
    assert (job.processed, job.skipped, job.total) == (1, 49, 50) and rows_of(job.id) == 1
    listed = pipes.list_datum(job.id)
    assert len(listed) == 50 and sum(d.state == "skipped" for d in listed) == 49
    assert {d.reused_from for d in listed if d.state == "skipped"} == {first.id}
    assert pipes.get_file("copy@master", "/f07") == b"seven\n"
    assert len(pipes.list_datum(first.id)) == 50  # an older job still lists its own datums
    assert pipes.inspect_datum(first.id, listed[7].id).state == "success"

    # a failed job: its rows do not count for reuse, and it still lists all its datums
    with pipes.start_commit("data@master") as oc:
        oc.put_file("/f01", b"bad")
        oc.put_file("/f02", b"two")
        oc.delete_file("/f03")
    (failed,) = pipes.wait_commit("data@master", timeout=300)
    assert failed.state == "failure" and (failed.processed, failed.failed) == (1, 1)
    listed = {d.id: d for d in pipes.list_datum(failed.id)}
    assert len(listed) == 49 and sorted(d.state for d in listed.values()).count("skipped") == 47
    with pipes.start_commit("data@master") as oc:
        oc.put_file("/f01", b"one")
    (fixed,) = pipes.wait_commit("data@master", timeout=300)
    # f01 and f02 run again (the failed job's success does not count); f03 went
    assert (fixed.state, fixed.processed, fixed.skipped, fixed.total) == ("success", 2, 47, 49)
    assert rows_of(fixed.id) == 2
    assert [f.path for f in pipes.list_file("copy@master")][:3] == ["/f00", "/f01", "/f02"]
    assert pipes.get_file("copy@master", "/f01") == b"one\n"
    with pytest.raises(Exception, match="no file"):
        pipes.inspect_file("copy@master", "/f03")
