"""``%pipe`` / ``%%pipe`` in a real kernel (nbclient), and the notebook widgets against a real
store.

One notebook, built here cell by cell, runs in one kernel (a kernel start costs ~1-2 s); the
tests then read its outputs. A command pipeline keeps the job it runs fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes import Client

pytest.importorskip("ipywidgets")

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
WIDGET = "application/vnd.jupyter.widget-view+json"

STAGE_SPEC = """\
pipeline: {name: stage}
description: a notebook stage developed with %pipe datum
input: {pfs: {repo: data, glob: "/*"}}
transform:
  notebook: stage.ipynb
  parameters: {scale: 3}
"""
UPPER_SPEC = """\
pipeline: {name: upper}
input: {pfs: {repo: data, glob: "/*"}}
transform:
  cmd: [bash, -c, 'tr a-z A-Z < "$data" > "$out/$(basename "$data")"']
"""

CELLS: dict[str, str] = {
    "load_ext": "%load_ext jupyter_pipes",
    "create": '%pipe create repo data -d "raw rows"',
    "put": "%pipe put file data@master:/a.csv -f a.csv -m 'first rows'\n"
    "%pipe put file data@master:/b.csv -f b.csv -m 'more rows'",
    "list": "%pipe list repo",
    "json": "repos = %pipe list repo --json\n"
    "print(type(repos).__name__, [r['name'] for r in repos])",
    "commits": "%pipe list commit data",
    "error": "%pipe inspect repo nope\nprint('still running')",
    "usage": "%pipe lst repo",
    "stage": f"%%pipe create pipeline --no-wait\n{STAGE_SPEC}",
    "upper": f"%%pipe create pipeline\n{UPPER_SPEC}",
    "wait": "%pipe put file data@master:/c.csv -f c.csv\n%pipe wait commit data@master",
    "jobs": "%pipe list job -p upper",
    "datum": "%pipe datum stage 1\n"
    "import os\n"
    "print(sorted(os.listdir(data)), os.listdir(out), job_id, scale, len(datum_id))",
    "datum_in_a_job": "job_id = 'a-real-job'\n%pipe datum stage 0\nprint(job_id)",
    "load": "df = %pipe load data@master:/a.csv\n"
    "path = %pipe load upper@master:/a.csv --path\n"
    "print(type(df).__name__, df.shape, list(df.columns), open(path).read().strip())",
    "dag": "%pipe dag",
    "history": "%pipe history data@master",
    "inspect": "%pipe inspect pipeline upper",
    "help": "%pipe --help",
    "other_store": "%pipe --store other-store list repo --json",
}


def notebook_of(cells: dict[str, str]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [
        nbformat.v4.new_code_cell(src, metadata={"tags": [name]}) for name, src in cells.items()
    ]
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(
        nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


class Ran(dict):  # type: ignore[type-arg]
    """The executed notebook's outputs by cell name, and the folder it ran in."""

    cwd: Path


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    """The executed notebook's outputs by cell name (the store is ``.pipes`` in its folder)."""
    cwd = tmp_path_factory.mktemp("magics")
    (cwd / "a.csv").write_text("x,y\n1,2\n3,4\n")
    (cwd / "b.csv").write_text("x,y\n5,6\n")
    (cwd / "c.csv").write_text("x,y\n7,8\n")
    stage = notebook_of({"parameters": "data = ''\nout = ''\nscale = 1"})
    stage.cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(stage, cwd / "stage.ipynb")
    env = {
        k: os.environ.pop(k) for k in ("JUPYTER_PIPES_STORE", "JUPYTER_PIPES_DB") if k in os.environ
    }
    cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cwd / "cache")
    try:
        nb = execute(notebook_of(CELLS), cwd)
    finally:
        os.environ.update(env)
        if cache is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = cache
    out = Ran((c.metadata["tags"][0], c.outputs) for c in nb.cells)
    out.cwd = cwd
    yield out


def streams(outputs: list[dict[str, Any]], name: str) -> str:
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == name)


def displays(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o["data"] for o in outputs if o["output_type"] == "display_data"]


def test_listings_are_html_tables_with_a_plain_text_fallback(ran: Ran) -> None:
    (data,) = displays(ran["list"])
    assert data["text/plain"].splitlines()[0].split() == [
        "NAME",
        "CREATED",
        "SIZE",
        "(MASTER)",
        "DESCRIPTION",
    ]
    html = data["text/html"]
    assert html.startswith('<table class="jupyter-pipes">')
    assert "<th" in html and ">SIZE (MASTER)</th>" in html and ">raw rows</td>" in html
    (commits,) = displays(ran["commits"])
    assert commits["text/html"].count("<tr>") == 3  # header + two commits
    assert ">first rows</td>" in commits["text/html"] and ">user</td>" in commits["text/html"]
    (jobs,) = displays(ran["jobs"])
    assert jobs["text/html"].count(">success</td>") == 2
    assert ">1/2/0 of 3</td>" in jobs["text/html"] and ">2/0/0 of 2</td>" in jobs["text/html"]
    assert "1/2/0 of 3" in jobs["text/plain"]


