"""The pipeline commands of ``jupyter pipes``, as real subprocesses: a real local store, a real
Dask cluster (threads), real commands and one real notebook run by papermill."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import click
import nbformat
import pytest

from jupyter_pipes.cli import cli, jobs
from jupyter_pipes.pipeline.records import JobInfo
from tests.test_cli import COMMIT_ID, Pipes, _error

SUMMARY = re.compile(
    r"job (?P<id>[0-9a-f]{32}) (?P<pipeline>\S+) (?P<state>\w+) (?P<processed>\d+) processed, "
    r"(?P<skipped>\d+) skipped, (?P<failed>\d+) failed( in \d+\.\ds)?"
)
UP = """\
pipeline: {name: up}
description: uppercase every file
input: {pfs: {repo: data, glob: "/*"}}
transform:
  cmd: [bash, -c, 'for f in "$PFS/data"/*; do tr a-z A-Z < "$f" > "$out/$(basename "$f")"; done; echo did "$data"']
"""  # noqa: E501
CAT = """\
pipeline: {name: cat}
input: {pfs: {repo: up, glob: "/"}}
transform: {cmd: [bash, -c, 'cat "$up"/* > "$out/all.txt"']}
"""


@pytest.fixture
def pipes(tmp_path: Path) -> Pipes:
    return Pipes(tmp_path / "store")


def summaries(out: str) -> list[dict[str, str]]:
    """The ``job ...`` summary lines of a waiting command's stdout."""
    found = [SUMMARY.fullmatch(line) for line in out.splitlines() if line.startswith("job ")]
    assert all(found), out
    return [m.groupdict() for m in found if m]


def counts(s: dict[str, str]) -> tuple[str, str, int, int, int]:
    return s["pipeline"], s["state"], int(s["processed"]), int(s["skipped"]), int(s["failed"])


def with_data(pipes: Pipes, tmp_path: Path, **files: str) -> None:
    pipes("create", "repo", "data")
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    pipes("put", "file", "data@master:/", *[a for n in files for a in ("-f", tmp_path / n)])


# -- in-process ------------------------------------------------------------------------------


def test_every_pipeline_command_has_help_with_an_example() -> None:
    def walk(group: click.Group, prefix: str) -> dict[str, click.Command]:
        out: dict[str, click.Command] = {}
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                out.update(walk(cmd, f"{prefix} {name}"))
            else:
                out[f"{prefix} {name}"] = cmd
        return out

    commands = walk(cli, "")
    mine = {
        " create pipeline",
        " update pipeline",
        " list pipeline",
        " inspect pipeline",
        " delete pipeline",
        " run pipeline",
        " list job",
        " inspect job",
        " wait job",
        " wait commit",
        " list datum",
        " inspect datum",
        " get notebook",
        " logs",
        " demo",
        " stop job",
        " delete job",
        " restart datum",
        " subscribe commit",
    }
    assert mine <= set(commands)
    for name in mine:
        assert "Example" in (commands[name].help or ""), name
        assert f"jupyter pipes{name}" in (commands[name].help or ""), name
    for name in (" put file", " delete file", " copy file", " revert branch", " create branch"):
        assert "wait" in {p.name for p in commands[name].params}, name


def test_summary_and_error_text() -> None:
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    job = JobInfo(
        id="a" * 32,
        pipeline="p",
        version=1,
        state="failure",
        reason="1 datum(s) failed",
        created=now,
        started=now,
        finished=now.replace(second=2),
        inputs=(),
        spec_commit=None,
        output_commit=None,
        total=3,
        processed=1,
        skipped=1,
        failed=1,
        error={"datum": "d1", "cell_index": 2, "ename": "ValueError", "evalue": "bad row"},
    )
    assert jobs.summary(job) == f"job {'a' * 32} p failure 1 processed, 1 skipped, 1 failed in 2.0s"
    assert jobs.error_text(job) == "datum d1, cell 2: ValueError: bad row"
    assert jobs.seconds(None) == "-" and jobs.seconds(75) == "About a minute"


