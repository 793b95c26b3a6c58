"""Pipelines end to end: real kernels (papermill), a real Dask cluster, a real local store."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes import AlreadyExists, Client, Conflict, InvalidArgument, NotFound
from jupyter_pipes.pipeline import state

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def write_notebook(path: Path, *cells: str, params: str = "") -> Path:
    """A notebook whose first cell (tagged parameters) holds ``params``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [nbformat.v4.new_code_cell(params or "out = ''", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


UPPER = (
    "import pathlib\n"
    "for p in sorted(pathlib.Path(data).rglob('*')):\n"
    "    if p.is_file():\n"
    "        (pathlib.Path(out) / (p.name + '.up')).write_text(p.read_text().upper())\n"
    "print('upper', datum_id)"
)


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()


def spec(name: str, input: dict, **transform: object) -> dict:
    return {"pipeline": {"name": name}, "input": input, "transform": transform}


def cmd_spec(name: str, input: dict, script: str, **extra: object) -> dict:
    return {**spec(name, input, cmd=["bash", "-c", script]), **extra}


# -- notebooks, skipping, provenance -------------------------------------------------------------


def test_notebook_pipeline_runs_skips_and_records_provenance(pipes: Client, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "upper.ipynb", UPPER, params="data = ''\nout = ''")
    pipes.create_repo("data")
    with pipes.start_commit("data@master") as oc:
        for name in ("a", "b", "c"):
            oc.put_file(f"/{name}.txt", name.encode())
    info = pipes.create_pipeline(
        spec("upper", {"pfs": {"repo": "data", "glob": "/*"}}, notebook=str(nb))
    )
    assert info.version == 1 and info.inputs == ("data@master",)
    job = pipes.wait_job(info.last_job, timeout=180)
    assert (job.state, job.total, job.processed, job.skipped, job.failed) == ("success", 3, 3, 0, 0)
    assert [f.path for f in pipes.list_file("upper@master")] == [
        "/a.txt.up",
        "/b.txt.up",
        "/c.txt.up",
    ]
    assert pipes.get_file("upper@master", "/b.txt.up") == b"B"
    out = pipes.inspect_commit("upper@master")
    data_head = pipes.inspect_commit("data@master").id
    assert out.origin == "auto" and out.id == job.output_commit
    assert {(p.repo, p.id) for p in out.provenance} == {
        ("data", data_head),
        ("upper", info.spec_commit),
    }
    assert pipes.get_file(f"upper@{info.spec_commit}", "/notebook.ipynb") == nb.read_bytes()
    assert [c.id for c in pipes.list_subvenance(f"data@{data_head}")] == [out.id]

    # one new file: exactly one datum runs, the others are reused
    pipes.put_file("data@master", "/d.txt", b"d")
    (job2,) = pipes.wait_commit("data@master", timeout=180)
    assert (job2.state, job2.total, job2.processed, job2.skipped) == ("success", 4, 1, 3)
    datums = pipes.list_datum(job2.id)
    assert sorted(d.state for d in datums) == ["skipped", "skipped", "skipped", "success"]
    assert {d.reused_from for d in datums if d.state == "skipped"} == {job.id}
    assert pipes.get_file("upper@master", "/d.txt.up") == b"D"

    # a removed input file removes its output; a changed one re-runs
    with pipes.start_commit("data@master") as oc:
        oc.delete_file("/a.txt")
        oc.put_file("/b.txt", b"bee")
    (job3,) = pipes.wait_commit("data@master", timeout=180)
    assert (job3.total, job3.processed, job3.skipped) == (3, 1, 2)
    assert [f.path for f in pipes.list_file("upper@master")] == [
        "/b.txt.up",
        "/c.txt.up",
        "/d.txt.up",
    ]
    assert pipes.get_file("upper@master", "/b.txt.up") == b"BEE"

    # every processed datum keeps its executed notebook and log
    ran = next(d for d in pipes.list_datum(job3.id) if d.state == "success")
    executed = nbformat.reads(pipes.get_datum_notebook(job3.id, ran.id).decode(), 4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    assert f"upper {ran.id}" in pipes.get_logs(job3.id, ran.id)
    assert [i.path for i in ran.inputs] == ["/b.txt"]
    assert pipes.fsck().ok


def test_cosmetic_notebook_edit_reruns_nothing_code_edit_reruns_all(
    pipes: Client, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "upper.ipynb", UPPER, params="data = ''\nout = ''")
    pipes.create_repo("data")
    with pipes.start_commit("data@master") as oc:
        oc.put_file("/a.txt", b"a")
        oc.put_file("/b.txt", b"b")
    s = spec("upper", {"pfs": {"repo": "data", "glob": "/*"}}, notebook=str(nb))
    pipes.wait_job(pipes.create_pipeline(s).last_job, timeout=180)
    # cosmetic: outputs, execution counts, metadata and a markdown cell
    doc = nbformat.read(nb, 4)
    doc.cells[1].execution_count = 7
    doc.cells[1].outputs = [nbformat.v4.new_output("stream", text="old output")]
    doc.metadata["authors"] = ["someone"]
    doc.cells.append(nbformat.v4.new_markdown_cell("# notes"))
    nbformat.write(doc, nb)
    info = pipes.update_pipeline(s)
    job = pipes.wait_job(info.last_job, timeout=180)
    assert info.version == 2 and (job.processed, job.skipped) == (0, 2)
    # a code change re-runs everything
    doc.cells[1].source = doc.cells[1].source.replace("upper()", "upper() + '!'")
    nbformat.write(doc, nb)
    job = pipes.wait_job(pipes.update_pipeline(s).last_job, timeout=180)
    assert (job.state, job.processed, job.skipped) == ("success", 2, 0)
    assert pipes.get_file("upper@master", "/a.txt.up") == b"A!"
    # reprocess re-runs even when nothing changed
    job = pipes.wait_job(pipes.update_pipeline(s, reprocess=True).last_job, timeout=180)
    assert (job.processed, job.skipped) == (2, 0)


def test_failing_notebook_fails_the_job_keeps_the_notebook_and_blocks_downstream(
    pipes: Client, tmp_path: Path
) -> None:
    bad = write_notebook(
        tmp_path / "bad.ipynb",
        "x = 1",
        "raise ValueError('bad row ' + str(x))",
        params="data = ''\nout = ''",
    )
    pipes.create_repo("data")
    pipes.put_file("data@master", "/a.txt", b"a")
    pipes.create_pipeline(
        spec("stage1", {"pfs": {"repo": "data", "glob": "/"}}, notebook=str(bad))
        | {"datum_tries": 2}
    )
    pipes.create_pipeline(
        cmd_spec("stage2", {"pfs": {"repo": "stage1", "glob": "/"}}, 'cp -r "$stage1"/. "$out"/')
    )
    pipes.run_jobs(timeout=180)  # the creation jobs
    pipes.put_file("data@master", "/b.txt", b"b")
    jobs = pipes.wait_commit("data@master", timeout=180)
    assert [(j.pipeline, j.state) for j in jobs] == [
        ("stage1", "failure"),
        ("stage2", "unrunnable"),
    ]
    failed = jobs[0]
    assert failed.error["ename"] == "ValueError" and failed.error["evalue"] == "bad row 1"
    assert failed.error["cell_index"] == 2  # the third cell of the original notebook
    (datum,) = pipes.list_datum(failed.id)
    assert datum.state == "failed" and datum.tries == 2 and datum.has_notebook
    executed = pipes.get_datum_notebook(failed.id, datum.id).decode()
    assert "bad row" in executed and "ValueError" in executed
    assert "upstream" in jobs[1].reason
    # no output branch moved on the failed job
    assert pipes.inspect_branch("stage1@master").head is None


def test_retries_until_a_datum_succeeds(pipes: Client, tmp_path: Path) -> None:
    counter = tmp_path / "tries.txt"
    flaky = write_notebook(
        tmp_path / "flaky.ipynb",
        "import pathlib\n"
        "p = pathlib.Path(counter)\n"
        "n = int(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(str(n))\n"
        "if n < 3:\n    raise RuntimeError(f'try {n}')\n"
        "pathlib.Path(out, 'ok.txt').write_text(str(n))",
        params="data = ''\nout = ''\ncounter = ''",
    )
    pipes.create_repo("data")
    pipes.put_file("data@master", "/a.txt", b"a")
    info = pipes.create_pipeline(
        spec(
            "flaky",
            {"pfs": {"repo": "data", "glob": "/"}},
            notebook=str(flaky),
            parameters={"counter": str(counter)},
        )
    )
    job = pipes.wait_job(info.last_job, timeout=180)
    assert job.state == "success"
    assert pipes.list_datum(job.id)[0].tries == 3
    assert pipes.get_file("flaky@master", "/ok.txt") == b"3"


# -- commands and every input type ----------------------------------------------------------------


def test_every_input_type_with_commands(pipes: Client) -> None:
    for repo, files in {
        "a": ["/1.txt", "/2.txt"],
        "b": ["/x.txt", "/y.txt"],
        "left": ["/k1-left.csv", "/k2-left.csv", "/k3-left.csv"],
        "right": ["/k1-right.csv", "/k2-right.csv"],
    }.items():
        pipes.create_repo(repo)
        with pipes.start_commit(f"{repo}@master") as oc:
            for f in files:
                oc.put_file(f, f.encode())
    list_inputs = (
        'for n in $NAMES; do ls "$PFS/$n"; done | sort | tr "\\n" " " > "$out/$PACH_DATUM_ID"'
    )
    cases = {
        "pfs": ({"pfs": {"repo": "a", "glob": "/*"}}, "a", 2),
        "cross": (
            {"cross": [{"pfs": {"repo": "a", "glob": "/*"}}, {"pfs": {"repo": "b", "glob": "/*"}}]},
            "a b",
            4,
        ),
        "union": (
            {
                "union": [
                    {"pfs": {"repo": "a", "glob": "/*", "name": "u"}},
                    {"pfs": {"repo": "b", "glob": "/*", "name": "u"}},
                ]
            },
            "u",
            4,
        ),
        "join": (
            {
                "join": [
                    {"pfs": {"repo": "left", "glob": "/(*)-left.csv", "join_on": "$1"}},
                    {"pfs": {"repo": "right", "glob": "/(*)-right.csv", "join_on": "$1"}},
                ]
            },
            "left right",
            2,
        ),
        "outer": (
            {
                "join": [
                    {
                        "pfs": {
                            "repo": "left",
                            "glob": "/(*)-left.csv",
                            "join_on": "$1",
                            "outer_join": True,
                        }
                    },
                    {"pfs": {"repo": "right", "glob": "/(*)-right.csv", "join_on": "$1"}},
                ]
            },
            "left right",
            3,
        ),
        "group": (
            {
                "group": [
                    {"pfs": {"repo": "left", "glob": "/(k*)-*.csv", "group_by": "$1"}},
                    {"pfs": {"repo": "right", "glob": "/(k*)-*.csv", "group_by": "$1"}},
                ]
            },
            "left right",
            3,
        ),
    }
    for name, (inp, names, expected) in cases.items():
        s = cmd_spec(name, inp, list_inputs)
        s["transform"]["env"] = {"NAMES": names}
        job = pipes.wait_job(pipes.create_pipeline(s).last_job, timeout=180)
        assert (name, job.state, job.total) == (name, "success", expected), job.error
        assert len(list(pipes.list_file(f"{name}@master"))) == expected
    joined = sorted(
        pipes.get_file("join@master", f.path).decode() for f in pipes.list_file("join@master")
    )
    assert joined == ["k1-left.csv k1-right.csv ", "k2-left.csv k2-right.csv "]
    outer = sorted(
        pipes.get_file("outer@master", f.path).decode() for f in pipes.list_file("outer@master")
    )
    assert "k3-left.csv " in outer
    dry = pipes.list_datum(input=cases["cross"][0])
    assert len(dry) == 4 and {tuple(i.name for i in d) for d in dry} == {("a", "b")}
    assert {i.path for d in dry for i in d} == {"/1.txt", "/2.txt", "/x.txt", "/y.txt"}


def test_pachyderm_skipped_datums_scenario(pipes: Client) -> None:
    """pachyderm_test.go TestSkippedDatums, as recorded in the conformance data."""
    data = json.loads((Path(__file__).parent / "data" / "pachyderm_conformance.json").read_text())
    assert any(s["id"] == "scenario/TestSkippedDatums" for s in data["scenarios"])
    pipes.create_repo("data")
    info = pipes.create_pipeline(
        cmd_spec("copy", {"pfs": {"repo": "data", "glob": "/*"}}, 'cp "$PFS/data"/* "$out"/')
    )
    job0 = pipes.wait_job(info.last_job, timeout=120)  # creation runs a job on the empty head
    assert (job0.state, job0.total) == ("success", 0)
    pipes.put_file("data@master", "/file", b"foo\n")
    (job1,) = pipes.wait_commit("data@master", timeout=120)
    assert job1.state == "success" and pipes.get_file("copy@master", "/file") == b"foo\n"
    assert len(pipes.list_datum(job1.id)) == 1
    pipes.put_file("data@master", "/file2", b"bar\n")
    (job2,) = pipes.wait_commit("data@master", timeout=120)
    assert len(pipes.list_job("copy")) == 3
    d1 = pipes.list_datum(job1.id)[0]
    assert pipes.inspect_datum(job2.id, d1.id).state == "skipped"
    assert len(pipes.list_datum(job2.id)) == 2 and job2.skipped == 1


def test_duplicate_output_paths_fail_the_job_naming_both_datums(pipes: Client) -> None:
    pipes.create_repo("data")
    with pipes.start_commit("data@master") as oc:
        oc.put_file("/a", b"a")
        oc.put_file("/b", b"b")
    job = pipes.wait_job(
        pipes.create_pipeline(
            cmd_spec("clash", {"pfs": {"repo": "data", "glob": "/*"}}, 'echo x > "$out/same.txt"')
        ).last_job,
        timeout=120,
    )
    assert job.state == "failure" and job.error["ename"] == "DuplicateOutput"
    ids = {d.id for d in pipes.list_datum(job.id)}
    assert set(job.error["datums"]) == ids and "/same.txt" in job.error["evalue"]


def test_model_revert_reruns_inference(pipes: Client) -> None:
    pipes.create_repo("model")
    pipes.create_repo("images")
    v1 = pipes.put_file("model@master", "/model.txt", b"v1").id
    pipes.put_file("model@master", "/model.txt", b"v2")
    with pipes.start_commit("images@master") as oc:
        oc.put_file("/i1", b"1")
        oc.put_file("/i2", b"2")
    inp = {
        "cross": [
            {"pfs": {"repo": "images", "glob": "/*"}},
            {"pfs": {"repo": "model", "glob": "/"}},
        ]
    }
    script = (
        'for f in "$PFS/images"/*; do '
        'echo "$(cat $model/model.txt) $(cat $f)" > "$out/$(basename $f)"; done'
    )
    pipes.wait_job(pipes.create_pipeline(cmd_spec("predict", inp, script)).last_job, timeout=120)
    assert pipes.get_file("predict@master", "/i1") == b"v2 1\n"
    revert = pipes.revert("model@master", to=v1)
    (job,) = pipes.wait_commit(f"model@{revert.id}", timeout=120)
    assert (job.state, job.processed, job.skipped) == ("success", 2, 0)
    assert pipes.get_file("predict@master", "/i1") == b"v1 1\n"
    prov = {p.repo: p.id for p in pipes.inspect_commit("predict@master").provenance}
    assert prov["model"] == revert.id


def test_transitive_propagation_and_pipeline_management(pipes: Client, tmp_path: Path) -> None:
    pipes.create_repo("raw")
    pipes.put_file("raw@master", "/r.txt", b"r")
    pipes.create_pipeline(
        cmd_spec("clean", {"pfs": {"repo": "raw", "glob": "/"}}, 'cp "$raw"/* "$out"/')
    )
    pipes.create_pipeline(
        cmd_spec("train", {"pfs": {"repo": "clean", "glob": "/"}}, 'ls "$clean" > "$out/files.txt"')
    )
    pipes.run_jobs(timeout=120)
    pipes.put_file("raw@master", "/s.txt", b"s")
    jobs = pipes.wait_commit("raw@master", timeout=120)
    assert [(j.pipeline, j.state) for j in jobs] == [("clean", "success"), ("train", "success")]
    assert pipes.get_file("train@master", "/files.txt") == b"r.txt\ns.txt\n"
    assert {p.repo for p in pipes.inspect_commit("train@master").provenance} == {"clean", "train"}
    assert [p.name for p in pipes.list_pipeline()] == ["clean", "train"]
    with pytest.raises(AlreadyExists):
        pipes.create_pipeline(cmd_spec("clean", {"pfs": {"repo": "raw", "glob": "/"}}, "true"))
    with pytest.raises(Conflict, match="input of pipeline"):
        pipes.delete_repo("raw")
    with pytest.raises(Conflict, match="delete the pipeline"):
        pipes.delete_repo("clean")
    with pytest.raises(Conflict, match="feeds"):
        pipes.delete_pipeline("clean")
    with pytest.raises(InvalidArgument, match="does not exist"):
        pipes.create_pipeline(cmd_spec("x", {"pfs": {"repo": "nope", "glob": "/"}}, "true"))
    with pytest.raises(InvalidArgument, match="cycle"):
        pipes.update_pipeline(cmd_spec("clean", {"pfs": {"repo": "train", "glob": "/"}}, "true"))
    with pytest.raises(InvalidArgument, match=r"transform\.notebook") as missing:
        pipes.create_pipeline(
            spec(
                "nb",
                {"pfs": {"repo": "raw", "glob": "/"}},
                notebook=str(tmp_path / "nbs" / "missing.ipynb"),
            ),
            base_dir=tmp_path,
        )
    # relative to the spec's folder, never the machine's absolute path
    assert str(tmp_path) not in str(missing.value) and "'nbs/missing.ipynb'" in str(missing.value)
    pipes.delete_pipeline("train")
    assert [p.name for p in pipes.list_pipeline()] == ["clean"]
    with pytest.raises(NotFound):
        pipes.inspect_repo("train")
    run = pipes.run_pipeline("clean")
    assert pipes.wait_job(run.id, timeout=120).skipped == 1


def test_a_dead_controllers_job_is_taken_over(pipes: Client) -> None:
    pipes.create_repo("data")
    pipes.put_file("data@master", "/a", b"a")
    info = pipes.create_pipeline(
        cmd_spec("copy", {"pfs": {"repo": "data", "glob": "/*"}}, 'cp "$PFS/data"/* "$out"/')
    )
    store = pipes.store
    with store.meta.write() as conn:  # a controller claims the job, then dies
        claimed = state.claim_job(conn, "dead-controller", lease_s=1.0)
    assert claimed.id == info.last_job
    assert pipes.inspect_job(info.last_job).state == "running"
    with store.meta.write() as conn:  # nobody else may take it while the lease lives
        assert state.claim_job(conn, "other", lease_s=1.0) is None
    time.sleep(1.2)
    job = pipes.wait_job(info.last_job, timeout=120)
    assert job.state == "success" and pipes.get_file("copy@master", "/a") == b"a"
    assert len(pipes.list_commit("copy@master")) == 1  # no duplicate output commit


def _create_in_process(store: str, body: str, go: Any, out: Any) -> None:
    """Create a pipeline with a client of its own, once ``go`` lets every racer start; put
    the outcome on ``out`` (a thread's or a process's)."""
    with Client(store) as c:
        go.wait()
        try:
            c.create_pipeline(json.loads(body))
            out.put("created")
        except Conflict as e:
            out.put(f"{type(e).__name__}: {e.message}")
        except Exception as e:  # reported to the test, which fails on it
            out.put(f"unexpected {type(e).__name__}: {e}")


@pytest.mark.parametrize("how", ["threads", "processes"])
def test_concurrent_creates_of_one_name_one_wins_the_other_conflicts(
    tmp_path: Path, how: str
) -> None:
    """Creating a pipeline is one transaction (repo, spec commit, row, first job): of two
    creates of one name at once, one succeeds and the other gets AlreadyExists (a Conflict),
    leaving exactly one pipeline, one spec commit and one job."""
    import multiprocessing
    import queue
    import threading

    store = str(tmp_path / "store")
    with Client(store) as c:
        c.create_repo("data")
        c.put_file("data@master", "/a", b"a")
    for attempt in range(3 if how == "threads" else 1):  # each round must end the same way
        name = f"race{attempt}"
        bodies = [
            json.dumps(cmd_spec(name, {"pfs": {"repo": "data", "glob": "/*"}}, f"echo {k}"))
            for k in range(2)
        ]
        workers: list[Any]
        if how == "threads":
            go: Any = threading.Barrier(2)
            out: Any = queue.Queue()
            workers = [
                threading.Thread(target=_create_in_process, args=(store, b, go, out))
                for b in bodies
            ]
        else:
            ctx = multiprocessing.get_context("spawn")
            go, out = ctx.Barrier(2), ctx.Queue()
            workers = [
                ctx.Process(target=_create_in_process, args=(store, b, go, out)) for b in bodies
            ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(120)
        got = sorted(out.get(timeout=10) for _ in range(2))
        assert got[0].startswith("AlreadyExists: ") and name in got[0], got
        assert got[1] == "created", got
        with Client(store) as c:
            assert [p.name for p in c.list_pipeline()].count(name) == 1
            assert len(c.list_commit(f"{name}@spec")) == 1
            assert len(c.list_job(name)) == 1
