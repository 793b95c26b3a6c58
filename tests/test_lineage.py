"""Lineage (#14) through the Client: a file's lineage, "why did it change", the branch timeline.

On the iris demo (real kernels, a real Dask cluster, a real local store; run once per process,
see ``lineage_stores.py``) and on a diamond DAG of ``cmd`` pipelines.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import InvalidArgument, NotFound
from jupyter_pipes.store.store import os_user

from .lineage_stores import Demo, Diamond, build_diamond, demo_store

pytest.importorskip("sklearn")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

PRED = "/batch-01.predictions.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Demo]]:
    d = demo_store(tmp_path_factory.mktemp("lineage") / "store")
    client = Client(str(d.store))
    yield client, d
    client.close()


@pytest.fixture(scope="module")
def diamond(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Diamond]]:
    client = Client(str(tmp_path_factory.mktemp("diamond") / "store"), n_workers=1)
    d = build_diamond(client)
    yield client, d
    client.close()


# -- lineage -------------------------------------------------------------------------------------


def test_a_prediction_reaches_the_training_file_and_the_train_notebook_version(
    demo: tuple[Client, Demo],
) -> None:
    client, d = demo
    lin = client.lineage(f"predict@{d.predict_before_revert}:{PRED}")
    root = lin.file()
    assert (root.repo, root.path) == ("predict", PRED)
    assert root.hash == client.inspect_file(f"predict@{d.predict_before_revert}", PRED).hash
    predict, model = lin.upstream_steps()
    assert (predict.pipeline, model.pipeline) == ("predict", "model")
    # the datum and the job that wrote the file, with its executed notebook
    assert PRED in client.inspect_datum(predict.job, predict.datum).outputs
    assert predict.has_notebook and client.get_datum_notebook(predict.job, predict.datum)
    # the exact input files, with their commits and content hashes
    samples = next(i for i in predict.inputs if i.name == "samples")
    (batch,) = [lin.file(k) for k in samples.files]
    assert batch.hash == client.inspect_file(f"samples@{samples.commit}", "/batch-01.csv").hash
    model_input = next(i for i in predict.inputs if i.name == "model")
    assert model_input.commit == d.model[1]  # v2: retrained on both training files
    assert {lin.file(k).path for k in model_input.files} == {
        "/metrics.json",
        "/model.pkl",
        "/training-data.png",
    }
    # the train notebook version: the spec commit the model job ran, and its notebook's hash
    spec_commit = client.inspect_job(model.job).spec_commit
    assert model.spec_commit == spec_commit
    assert model.notebook == "train.ipynb" and model.parameters == {"C": 1.0}
    assert (
        model.notebook_hash == client.inspect_file(f"model@{spec_commit}", "/notebook.ipynb").hash
    )
    # down to the user commits of the training files: who, when, message
    training = next(i for i in model.inputs if i.name == "training")
    files = {lin.file(k).path: lin.file(k) for k in training.files}
    assert sorted(files) == ["/iris-part1.csv", "/iris-part2.csv"]
    part2 = lin.commit(files["/iris-part2.csv"].written_in or "")
    assert (part2.id, part2.origin, part2.message) == (
        d.training[1],
        "user",
        "48 more labelled iris rows",
    )
    assert part2.actor == os_user() and part2.time is not None
    assert lin.commit(files["/iris-part1.csv"].written_in or "").id == d.training[0]
    # the model files share one step: the datum is not repeated per file
    assert len({lin.file(k).written_by for k in model_input.files}) == 1
    assert not lin.truncated


def test_the_cell_that_wrote_each_file_is_named(demo: tuple[Client, Demo]) -> None:
    client, d = demo
    lin = client.lineage(f"model@{d.model[1]}:/metrics.json")
    (step,) = lin.steps
    assert step.cell is not None and "metrics.json" in step.cell.source
    executed = json.loads(client.get_datum_notebook(step.job, step.datum))
    assert "".join(executed["cells"][step.cell.index]["source"]) == step.cell.source
    pred = client.lineage(f"predict@{d.predict_before_revert}:{PRED}").upstream_steps()[0]
    assert pred.cell is not None and "to_csv" in pred.cell.source
    assert client.lineage(f"model@{d.model[1]}:/metrics.json", cells=False).steps[0].cell is None


def test_a_revert_is_followed_to_the_commit_it_restores(demo: tuple[Client, Demo]) -> None:
    client, d = demo
    lin = client.lineage(f"predict@{d.predict_after_revert}:{PRED}")
    predict, model = lin.upstream_steps()
    model_files = [lin.file(k) for i in predict.inputs if i.name == "model" for k in i.files]
    assert {f.commit for f in model_files} == {d.model[2]}
    assert {f.via for f in model_files} == {(d.model[2],)}
    assert model.output_commit == d.model[0]  # v1's job: trained on the first file only
    training = [lin.file(k).path for i in model.inputs for k in i.files]
    assert training == ["/iris-part1.csv"]
    assert lin.commit(d.model[2]).restores == d.model[0]


def test_lineage_errors(demo: tuple[Client, Demo]) -> None:
    client, _ = demo
    with pytest.raises(InvalidArgument, match="directory"):
        client.lineage("model@master:/")
    with pytest.raises(NotFound):
        client.lineage("model@master:/nope.json")
    with pytest.raises(NotFound):
        client.lineage("nope@master:/x")


# -- explain -------------------------------------------------------------------------------------


def test_explaining_a_model_revert_names_the_two_model_commits_and_the_training_file(
    demo: tuple[Client, Demo],
) -> None:
    client, d = demo
    ex = client.explain(
        f"predict@{d.predict_before_revert}:{PRED}", f"predict@{d.predict_after_revert}"
    )
    assert ex.kinds() == [
        ("result", "predict", PRED),
        ("upstream", "model", None),
        ("file", "training", "/iris-part2.csv"),
    ]
    result, upstream, training = ex.differences
    assert result.table is not None and result.table.rows_old == result.table.rows_new == 6
    assert (upstream.old_commit, upstream.new_commit) == (d.model[1], d.model[2])
    assert {f.path for f in upstream.files} == {"/metrics.json", "/model.pkl", "/training-data.png"}
    assert training.change == "removed" and training.depth == 1
    assert training.table is not None and training.table.rows_removed == 48
    assert training.old_writer is not None and training.old_writer.id == d.training[1]
    assert not ex.same_content
    assert any("samples" in u for u in ex.unchanged)


def test_explaining_two_model_commits(demo: tuple[Client, Demo]) -> None:
    client, d = demo
    ex = client.explain(f"model@{d.model[0]}", f"model@{d.model[1]}")
    assert ex.kinds() == [("result", "model", None), ("file", "training", "/iris-part2.csv")]
    assert ex.differences[1].change == "added"
    assert ex.differences[1].table is not None and ex.differences[1].table.rows_added == 48
    same = client.explain(f"model@{d.model[0]}", f"model@{d.model[2]}")  # the revert: same tree
    assert same.same_content and same.differences == ()


def test_explain_errors(demo: tuple[Client, Demo]) -> None:
    client, _ = demo
    with pytest.raises(InvalidArgument):
        client.explain("model@master", "training@master")


# -- the diamond ---------------------------------------------------------------------------------


def test_diamond_lineage_meets_the_source_once(diamond: tuple[Client, Diamond]) -> None:
    client, d = diamond
    lin = client.lineage("joined@master:/joined.csv")
    assert [s.pipeline for s in lin.upstream_steps()] == ["joined", "left", "right"]
    raw = [f for f in lin.files if f.repo == "raw"]
    assert [(f.path, f.written_in) for f in raw] == [("/data.csv", d.raw[1])]
    assert lin.commit(d.raw[1]).message == "second table"
    left, right = lin.upstream_steps()[1:]
    assert left.cmd[:2] == ("bash", "-c") and left.notebook is None and left.cell is None
    assert [k for i in left.inputs for k in i.files] == [k for i in right.inputs for k in i.files]


def test_diamond_explain_names_both_branches_and_the_source_once(
    diamond: tuple[Client, Diamond],
) -> None:
    client, d = diamond
    ex = client.explain(f"joined@{d.joined[0]}:/joined.csv", f"joined@{d.joined[1]}")
    assert ex.kinds() == [
        ("result", "joined", "/joined.csv"),
        ("upstream", "left", None),
        ("file", "raw", "/data.csv"),
        ("upstream", "right", None),
    ]
    source = ex.differences[2]
    assert source.table is not None
    assert (source.table.rows_added, source.table.rows_removed) == (2, 1)  # 2,B and 5,e; 2,b
    assert source.old_writer is not None and source.old_writer.id == d.raw[0]
    assert source.new_writer is not None and source.new_writer.id == d.raw[1]


def test_a_notebook_and_parameter_change_is_explained(tmp_path: Path) -> None:
    """Only the code cell and the parameter that changed are listed (the data is the same)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_code_cell("raw = out = ''\nscale = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_markdown_cell("# double"),
        nbformat.v4.new_code_cell("import pathlib"),
        nbformat.v4.new_code_cell(
            "n = 2 * scale\n(pathlib.Path(out) / 'n.txt').write_text(str(n))"
        ),
    ]
    nbformat.write(nb, tmp_path / "stage.ipynb")
    spec = {
        "pipeline": {"name": "stage"},
        "input": {"pfs": {"repo": "raw", "glob": "/"}},
        "transform": {"notebook": "stage.ipynb", "parameters": {"scale": 1}},
    }
    with Client(str(tmp_path / "store"), n_workers=1) as client:
        client.create_repo("raw")
        client.put_file("raw@master", "/x", b"x")
        info = client.create_pipeline(spec, base_dir=tmp_path)
        client.wait_commit(f"stage@{info.spec_commit}", timeout=120)
        first = client.inspect_commit("stage@master").id
        nb.cells[1].source = "# triple, and the text changed"
        nb.cells[3].source = nb.cells[3].source.replace("2 *", "3 *")
        nbformat.write(nb, tmp_path / "stage.ipynb")
        spec["transform"]["parameters"] = {"scale": 2}  # type: ignore[index]
        info = client.update_pipeline(spec, base_dir=tmp_path)
        client.wait_commit(f"stage@{info.spec_commit}", timeout=120)
        ex = client.explain(f"stage@{first}:/n.txt", "stage@master")
    assert [d.kind for d in ex.differences] == ["result", "parameters", "notebook"]
    params, notebook = ex.differences[1:]
    assert [(f.field, f.old, f.new) for f in params.fields] == [("scale", 1, 2)]
    (cell,) = notebook.cells
    assert (
        cell.change == "modified"
        and "-n = 2 * scale" in cell.diff
        and "+n = 3 * scale" in cell.diff
    )
    assert any("raw" in u and "/x" in u for u in ex.unchanged)