# -- subprocess ------------------------------------------------------------------------------


def test_create_list_inspect_update_delete_pipeline(pipes: Pipes, tmp_path: Path) -> None:
    with_data(pipes, tmp_path, **{"a.txt": "ay\n", "b.txt": "bee\n"})
    (tmp_path / "up.yaml").write_text(UP)
    created = pipes("create", "pipeline", "-f", tmp_path / "up.yaml")
    (s,) = summaries(created.out)
    assert counts(s) == ("up", "success", 2, 0, 0)
    assert f"job {s['id']} up running" in created.err and f"job {s['id']} up success" in created.err
    job = s["id"]

    (
        out_a,
        plist,
        pjs,
        ptext,
        pinfo,
        jlist,
        jjs,
        jinfo,
        jtext,
        dlist,
        djs,
        dry,
        dryjs,
        log,
        nope,
    ) = pipes.batch(
        ["get", "file", "up@master:/a.txt"],
        ["list", "pipeline"],
        ["list", "pipeline", "--json"],
        ["inspect", "pipeline", "up"],
        ["inspect", "pipeline", "up", "--json"],
        ["list", "job"],
        ["list", "job", "-p", "up", "-n", "1", "--json"],
        ["inspect", "job", job[:8], "--json"],
        ["inspect", "job", job],
        ["list", "datum", job],
        ["list", "datum", job, "--json"],
        ["list", "datum", "-f", tmp_path / "up.yaml"],
        ["list", "datum", "-f", tmp_path / "up.yaml", "--json"],
        ["logs", job],
        ["inspect", "pipeline", "nope"],
        rc=[0] * 14 + [1],
    )
    assert out_a.out == "AY\n"
    assert plist.lines()[0].split() == [
        "NAME",
        "VERSION",
        "INPUT",
        "LAST",
        "JOB",
        "STATE",
        "DESCRIPTION",
    ]
    assert plist.lines()[1].split() == [
        "up",
        "1",
        "data:/*",
        job,
        "success",
        "uppercase",
        "every",
        "file",
    ]
    (p,) = pjs.json()
    assert (p["name"], p["version"], p["inputs"], p["last_job"], p["last_job_state"]) == (
        "up",
        1,
        ["data@master"],
        job,
        "success",
    )
    assert p == pinfo.json()
    assert "Name: up\n" in ptext.out and "Input: data:/*\n" in ptext.out
    assert f"Spec commit: up@{p['spec_commit']}\n" in ptext.out
    assert "Spec:\n  pipeline:\n    name: up\n" in ptext.out and "glob: /*" in ptext.out
    assert jlist.lines()[0].split() == ["ID", "PIPELINE", "STATE", "STARTED", "DURATION", "DATUMS"]
    assert jlist.lines()[1].split()[:3] == [job, "up", "success"]
    assert jlist.lines()[1].endswith("2/0/0 of 2")
    (j,) = jjs.json()
    assert j == jinfo.json()
    assert (j["id"], j["state"], j["total"], j["processed"], j["error"]) == (
        job,
        "success",
        2,
        2,
        None,
    )
    data_head = pipes.head("data@master")
    assert j["inputs"] == [{"repo": "data", "id": data_head, "branch": "master"}]
    assert f"Input data@master: {data_head}" in jtext.out
    assert f"Output commit: {j['output_commit']}" in jtext.out
    assert dlist.lines()[0].split() == ["ID", "STATE", "INPUTS", "TRIES", "TIME"]
    assert sorted(line.split()[2] for line in dlist.lines()[1:]) == ["data:/a.txt", "data:/b.txt"]
    datums = djs.json()
    assert sorted((d["state"], d["inputs"][0]["path"], d["outputs"][0]) for d in datums) == [
        ("success", "/a.txt", "/a.txt"),
        ("success", "/b.txt", "/b.txt"),
    ]
    assert sorted(dry.lines()) == ["data:/a.txt", "data:/b.txt"]
    assert sorted(d[0]["path"] for d in dryjs.json()) == ["/a.txt", "/b.txt"]
    assert all(len(d) == 1 and d[0]["name"] == "data" for d in dryjs.json())
    assert log.out.count("--- datum ") == 2 and log.out.count("did ") == 2
    _error(nope, "pipeline 'nope' not found")

    # --wait on put file: only the new datum runs; the others are reused
    (tmp_path / "c.txt").write_text("sea\n")
    put = pipes("put", "file", "data@master:/c.txt", "-f", tmp_path / "c.txt", "--wait")
    assert COMMIT_ID.fullmatch(put.lines()[0])
    assert [counts(x) for x in summaries(put.out)] == [("up", "success", 1, 2, 0)]
    one = datums[0]["id"]
    assert pipes("inspect", "datum", job, one, "--json").json()["id"] == one
    assert pipes("logs", job, "--datum", one).out.startswith("did ")

    # update: unchanged code skips everything, --reprocess re-runs everything
    same = pipes("update", "pipeline", "-f", tmp_path / "up.yaml")
    assert [counts(x) for x in summaries(same.out)] == [("up", "success", 0, 3, 0)]
    again = pipes("update", "pipeline", "-f", tmp_path / "up.yaml", "--reprocess")
    assert [counts(x) for x in summaries(again.out)] == [("up", "success", 3, 0, 0)]
    assert pipes("inspect", "pipeline", "up", "--json").json()["version"] == 3

    assert pipes("delete", "pipeline", "up").out == ""
    pl, repos = pipes.batch(["list", "pipeline", "--json"], ["list", "repo", "--json"])
    assert pl.json() == [] and [r["name"] for r in repos.json()] == ["data"]


