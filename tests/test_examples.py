"""Every example end to end on its small data, with real kernels, Dask and a local store.

``iris`` (``jupyter pipes demo``) runs in tests/test_demo.py; ``images`` runs here through
:func:`run_demo`, ``housing`` through the CLI as a subprocess (``jupyter pipes demo --example
housing``, the headless way the READMEs give). About 35 s together on 2 cores.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")
pytest.importorskip("PIL")

from jupyter_pipes import AlreadyExists, Client, InvalidArgument
from jupyter_pipes.demos import EXAMPLES, module, run_demo
from jupyter_pipes.demos.common import reset
from jupyter_pipes.demos.iris import FILES as IRIS_FILES
from jupyter_pipes.pipeline.spec import parse_spec
from tests.test_cli import run_cli

ROOT = Path(__file__).parents[1]
README_DIRS = {"iris": "ml-demo", "housing": "housing", "images": "images"}


@pytest.fixture
def pipes(tmp_path: Path) -> Iterator[Client]:
    c = Client(str(tmp_path / "store"))
    yield c
    c.close()


def test_images_example_runs_datums_in_parallel_and_skips_unchanged_ones(pipes: Client) -> None:
    from PIL import Image

    lines: list[str] = []
    report = run_demo(pipes, out=lines.append, example="images")
    assert list(report.steps) == ["a", "b", "c", "d"]
    counts = {
        k: [(j.pipeline, j.state, j.total, j.processed, j.skipped) for j in s.jobs]
        for k, s in report.steps.items()
    }
    assert counts == {
        "a": [],
        "b": [("edges", "success", 4, 4, 0)],
        "c": [("edges", "success", 5, 1, 4)],
        "d": [("edges", "success", 4, 0, 4)],
    }
    (added,) = [d for d in pipes.list_datum(report.steps["c"].jobs[0].id) if d.state == "success"]
    assert [i.path for i in added.inputs] == ["/rings.png"]
    assert sorted(report.predictions["c"]) == [
        f"/{s}.edges.png" for s in ("circle", "rings", "square", "star", "triangle")
    ]
    assert "/square.edges.png" not in report.predictions["d"]
    for path, data in report.predictions["d"].items():
        img = Image.open(io.BytesIO(data))
        assert img.mode == "L" and img.size == (96, 96)
        assert {v for v, n in enumerate(img.histogram()) if n} == {0, 255}, path  # thresholded
        # unchanged images kept their bytes: reused, not recomputed
        assert report.predictions["b"].get(path, data) == data
    assert report.metrics["b"]["datum_seconds"] > 0 and report.metrics["b"]["job_seconds"] > 0
    text = "\n".join(lines)
    assert "1 processed, 4 skipped" in text and "ran in parallel" in text and "done in" in text
    assert pipes.fsck().ok
    with pytest.raises(AlreadyExists, match="--fresh"):
        run_demo(pipes, out=lines.append, example="images")
    assert reset(pipes, ("edges",), ("images",)) == ["edges", "images"]
    assert pipes.list_repo() == []


def test_housing_example_headless_through_the_cli(tmp_path: Path) -> None:
    store = tmp_path / "store"
    res = run_cli("demo", "--example", "housing", store=store)
    for step in "abcde":
        assert f"\n({step}) " in "\n" + res.out
    assert "R² " in res.out and "done in" in res.out
    with Client(str(store)) as c:
        assert [f.path for f in c.list_file("price_model@master")] == [
            "/cv-errors.png",
            "/metrics.json",
            "/model.pkl",
            "/price-vs-area.png",
        ]
        assert c.get_file("price_model@master", "/price-vs-area.png").startswith(b"\x89PNG")
        metrics = json.loads(c.get_file("price_eval@master", "/metrics.json"))
        assert metrics["rows"] == 150 and metrics["model_rows"] == 700 and metrics["alpha"] == 30
        assert 0.8 < metrics["r2"] <= 1.0
        assert c.inspect_pipeline("price_model").version == 2
        jobs = [(j.pipeline, j.state) for j in reversed(c.list_job())]
        assert jobs == [("price_model", "success"), ("price_eval", "success")] * 3
        # the executed notebook keeps the plots as outputs
        job = c.list_job("price_model")[0]
        (datum,) = c.list_datum(job.id)
        nb = json.loads(c.get_datum_notebook(job.id, datum.id))
        images = [
            o
            for cell in nb["cells"]
            for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})
        ]
        assert len(images) == 2
    again = run_cli("demo", "--example", "housing", store=store, rc=1)
    assert again.err.startswith("error: this store already has the housing example's repos")


def test_the_generated_data_is_deterministic() -> None:
    housing, images = module("housing"), module("images")
    assert housing.sales(50, 7) == housing.sales(50, 7) != housing.sales(50, 8)
    assert housing.sales(3, 1).decode().splitlines()[0] == ",".join(housing.COLUMNS)
    assert images.image("star") == images.image("star") != images.image("circle")


def test_unknown_example_names_the_examples(pipes: Client) -> None:
    with pytest.raises(InvalidArgument, match="choose one of iris, housing, images"):
        run_demo(pipes, example="nope")
    assert pipes.list_repo() == []


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_ships_specs_notebooks_and_a_readme(name: str) -> None:
    readme = ROOT / "examples" / README_DIRS[name] / "README.md"
    assert readme.is_file()
    if name != "iris":  # `jupyter pipes demo` runs iris; its README predates --example
        assert f"--example {name}" in readme.read_text()
    folder = IRIS_FILES if name == "iris" else module(name).FILES
    specs = sorted(folder.glob("*.yaml"))
    assert specs
    for spec_file in specs:
        spec = parse_spec(spec_file)
        nb = json.loads((folder / spec.transform.notebook).read_text())
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
        names = [spec_input for spec_input, _ in spec.input_repos()] + ["out"]
        names += list(spec.transform.parameters or {})
        for param in names:
            assert f"{param} = " in "".join(params["source"]), (spec_file, param)
        assert all(not c.get("outputs") for c in nb["cells"])
    assert (ROOT / "examples" / "README.md").read_text().count("--example") >= 2
