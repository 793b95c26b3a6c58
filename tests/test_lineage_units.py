"""The parts of lineage (#14) below the Client: content diffs (tables, notebooks, specs),
metric files, and the record of which cell wrote which output (real kernels, fresh and warm)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from jupyter_pipes.pipeline.diffs import field_diff, notebook_diff, table_diff
from jupyter_pipes.pipeline.lineage import cell_that_wrote
from jupyter_pipes.pipeline.metrics import flatten_numbers, parse
from jupyter_pipes.pipeline.notebook import run_notebook
from jupyter_pipes.pipeline.warm import KernelPool, run_warm

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

# -- tables --------------------------------------------------------------------------------------


def test_csv_rows_added_and_removed_over_the_shared_columns() -> None:
    old = b"id,value,note\n1,a,x\n2,b,y\n2,b,y\n3,c,z\n"
    new = b"id,value,extra\n1,a,0\n2,b,0\n3,C,0\n4,d,0\n"
    t = table_diff("/t.csv", old, new)
    assert t is not None
    assert (t.rows_old, t.rows_new, t.rows_added, t.rows_removed) == (4, 4, 2, 2)
    assert (t.columns_added, t.columns_removed, t.columns) == (
        ("extra",),
        ("note",),
        ("id", "value"),
    )
    assert sorted(t.sample_added) == [("3", "C"), ("4", "d")]
    assert sorted(t.sample_removed) == [("2", "b"), ("3", "c")]  # one of the two "2,b" rows


def test_a_table_added_or_removed_counts_all_its_rows() -> None:
    t = table_diff("/t.tsv", None, b"a\tb\n1\t2\n3\t4\n")
    assert t is not None and t.format == "tsv" and (t.rows_added, t.rows_removed) == (2, 0)
    assert t.columns_added == ()  # a new file's columns are not "added columns"
    assert table_diff("/model.pkl", b"x", b"y") is None


def test_parquet_rows_and_columns() -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")

    def parquet(table: dict[str, list[object]]) -> bytes:
        buf = io.BytesIO()
        pq.write_table(pa.table(table), buf)
        return buf.getvalue()

    old = parquet({"id": [1, 2, 3], "v": [0.5, 1.5, 2.5]})
    new = parquet({"id": [1, 2, 4], "v": [0.5, 1.5, 9.0], "w": ["a", "b", "c"]})
    t = table_diff("/t.parquet", old, new)
    assert t is not None and t.format == "parquet"
    assert (t.rows_added, t.rows_removed, t.columns_added) == (1, 1, ("w",))
    assert table_diff("/t.parquet", b"not parquet", new).note  # type: ignore[union-attr]


# -- notebooks and specs -------------------------------------------------------------------------


def _nb(*cells: nbformat.NotebookNode) -> dict[str, object]:
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return json.loads(nbformat.writes(nb))


def test_notebook_diff_sees_code_cells_only() -> None:
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    old = _nb(md("# A"), code("x = 1"), code("y = 2\nprint(y)"), code("gone()"))
    run = code("y = 2\nprint(y)")
    run.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    run.execution_count = 7
    new = _nb(md("# A, reworded"), code("x = 1"), run, code("z = 3"))
    assert notebook_diff(old, old) == []
    (changed,) = notebook_diff(old, new)  # outputs, counts and markdown are not differences
    assert (changed.change, changed.old_index, changed.new_index) == ("modified", 3, 3)
    assert "-gone()" in changed.diff and "+z = 3" in changed.diff
    added = notebook_diff(
        old, _nb(md("# A"), code("x = 1"), code("new()"), code("y = 2\nprint(y)"), code("gone()"))
    )
    assert [(c.change, c.new_index) for c in added] == [("added", 2)]


def test_field_diff_by_dotted_path() -> None:
    old = {"input": {"pfs": {"glob": "/*"}}, "transform": {"parameters": {"C": 1}}, "a": [1, 2]}
    new = {"input": {"pfs": {"glob": "/"}}, "transform": {"parameters": {"C": 2}}, "a": [1]}
    found = field_diff(old, new, skip=("transform.parameters",))
    assert [(f.field, f.old, f.new) for f in found] == [
        ("a[1]", 2, None),
        ("input.pfs.glob", "/*", "/"),
    ]


# -- metric files --------------------------------------------------------------------------------


def test_metric_files_give_their_numbers() -> None:
    doc = {
        "acc": 0.9,
        "rows": 120,
        "ok": True,
        "files": ["a"],
        "name": "x",
        "cv": {"mean": 0.5, "folds": [1, 2]},
        "nan": float("nan"),
    }
    assert flatten_numbers(doc) == [("acc", 0.9), ("rows", 120.0), ("cv.mean", 0.5)]
    assert parse("/m.json", json.dumps(doc).encode()) == [
        ("/m.json", "acc", 0.9),
        ("/m.json", "rows", 120.0),
        ("/m.json", "cv.mean", 0.5),
    ]
    assert parse("/m.json", b"[1, 2]") == [] and parse("/m.json", b"{oops") == []
    assert parse("/m.json", None) == []


# -- which cell wrote which file -----------------------------------------------------------------

WRITER_CELLS = (
    "import pathlib\nd = pathlib.Path(out)",
    "(d / 'a.txt').write_text('first')",
    "(d / 'sub').mkdir()\n(d / 'sub' / 'b.txt').write_text('b')",
    "print('nothing written here')",
    "(d / 'a.txt').write_text('rewritten, longer')",
)


def _writer_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [nbformat.v4.new_code_cell("out = ''", metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in WRITER_CELLS]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def pool() -> Iterator[KernelPool]:
    p = KernelPool(max_uses=10)
    yield p
    p.close()


@pytest.mark.parametrize("mode", ["fresh", "warm"])
def test_each_output_file_names_the_cell_that_wrote_it_last(
    mode: str, tmp_path: Path, pool: KernelPool
) -> None:
    src = _writer_notebook(tmp_path / "stage.ipynb")
    out = tmp_path / "out"
    out.mkdir()
    run = run_notebook if mode == "fresh" else (lambda *a, **k: run_warm(pool, *a, **k))
    result = run(src, tmp_path / "executed.ipynb", {"out": str(out)}, cwd=tmp_path)
    assert result.ok, result.error
    executed = json.loads((tmp_path / "executed.ipynb").read_text())
    sources = ["".join(c["source"]) for c in executed["cells"]]
    a = cell_that_wrote(executed, "/a.txt")
    b = cell_that_wrote(executed, "/sub/b.txt")
    assert a is not None and b is not None
    assert a.source == WRITER_CELLS[4] and sources[a.index] == a.source  # the later rewrite
    assert b.source == WRITER_CELLS[2] and b.execution_count is not None
    quiet = sources.index(WRITER_CELLS[3])
    assert "jupyter_pipes" not in executed["cells"][quiet]["metadata"]
    assert cell_that_wrote(executed, "/never.txt") is None


def test_no_out_parameter_records_nothing(tmp_path: Path) -> None:
    src = _writer_notebook(tmp_path / "stage.ipynb")
    nb = nbformat.read(src, as_version=4)
    nb.cells = [*nb.cells[:1], nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, src)
    result = run_notebook(src, tmp_path / "executed.ipynb", {}, cwd=tmp_path)
    assert result.ok
    executed = json.loads((tmp_path / "executed.ipynb").read_text())
    assert all("jupyter_pipes" not in c["metadata"] for c in executed["cells"])