def test_no_wait_then_wait_and_branch_moves_with_wait(pipes: Pipes, tmp_path: Path) -> None:
    with_data(pipes, tmp_path, **{"a.txt": "a\n"})
    (tmp_path / "up.yaml").write_text(UP)
    (tmp_path / "cat.yaml").write_text(CAT)
    queued = pipes("create", "pipeline", "-f", tmp_path / "up.yaml", "--no-wait")
    m = re.fullmatch(
        r"queued job ([0-9a-f]{32}); run 'jupyter pipes wait job \1' to run it\n", queued.out
    )
    assert m, queued.out
    job = m.group(1)
    assert pipes("inspect", "job", job, "--json").json()["state"] == "created"
    _error(pipes("wait", "job", job, "--timeout", "0", rc=1), "timed out")
    waited = pipes("wait", "job", job)
    assert [counts(x) for x in summaries(waited.out)] == [("up", "success", 1, 0, 0)]

    # a downstream pipeline: its creation job runs on up's output
    (s,) = summaries(pipes("create", "pipeline", "-f", tmp_path / "cat.yaml").out)
    assert counts(s) == ("cat", "success", 1, 0, 0)
    assert pipes("get", "file", "cat@master:/all.txt").out == "A\n"

    # run pipeline waits for the job and the jobs it feeds; --progress: tqdm bars of datums
    ran = pipes("run", "pipeline", "up", "--reprocess", "--progress")
    assert [counts(x) for x in summaries(ran.out)] == [
        ("up", "success", 1, 0, 0),
        ("cat", "success", 0, 1, 0),
    ]
    assert "up: 100%" in ran.err and "1/1 [" in ran.err and "datum/s" in ran.err
    assert pipes("run", "pipeline", "up", "--no-wait").out.startswith("queued job ")

    # every branch-moving command takes --wait and runs the jobs downstream, transitively
    (tmp_path / "b.txt").write_text("b\n")
    put = pipes("put", "file", "data@master:/b.txt", "-f", tmp_path / "b.txt", "--wait")
    assert [counts(x) for x in summaries(put.out)] == [
        ("up", "success", 1, 1, 0),
        ("cat", "success", 1, 0, 0),
    ]
    assert pipes("get", "file", "cat@master:/all.txt").out == "A\nB\n"
    copied = pipes("copy", "file", "data@master:/b.txt", "data@master:/c.txt", "--wait")
    assert [counts(x)[:3] for x in summaries(copied.out)] == [
        ("up", "success", 1),
        ("cat", "success", 1),
    ]
    deleted = pipes("delete", "file", "data@master:/c.txt", "--wait")
    assert [x["state"] for x in summaries(deleted.out)] == ["success", "success"]
    reverted = pipes("revert", "branch", "data@master", "--to", "master^3", "--wait")
    assert COMMIT_ID.fullmatch(reverted.lines()[0]) and len(summaries(reverted.out)) == 2
    assert pipes("get", "file", "cat@master:/all.txt").out == "A\n"
    moved = pipes("create", "branch", "data@master", "--head", "master^1", "--wait")
    assert [x["pipeline"] for x in summaries(moved.out)] == ["up", "cat"]
    assert pipes("get", "file", "cat@master:/all.txt").out == "A\nB\n"
    # a commit no pipeline reads: nothing to wait for
    pipes("create", "repo", "other")
    lone = pipes("put", "file", "other@master:/x", "-f", "-", "--wait", stdin=b"x")
    assert COMMIT_ID.fullmatch(lone.out.strip()) and "no jobs were triggered" in lone.err
    # without --wait, stdout is just the commit id; stderr names the queued jobs (#12: here,
    # with auto-start off, they stay queued)
    plain = pipes("put", "file", "data@master:/d.txt", "-f", "-", stdin=b"d")
    assert COMMIT_ID.fullmatch(plain.out.strip())
    assert plain.err.startswith("queued 2 job(s): up@") and "wait commit" in plain.err
    waited = pipes("wait", "commit", f"data@{plain.out.strip()}")
    assert [x["pipeline"] for x in summaries(waited.out)] == ["up", "cat"]
    _error(pipes("delete", "pipeline", "up", rc=1), "feeds cat")