def test_inspect_shows_key_values_then_the_spec_text(ran: Ran) -> None:
    (data,) = displays(ran["inspect"])
    assert '<table class="jupyter-pipes jupyter-pipes-kv">' in data["text/html"]
    assert ">Name</th>" in data["text/html"] and ">upper</td>" in data["text/html"]
    assert "<pre>Spec:" in data["text/html"] and "cmd:" in data["text/plain"]


def test_json_returns_python_objects(ran: Ran) -> None:
    assert streams(ran["json"], "stdout") == "list ['data']\n"
    assert not displays(ran["json"])
    assert ran["other_store"][0]["data"]["text/plain"] == "[]"  # a second store, empty


def test_errors_print_one_line_and_no_traceback(ran: Ran) -> None:
    assert streams(ran["error"], "stderr") == "error: repo 'nope' not found\n"
    assert streams(ran["error"], "stdout") == "still running\n"
    err = streams(ran["usage"], "stderr")
    assert err.count("\n") == 1 and err.startswith("error: No such command 'lst'")
    for outputs in ran.values():
        assert all(o["output_type"] != "error" for o in outputs)


def test_put_prints_the_commit_id(ran: Ran) -> None:
    ids = streams(ran["put"], "stdout").split()
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)


def test_cell_magic_creates_pipelines_and_waits_with_progress_bars(ran: Ran) -> None:
    assert streams(ran["stage"], "stdout").startswith("queued job ")
    first = streams(ran["upper"], "stdout")
    assert first.startswith("job ") and " upper success 2 processed, 0 skipped, 0 failed" in first
    assert any(WIDGET in d for d in displays(ran["upper"]))  # the progress bar
    text = streams(ran["wait"], "stdout")
    assert " upper success 1 processed, 2 skipped, 0 failed" in text
    assert any(WIDGET in d for d in displays(ran["wait"]))
    cwd = ran.cwd
    with Client(str(cwd / ".pipes")) as c:
        assert c.get_file("upper@master", "/c.csv") == b"X,Y\n7,8\n"
        assert c.inspect_pipeline("stage").spec["transform"]["parameters"] == {"scale": 3}


def test_datum_sets_the_stage_variables_and_writes_the_files(ran: Ran) -> None:
    text = streams(ran["datum"], "stdout")
    assert "datum 1 of 3 of pipeline stage" in text
    for name in ("data = ", "out = ", "datum_id = ", "job_id = 'dev'", "scale = 3"):
        assert name in text
    assert text.splitlines()[-1] == "['b.csv'] [] dev 3 32"
    data_dir = next(
        line.split("= ")[1].strip("'")
        for line in text.splitlines()
        if line.strip().startswith("data = ")
    )
    assert Path(data_dir, "b.csv").read_text() == "x,y\n5,6\n"
    assert Path(data_dir).parent.name == "pfs" and Path(data_dir).parent.joinpath("out").is_dir()


def test_datum_does_nothing_in_a_kernel_that_runs_a_job(ran: Ran) -> None:
    assert streams(ran["datum_in_a_job"], "stdout") == (
        "%pipe datum: skipped, this kernel runs job a-real-job (its inputs and parameters are "
        "set by the run)\na-real-job\n"
    )


def test_load_returns_a_dataframe_or_a_path(ran: Ran) -> None:
    assert streams(ran["load"], "stdout") == "DataFrame (2, 2) ['x', 'y'] X,Y\n1,2\n3,4\n"
    cwd = ran.cwd
    assert list((cwd / "cache" / "jupyter_pipes" / "files").rglob("a.csv"))


def test_dag_and_history_widgets_display_with_an_html_fallback(ran: Ran) -> None:
    (dag,) = displays(ran["dag"])
    assert WIDGET in dag and dag["text/html"].startswith("<svg")
    assert (
        'data-id="pipeline:upper"' in dag["text/html"]
        and 'data-state="success"' in (dag["text/html"])
    )
    (history,) = displays(ran["history"])
    assert WIDGET in history


def test_help_lists_cli_and_notebook_verbs(ran: Ran) -> None:
    text = streams(ran["help"], "stdout")
    assert "Usage: %pipe" in text and "Notebook verbs" in text and "datum PIPELINE [N]" in text


# -- widgets at the Python level --------------------------------------------------------------


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()


