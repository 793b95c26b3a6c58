"""``jupyter pipes demo`` end to end: real kernels, a real Dask cluster, a real local store.

The demo runs once per module (about 35 s on 2 cores); the tests read its report.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from jupyter_pipes import AlreadyExists, Client, Conflict
from jupyter_pipes.demos import DemoReport, reset_demo, run_demo
from jupyter_pipes.demos.iris import FILES


@dataclass
class Ran:
    client: Client
    report: DemoReport
    lines: list[str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    client = Client(str(tmp_path_factory.mktemp("demo") / "store"))
    lines: list[str] = []
    try:
        yield Ran(client, run_demo(client, out=lines.append), lines)
    finally:
        client.close()


def test_every_step_runs_and_every_job_succeeds(demo: Ran) -> None:
    r = demo.report
    assert list(r.steps) == ["a", "b", "c", "d", "e", "f", "g"]
    jobs = {k: [(j.pipeline, j.state) for j in s.jobs] for k, s in r.steps.items()}
    assert jobs == {
        "a": [],
        "b": [("model", "success"), ("predict", "success")],
        "c": [("model", "success"), ("predict", "success")],
        "d": [("predict", "success")],
        "e": [("predict", "success")],
        "f": [],
        "g": [("predict", "success")],
    }
    # (b) and (c): a new model re-runs every prediction
    for key in ("b", "c"):
        model, predict = r.steps[key].jobs
        assert (model.total, model.processed) == (1, 1)
        assert (predict.total, predict.processed, predict.skipped) == (4, 4, 0)
    assert (r.metrics["b"]["rows"], r.metrics["c"]["rows"]) == (72, 120)
    assert r.metrics["c"]["files"] == ["iris-part1.csv", "iris-part2.csv"]
    assert all(r.predictions["c"][p] != b for p, b in r.predictions["b"].items())
    text = "\n".join(demo.lines)
    for key in "abcdefg":
        assert f"\n({key}) " in text
    assert "done in" in demo.lines[-5] and r.seconds > 0
    c = demo.client
    assert [f.path for f in c.list_file("model@master")] == [
        "/metrics.json",
        "/model.pkl",
        "/training-data.png",
    ]
    assert c.get_file("model@master", "/training-data.png").startswith(b"\x89PNG")
    assert c.fsck().ok


def test_one_new_samples_file_runs_one_datum(demo: Ran) -> None:
    (job,) = demo.report.steps["d"].jobs
    assert (job.total, job.processed, job.skipped, job.failed) == (5, 1, 4, 0)
    ran = [d for d in demo.client.list_datum(job.id) if d.state == "success"]
    assert [[i.path for i in d.inputs if i.repo == "samples"] for d in ran] == [["/batch-05.csv"]]
    assert "1 processed, 4 skipped" in "\n".join(demo.lines)
    header, *rows = demo.report.predictions["d"]["/batch-05.predictions.csv"].decode().split()
    assert header.split(",")[-4:] == ["predicted", "p_setosa", "p_versicolor", "p_virginica"]
    assert len(rows) == 6


def test_model_revert_restores_the_first_predictions(demo: Ran) -> None:
    r, c = demo.report, demo.client
    (job,) = r.steps["e"].jobs
    assert (job.total, job.processed, job.skipped) == (5, 5, 0)
    revert = c.inspect_commit(f"model@{r.steps['e'].commit}")
    first_model = c.list_commit("model@master")[-1]
    assert revert.origin == "revert" and revert.restores == first_model.id
    assert c.list_commit("model@master")[1].id == revert.id  # (g) reverted once more
    assert r.metrics["e"] == r.metrics["b"]
    # byte for byte, the predictions of the first model are back; batch 5 is new since (b)
    assert set(r.predictions["e"]) == {*r.predictions["b"], "/batch-05.predictions.csv"}
    for path, data in r.predictions["b"].items():
        assert r.predictions["e"][path] == data
    assert (
        r.predictions["e"]["/batch-05.predictions.csv"]
        != (r.predictions["d"]["/batch-05.predictions.csv"])
    )


def test_lineage_names_the_data_and_notebook_versions(demo: Ran) -> None:
    r, c = demo.report, demo.client
    top = r.lineage
    assert top is not None and r.lineage_file == "/batch-01.predictions.csv"
    assert top.commit.id == c.inspect_commit("predict@master^").id  # (g) re-predicted since
    assert {(p.commit.repo, p.commit.branch) for p in top.parents} == {
        ("samples", "master"),
        ("model", "master"),
        ("predict", "spec"),
    }
    (samples,) = top.find("samples")
    assert samples.commit.id == r.steps["d"].commit == c.inspect_commit("samples@master").id
    (predict_spec,) = top.find("predict", "spec")
    assert predict_spec.commit.id == c.inspect_pipeline("predict").spec_commit
    assert (
        c.get_file(f"predict@{predict_spec.commit.id}", "/notebook.ipynb")
        == (FILES / "predict.ipynb").read_bytes()
    )
    revert, first_model = top.find("model")
    assert revert.commit.id == r.steps["e"].commit and revert.parents == (first_model,)
    assert first_model.commit.id == revert.commit.restores and first_model.commit.origin == "auto"
    (training,) = top.find("training")
    assert training.commit.id == r.steps["a"].commit
    (model_spec,) = top.find("model", "spec")
    assert model_spec.commit.id == c.inspect_pipeline("model").spec_commit
    assert (
        json.loads(c.get_file(f"model@{model_spec.commit.id}", "/spec.json"))["transform"][
            "notebook"
        ]
        == "train.ipynb"
    )
    printed = "\n".join(demo.lines)
    for node in (samples, predict_spec, revert, first_model, training, model_spec):
        assert node.commit.id[:8] in printed
    assert f"revert: restores model@{first_model.commit.id[:8]}" in printed


def test_the_endpoint_answers_from_the_revert_commit(demo: Ran) -> None:
    r, c = demo.report, demo.client
    before, after = r.served
    g = c.inspect_commit(f"model@{r.steps['g'].commit}")
    assert before["commit"] == r.steps["e"].commit  # model v1, restored in (e)
    assert after["commit"] == g.id == c.inspect_commit("model@master").id
    assert g.origin == "revert" and g.restores == r.steps["c"].jobs[0].output_commit  # v2
    assert before["result"]["predicted"] in ("versicolor", "virginica")
    assert before["result"] != after["result"]  # another model answered
    log = {w.commit: w.requests for w in c.serving_log("model")}
    assert log == {r.steps["e"].commit: 1, g.id: 1}
    text = "\n".join(demo.lines)
    assert "\n(g) served model@master over HTTP at http://127.0.0.1:" in text
    assert f"1 request(s) by model@{g.id[:8]}" in text
    assert c.list_service() == []  # stopped at the end of the demo


def test_explore_notebook_runs_on_the_demo_store(demo: Ran, tmp_path: Path) -> None:
    import papermill

    explore = Path(__file__).parents[1] / "examples" / "ml-demo" / "explore.ipynb"
    nb = papermill.execute_notebook(
        str(explore),
        str(tmp_path / "explore.ipynb"),
        parameters={"store": demo.client.store_url},
        kernel_name="python3",
        progress_bar=False,
    )
    text = json.dumps(nb)
    assert "revert to" in text and "(spec + notebook train.ipynb, as run)" in text


def test_second_run_refuses_without_changes_and_reset_demo(demo: Ran) -> None:
    c = demo.client

    def state() -> tuple[object, ...]:
        return (
            [(r.name, r.last_commit) for r in c.list_repo()],
            [(p.name, p.version, p.spec_commit) for p in c.list_pipeline()],
            [j.id for j in c.list_job()],
        )

    before = state()
    lines: list[str] = []
    with pytest.raises(AlreadyExists, match="--fresh") as e:
        run_demo(c, out=lines.append)
    assert set(e.value.fields["repos"]) == {"model", "predict", "samples", "training"}
    assert state() == before and lines == []

    # a pipeline of the user's reading a demo repo: reset refuses and deletes nothing
    c.create_pipeline(
        {
            "pipeline": {"name": "mine"},
            "input": {"pfs": {"repo": "samples"}},
            "transform": {"cmd": ["true"]},
        }
    )
    with pytest.raises(Conflict, match="mine"):
        reset_demo(c)
    c.delete_pipeline("mine")
    assert state() == before

    assert reset_demo(c) == ["predict", "model", "training", "samples"]
    assert c.list_repo() == [] and c.list_pipeline() == [] and c.list_job() == []
    assert reset_demo(c) == []
    assert c.fsck().ok


def test_shipped_specs_and_notebooks() -> None:
    """They live inside the package (package data), each notebook next to its spec."""
    from jupyter_pipes.pipeline.spec import parse_spec

    assert sorted(p.name for p in FILES.iterdir()) == [
        "model.yaml",
        "predict.ipynb",
        "predict.yaml",
        "serve.ipynb",
        "train.ipynb",
    ]
    for name, inputs in {"model": {"training"}, "predict": {"samples", "model"}}.items():
        spec = parse_spec(FILES / f"{name}.yaml")
        assert spec.name == name and {r for r, _ in spec.input_repos()} == inputs
        nb = json.loads((FILES / spec.transform.notebook).read_text())
        first = nb["cells"][1]
        assert first["metadata"]["tags"] == ["parameters"]
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        for param in [*inputs, "out"]:
            assert f"{param} = " in "".join(first["source"])
        assert all(not c.get("outputs") for c in nb["cells"])