def test_failing_pipeline_exits_1_with_its_error(pipes: Pipes, tmp_path: Path) -> None:
    with_data(pipes, tmp_path, **{"a.txt": "a\n"})
    bad = {
        "pipeline": {"name": "bad"},
        "input": {"pfs": {"repo": "data", "glob": "/"}},
        "datum_tries": 1,
        "transform": {"cmd": ["bash", "-c", "echo boom >&2; exit 3"]},
    }
    res = pipes("create", "pipeline", "-f", "-", stdin=json.dumps(bad).encode(), rc=1)
    (s,) = summaries(res.out)
    assert counts(s) == ("bad", "failure", 0, 0, 1)
    job = s["id"]
    datum = pipes("list", "datum", job, "--json").json()[0]["id"]
    assert f"error: job {job} (bad) failure: datum {datum}: CommandFailed: exit code 3" in res.err
    assert f"jupyter pipes logs {job} --datum {datum}" in res.err and "Traceback" not in res.err
    assert "boom" in pipes("logs", job).out
    info = pipes("inspect", "job", job)
    assert "State: failure" in info.out and "Error: datum" in info.out
    _error(pipes("get", "notebook", job, datum, rc=1), "has no notebook")

    # downstream of a failing pipeline: its job becomes unrunnable, and that fails a wait too
    (tmp_path / "cat.yaml").write_text(CAT.replace("up", "bad"))
    pipes("create", "pipeline", "-f", tmp_path / "cat.yaml")
    put = pipes("put", "file", "data@master:/b.txt", "-f", "-", "--wait", stdin=b"b", rc=1)
    assert [x["state"] for x in summaries(put.out)] == ["failure", "unrunnable"]
    assert "(cat) unrunnable: upstream job" in put.err
    _error(pipes("wait", "job", "0000ffff", rc=1), "not found")
    bad_spec = pipes("create", "pipeline", "-f", "-", stdin=b"pipeline: {name: x}\n", rc=1)
    assert bad_spec.err.startswith("error: ") and "input" in bad_spec.err