# -- the branch timeline -------------------------------------------------------------------------


def test_the_timeline_answers_what_was_live_across_a_retrain_and_a_revert(
    demo: tuple[Client, Demo],
) -> None:
    client, d = demo
    v1, v2, revert = (client.inspect_commit(f"model@{c}") for c in d.model)
    log = client.branch_log("model@master")
    assert [m.new for m in reversed(log)][:3] == [v1.id, v2.id, revert.id]
    assert [m.cause for m in reversed(log)][:3] == ["pipeline", "pipeline", "revert"]
    assert {m.actor for m in log} == {os_user()}
    assert all(m.old == n.new for m, n in itertools.pairwise(log))  # a chain, newest first

    # times of the head moves (a move is logged when its transaction commits, a few ms after
    # the commit's ``finished``: the timeline answers by the moves)
    moved = {m.new: m.time for m in log}

    def mid(a: Any, b: Any) -> datetime:
        return moved[a.id] + (moved[b.id] - moved[a.id]) / 2

    assert client.head_at("model@master", v1.finished - timedelta(seconds=5)).commit is None
    live = client.head_at("model@master", mid(v1, v2))
    assert live.commit is not None and live.commit.id == v1.id
    retrained = client.head_at("model@master", mid(v2, revert))
    assert retrained.commit is not None and retrained.commit.id == v2.id
    assert retrained.move is not None and retrained.move.cause == "pipeline"
    after = client.head_at("model@master", moved[revert.id] + timedelta(milliseconds=1))
    assert after.commit is not None and after.commit.id == revert.id
    assert after.commit.restores == v1.id and after.move is not None
    assert after.move.cause == "revert"
    # the same moment as text (ISO 8601) and as epoch seconds
    text = mid(v2, revert).astimezone().isoformat()
    assert client.head_at("model@master", text).commit.id == v2.id  # type: ignore[union-attr]
    epoch = mid(v2, revert).timestamp()
    assert client.head_at("model@master", epoch).commit.id == v2.id  # type: ignore[union-attr]
    later = [m.time for m in log if m.time > after.move.time]  # the demo's second revert
    until = after.move.time + (min(later) - after.move.time) / 2 if later else None
    window = client.branch_log("model@master", since=mid(v1, v2), until=until)
    assert [m.new for m in window] == [revert.id, v2.id]
    every = client.branch_log("model")
    assert {m.branch for m in every} == {"master", "spec"}