def test_history_widget_revert_button_moves_the_branch(pipes: Client) -> None:
    from jupyter_pipes.magics.widgets import HistoryWidget

    pipes.create_repo("model")
    first = pipes.put_file("model@master", "/m.txt", b"v1", message="v1")
    pipes.put_file("model@master", "/m.txt", b"v2", message="v2")
    widget = HistoryWidget(pipes, "model@master")
    assert list(widget.buttons) == [c.id for c in pipes.list_commit("model@master")]
    head = pipes.inspect_commit("model@master").id
    assert widget.buttons[head].disabled and not widget.buttons[first.id].disabled
    widget.buttons[first.id].click()  # asks first, as the sidebar does
    assert pipes.inspect_commit("model@master").id == head
    widget.confirm.children[1].children[0].click()  # "Revert model@master"
    now = pipes.inspect_commit("model@master")
    assert now.origin == "revert" and now.restores == first.id and now.parent == head
    assert pipes.get_file("model@master", "/m.txt") == b"v1"
    assert next(iter(widget.buttons)) == now.id  # refreshed: the revert is the new head
    assert "reverted model@master to" in widget.status.value


def test_history_widget_shows_errors_in_place(pipes: Client) -> None:
    from jupyter_pipes.magics.widgets import HistoryWidget

    widget = HistoryWidget(pipes, "nope@master")
    assert widget.status.value == "error: repo 'nope' not found"


def test_dag_widget_and_progress_bars_follow_a_real_job(pipes: Client) -> None:
    from jupyter_pipes.magics.widgets import DagWidget, JobProgressWidget

    pipes.create_repo("data")
    pipes.put_file("data@master", "/a.txt", b"a")
    dag = DagWidget(pipes)
    assert 'data-id="repo:data"' in dag.picture.value and "pipeline:" not in dag.picture.value
    info = pipes.create_pipeline(
        {
            "pipeline": {"name": "copy"},
            "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["bash", "-c", 'cp "$PFS/data"/* "$out"/']},
        }
    )
    shown: list[Any] = []
    bars = JobProgressWidget(show=shown.append)
    job = pipes.wait_job(info.last_job, timeout=120, progress=bars)
    assert job.state == "success" and shown == [bars.box]
    bar, label = bars.bars[job.id]
    assert (bar.value, bar.max, bar.bar_style) == (1, 1, "success")
    assert "1 processed, 0 skipped, 0 failed of 1" in label.value
    # every state change redrew the live DAG: the pipeline is there, green
    assert 'data-id="pipeline:copy" data-state="success"' in dag.picture.value


def test_dag_widget_timer_redraws_until_stopped(pipes: Client) -> None:
    import time

    from jupyter_pipes.magics.widgets import DagWidget

    dag = DagWidget(pipes, interval=0.2)
    try:
        assert dag.text == "no repos yet"
        pipes.create_repo("late")
        deadline = time.monotonic() + 10
        while "late" not in dag.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert dag.text == "late (no pipeline reads it)"
    finally:
        dag.stop()
    pipes.create_repo("later")
    time.sleep(0.5)
    assert "later" not in dag.text
    dag.refresh()
    assert "later" in dag.text


def test_dag_layout_puts_each_pipeline_right_of_its_inputs() -> None:
    from jupyter_pipes.magics import graph

    def p(name: str, inputs: tuple[str, ...], state: str | None) -> Any:
        from datetime import datetime, timezone

        from jupyter_pipes.pipeline.records import PipelineInfo

        now = datetime.now(timezone.utc)
        return PipelineInfo(name, 1, {}, "s", "", inputs, "master", now, now, None, state)

    def r(name: str) -> Any:
        from datetime import datetime, timezone

        from jupyter_pipes.store.records import RepoInfo

        return RepoInfo(name, "", datetime.now(timezone.utc), ("master",), 0, None)

    from jupyter_pipes.pipeline.dag import dag as make_dag

    dag = graph.build(
        make_dag(
            [r("training"), r("model"), r("samples"), r("predict")],
            [
                p("model", ("training@master",), "success"),
                p("predict", ("samples@master", "model@master"), "failure"),
            ],
        )
    )
    cols = {n.id: n.column for n in dag.nodes}
    # samples sits just left of its reader, under the model repo
    assert cols == {
        "repo:training": 0,
        "pipeline:model": 1,
        "repo:model": 2,
        "repo:samples": 2,
        "pipeline:predict": 3,
        "repo:predict": 4,
    }
    assert (dag.node("repo:model").row, dag.node("repo:samples").row) == (0, 1)
    assert graph.to_text(dag).splitlines() == [
        "training -> [model: success]",
        "[model: success] -> model",
        "samples -> [predict: failure]",
        "model -> [predict: failure]",
        "[predict: failure] -> predict",
    ]
    svg = graph.to_svg(dag)
    assert svg.count("<g class=") == 6 and svg.count("marker-end=") == 5
    assert graph.STATE_COLOURS["failure"] in svg and 'data-state="failure"' in svg
    assert json.dumps(svg)  # plain text, embeddable