def write_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("data = ''\nout = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "import pathlib\n"
            "for p in pathlib.Path(data).rglob('*.txt'):\n"
            "    (pathlib.Path(out) / (p.stem + '.len')).write_text(str(len(p.read_text())))\n"
            "print('measured', datum_id)"
        ),
    ]
    nbformat.write(nb, path)
    return path


def test_notebook_pipeline_and_its_executed_notebook(pipes: Pipes, tmp_path: Path) -> None:
    with_data(pipes, tmp_path, **{"a.txt": "four"})
    (tmp_path / "nb").mkdir()
    write_notebook(tmp_path / "nb" / "measure.ipynb")
    spec = (
        b"pipeline: {name: measure}\ninput: {pfs: {repo: data, glob: /*}}\n"
        b"transform: {notebook: nb/measure.ipynb}\n"
    )
    # from stdin, the notebook path is read against the working directory
    res = pipes("create", "pipeline", "-f", "-", stdin=spec, cwd=tmp_path)
    (s,) = summaries(res.out)
    assert counts(s) == ("measure", "success", 1, 0, 0)
    assert pipes("get", "file", "measure@master:/a.len").out == "4"
    job = s["id"]
    (d,) = pipes("list", "datum", job, "--json").json()
    assert d["has_notebook"]
    text, stdout_nb, log = pipes.batch(
        ["inspect", "datum", job, d["id"]],
        ["get", "notebook", job, d["id"]],
        ["logs", job, "--datum", d["id"]],
    )
    assert f"Notebook: jupyter pipes get notebook {job} {d['id']}" in text.out
    assert json.loads(stdout_nb.out)["nbformat"] == 4
    assert f"measured {d['id']}" in log.out
    pipes("get", "notebook", job, d["id"][:8], "-o", tmp_path / "run.ipynb")
    executed = nbformat.read(tmp_path / "run.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)


def test_demo_help(pipes: Pipes) -> None:
    res = pipes("demo", "--help")
    assert "--example" in res.out and "--fresh" in res.out and "jupyter pipes demo" in res.out


def test_global_commit_verbs(pipes: Pipes, tmp_path: Path) -> None:
    with_data(pipes, tmp_path, **{"a.txt": "a\n"})
    (tmp_path / "up.yaml").write_text(UP)
    (tmp_path / "cat.yaml").write_text(CAT)
    pipes("create", "pipeline", "-f", tmp_path / "up.yaml")
    pipes("create", "pipeline", "-f", tmp_path / "cat.yaml")
    gid = pipes("put", "file", "data@master:/b.txt", "-f", "-", stdin=b"b\n").out.strip()
    assert re.search(rf"Global ID:\s+{gid}", pipes("inspect", "commit", "data@master").out)
    waited = pipes("wait", "commit", gid)  # a bare global id, as pachctl 2.x takes it
    assert [x["pipeline"] for x in summaries(waited.out)] == ["up", "cat"]
    listed = pipes("list", "commit", gid, "--json").json()
    assert [c["repo"] for c in listed] == ["data", "up", "cat"]
    assert {c["global_id"] for c in listed} == {gid}
    text = pipes("inspect", "commit", gid[:10]).out
    assert re.search(rf"Global ID:\s+{gid}", text) and "cat" in text and "success" in text
    detail = pipes("inspect", "commit", gid, "--json").json()
    assert [j["pipeline"] for j in detail["jobs"]] == ["up", "cat"] and detail["done"]
    cat_commit = pipes("inspect", "commit", f"cat@{gid}", "--json").json()
    assert cat_commit["id"] == detail["commits"][2]["id"]
    _error(pipes("squash", "commit", gid, rc=1), "branch head")
    pipes("delete", "commit", gid)
    assert pipes("get", "file", "cat@master:/all.txt").out == "A\n"
    _error(pipes("inspect", "commit", gid, rc=1), "not found")
    assert pipes("list", "job", "--json").json()[0]["state"] == "success"  # nothing re-ran