def test_timeline_errors(demo: tuple[Client, Demo]) -> None:
    client, _ = demo
    with pytest.raises(InvalidArgument, match="invalid time"):
        client.head_at("model@master", "yesterday-ish")
    with pytest.raises(InvalidArgument, match="give a branch"):
        client.head_at("model", "10:00")
    with pytest.raises(NotFound):
        client.branch_log("nope@master")


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_are_listed_per_model_commit(demo: tuple[Client, Demo]) -> None:
    client, d = demo
    found = {m.commit: m for m in client.list_metrics("model@master")}
    v1, v2, revert = (found[c] for c in d.model)
    assert (v1.values["rows"], v2.values["rows"]) == (72.0, 120.0)
    assert {"cv_accuracy", "train_accuracy", "C"} <= set(v1.values)
    assert "files" not in v1.values  # lists are not metrics
    assert v1.indexed and v2.indexed  # written when the output commit was made
    assert (revert.values, revert.source, revert.origin) == (v1.values, v1.commit, "revert")
    one = client.inspect_metrics(f"model@{d.model[1]}")
    assert one.values == v2.values
    with pytest.raises(NotFound, match="not a pipeline"):
        client.list_metrics("training@master")


def test_why_did_the_metric_change(demo: tuple[Client, Demo]) -> None:
    client, d = demo
    v1, v2, revert = d.model
    diff = client.diff_metrics(f"model@{v1}", f"model@{v2}")
    changed = {c.name: c for c in diff.changes}
    assert {"rows", "cv_accuracy"} <= set(changed) and [u.name for u in diff.unchanged] == ["C"]
    rows = changed["rows"]
    assert (rows.old, rows.new, rows.change) == (72.0, 120.0, 48.0)
    assert rows.relative == pytest.approx(48 / 72)
    # why: the second training file, and nothing else (same notebook, parameters, spec)
    assert diff.explanation is not None
    assert diff.explanation.kinds() == [
        ("result", "model", None),
        ("file", "training", "/iris-part2.csv"),
    ]
    # a revert counts as the commit it restores: back to v1's numbers, from v2
    back = client.diff_metrics(f"model@{v2}", f"model@{revert}", why=False)
    assert back.new.source == v1 and back.explanation is None
    assert {c.name: (c.old, c.new) for c in back.changes}["rows"] == (120.0, 72.0)
    assert client.diff_metrics(f"model@{v1}", f"model@{revert}", why=False).changes == ()
    with pytest.raises(InvalidArgument, match="one pipeline's output"):
        client.diff_metrics("model@master", "training@master")
    with pytest.raises(NotFound, match="not a pipeline"):
        client.diff_metrics("training@master", "training@master^1")
