"""Notebook and command runs with real kernels and real processes (no mocks)."""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from jupyter_pipes.errors import InvalidArgument, NotFound
from jupyter_pipes.pipeline.command import run_command
from jupyter_pipes.pipeline.notebook import RunResult, fingerprint, run_notebook

NOTEBOOKS = Path(__file__).parent / "notebooks"
ENV_VAR = "PIPES_TEST_VAR"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[RunResult, Path]]:
    """Each test notebook run once; ``add`` and ``environ`` run concurrently in two threads."""
    base = tmp_path_factory.mktemp("runs")
    for name in ("add", "environ", "fails", "sleepy", "dies"):
        (base / name / "out").mkdir(parents=True)
    dies = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import os\nprint('bye', flush=True)\nos._exit(3)")],
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "P"}},
    )
    nbformat.write(dies, base / "dies.ipynb")
    jobs = {
        "add": (NOTEBOOKS / "add.ipynb", {"a": 10, "out": str(base / "add" / "out")}, {}),
        "environ": (NOTEBOOKS / "environ.ipynb", {"label": "L1"}, {"env": {ENV_VAR: "héllo"}}),
        "fails": (NOTEBOOKS / "fails.ipynb", {"rows": 5}, {}),
        "sleepy": (NOTEBOOKS / "sleepy.ipynb", {}, {"timeout_s": 3}),
        "dies": (base / "dies.ipynb", {}, {}),
    }

    def run(name: str) -> tuple[RunResult, Path]:
        src, params, kwargs = jobs[name]
        executed = base / name / "executed" / "nb.ipynb"  # parent created by run_notebook
        cwd = base / name / "out"
        return run_notebook(src, executed, params, cwd=cwd, **kwargs), base / name

    with ThreadPoolExecutor(2) as pool:
        concurrent = dict(zip(("add", "environ"), pool.map(run, ["add", "environ"]), strict=True))
    return {**concurrent, **{name: run(name) for name in ("fails", "sleepy", "dies")}}


def test_parameters_injected_after_parameters_cell(runs: dict) -> None:
    res, folder = runs["add"]
    assert res.ok and res.error is None
    assert (folder / "out" / "sum.txt").read_text() == "12"  # a=10 injected, b=2 default
    assert res.log == "sum 12\n"
    nb = nbformat.read(res.executed_path, as_version=4)
    assert nb.cells[1].metadata.tags == ["parameters"]
    assert nb.cells[2].metadata.tags == ["injected-parameters"]
    assert "a = 10" in nb.cells[2].source
    assert nb.metadata.papermill.parameters["a"] == 10
    assert os.listdir(Path(res.executed_path).parent) == ["nb.ipynb"]  # no temp files left
    assert 0 < res.duration_s < 30


def test_cwd_env_and_injection_at_top(runs: dict) -> None:
    res, folder = runs["environ"]
    assert res.ok, res.log
    cwd, value, label = (folder / "out" / "seen.txt").read_text(encoding="utf-8").split("\n")
    assert Path(cwd) == folder / "out"
    assert (value, label) == ("héllo", "L1")
    assert "var héllo\n" in res.log and "to stderr\n" in res.log
    nb = nbformat.read(res.executed_path, as_version=4)
    assert nb.cells[0].metadata.tags == ["injected-parameters"]  # no parameters cell: top
    assert ENV_VAR not in os.environ  # only the kernel saw it
    assert Path.cwd() != folder / "out"


def test_cell_error_reports_original_index(runs: dict) -> None:
    res, _ = runs["fails"]
    assert not res.ok
    err = res.error
    assert err is not None
    assert (err.ename, err.evalue) == ("ValueError", "bad row")
    original = nbformat.read(NOTEBOOKS / "fails.ipynb", as_version=4)
    assert err.cell_index == 3  # the 3rd code cell; the injected cell is not counted
    assert 'raise ValueError("bad row")' in original.cells[err.cell_index].source
    assert "\x1b" not in err.traceback and "ValueError: bad row" in err.traceback
    assert res.log.startswith("processing 5\n")
    assert res.log.endswith("ValueError: bad row\n")
    assert "never reached" not in res.log
    executed = nbformat.read(res.executed_path, as_version=4)
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert any(o.output_type == "error" and o.evalue == "bad row" for o in errors)
    assert executed.metadata.papermill.exception is True


def test_whole_run_timeout(runs: dict) -> None:
    res, _ = runs["sleepy"]
    assert not res.ok and res.error is not None
    assert res.error.ename == "TimeoutError"
    assert res.error.cell_index == 1
    assert 3 <= res.duration_s < 8  # the kernel is killed, not waited for
    assert res.log.startswith("start\n") and "TimeoutError" in res.log
    executed = nbformat.read(res.executed_path, as_version=4)
    outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs]
    assert [o.ename for o in outputs if o.output_type == "error"] == ["TimeoutError"]


def test_dead_kernel_is_a_result(runs: dict) -> None:
    res, _ = runs["dies"]
    assert not res.ok and res.error is not None
    assert (res.error.ename, res.error.cell_index) == ("DeadKernelError", 0)
    assert Path(res.executed_path).exists()


def test_missing_notebook_and_cwd(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nope\.ipynb"):
        run_notebook(tmp_path / "nope.ipynb", tmp_path / "x.ipynb", {}, cwd=tmp_path)
    with pytest.raises(NotFound, match="missing"):
        run_notebook(NOTEBOOKS / "add.ipynb", tmp_path / "x.ipynb", {}, cwd=tmp_path / "missing")
    with pytest.raises(InvalidArgument, match="timeout"):
        run_notebook(NOTEBOOKS / "add.ipynb", tmp_path / "x.ipynb", {}, cwd=tmp_path, timeout_s=0)


def test_unknown_kernel(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no-such-kernel") as info:
        run_notebook(
            NOTEBOOKS / "add.ipynb",
            tmp_path / "x.ipynb",
            {"a": 1},
            cwd=tmp_path,
            kernel_name="no-such-kernel",
        )
    assert info.value.fields["kernel"] == "no-such-kernel"
    assert not (tmp_path / "x.ipynb").exists()


def test_kernel_that_cannot_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "broken"
    spec.mkdir(parents=True)
    boom = "import sys; print('no module named boom', file=sys.stderr); sys.exit(1)"
    argv = [sys.executable, "-c", boom, "{connection_file}"]
    kernel = {"argv": argv, "display_name": "Broken", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    res = run_notebook(
        NOTEBOOKS / "add.ipynb", tmp_path / "x.ipynb", {"a": 1}, cwd=tmp_path, kernel_name="broken"
    )
    assert not res.ok and res.error is not None
    assert res.error.cell_index == -1
    assert "no module named boom" in res.error.traceback  # the kernel's own last words
    assert (tmp_path / "x.ipynb").exists()


# -- fingerprint ---------------------------------------------------------------------------------


def _add() -> dict:
    return json.loads((NOTEBOOKS / "add.ipynb").read_text())


def test_fingerprint_ignores_cosmetics() -> None:
    base = fingerprint(NOTEBOOKS / "add.ipynb")
    assert len(base) == 64
    assert fingerprint(str(NOTEBOOKS / "add.ipynb")) == base
    assert fingerprint((NOTEBOOKS / "add.ipynb").read_bytes()) == base
    assert fingerprint(nbformat.read(NOTEBOOKS / "add.ipynb", as_version=4)) == base
    nb = _add()
    nb["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "sum 3\n"}]
    nb["cells"][2]["execution_count"] = 7
    nb["cells"][2]["id"] = "renamed"
    nb["cells"][2]["metadata"] = {"collapsed": True, "tags": ["mine"]}
    nb["metadata"]["language_info"] = {"name": "python", "version": "3.99"}
    nb["metadata"]["papermill"] = {"duration": 1.5}
    nb["cells"][0]["source"] = "# A new title"
    nb["cells"].append({"cell_type": "raw", "metadata": {}, "source": "raw"})
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [], "source": "  \n"})
    nb["cells"][2]["source"] = "".join(nb["cells"][2]["source"]).replace("\n", "\r\n")
    assert fingerprint(nb) == base


@pytest.mark.parametrize(
    "edit",
    [
        lambda nb: nb["cells"][2]["source"].append("\nprint('more')"),
        lambda nb: nb["cells"][1]["source"].__setitem__(0, "a = 5\n"),  # a default value
        lambda nb: nb["cells"][2]["source"].append(" "),  # trailing space: not normalised
        lambda nb: nb["cells"][1]["metadata"].update(tags=[]),  # injection point moves
        lambda nb: nb["cells"][2]["metadata"].update(tags=["raises-exception"]),
        lambda nb: nb["metadata"]["kernelspec"].update(name="other"),
        lambda nb: nb["cells"].reverse(),
    ],
    ids=["code", "default", "whitespace", "parameters-tag", "raises-tag", "kernel", "order"],
)
def test_fingerprint_changes_with_code(edit) -> None:
    nb = copy.deepcopy(_add())
    edit(nb)
    assert fingerprint(nb) != fingerprint(_add())


def test_fingerprint_bad_input(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        fingerprint(tmp_path / "missing.ipynb")
    with pytest.raises(InvalidArgument):
        fingerprint(b"not json")
    with pytest.raises(InvalidArgument):
        fingerprint({"cells": []})


# -- commands ------------------------------------------------------------------------------------

PY = sys.executable


def test_command_success_env_cwd(tmp_path: Path) -> None:
    code = (
        "import os, sys\n"
        "print('out', os.environ['PIPES_CMD'], flush=True)\n"
        "print('err', file=sys.stderr, flush=True)\n"
        "open('made.txt', 'w').write(os.getcwd())"
    )
    res = run_command([PY, "-c", code], None, cwd=tmp_path, env={"PIPES_CMD": "v"}, timeout_s=30)
    assert res.ok and res.error is None and res.executed_path == ""
    assert res.log == "out v\nerr\n"
    assert Path((tmp_path / "made.txt").read_text()) == tmp_path


def test_command_stdin_script(tmp_path: Path) -> None:
    lines = ["import sys", "for i in range(3):", "    print(i * 2)"]
    res = run_command([PY, "-"], lines, cwd=tmp_path, env={}, timeout_s=30)
    assert res.ok, res.log
    assert res.log == "0\n2\n4\n"


def test_command_failure(tmp_path: Path) -> None:
    res = run_command(
        [PY, "-c", "print('partial'); raise SystemExit(3)"],
        None,
        cwd=tmp_path,
        env={},
        timeout_s=30,
    )
    assert not res.ok and res.error is not None
    assert (res.error.cell_index, res.error.ename, res.error.evalue) == (
        -1,
        "CommandFailed",
        "exit code 3",
    )
    assert res.error.traceback == "partial"
    assert res.log == "partial\nCommandFailed: exit code 3\n"
    missing = run_command(["no-such-program-xyz"], None, cwd=tmp_path, env={}, timeout_s=5)
    assert not missing.ok and missing.error is not None
    assert missing.error.ename == "CommandFailed" and "no-such-program-xyz" in missing.error.evalue
    with pytest.raises(InvalidArgument):
        run_command([], None, cwd=tmp_path, env={}, timeout_s=None)


@pytest.mark.skipif(os.name != "posix", reason="a shell with a grandchild process")
def test_command_timeout_kills_children(tmp_path: Path) -> None:
    start = time.monotonic()
    # `sleep` is a grandchild holding the output pipe: killing only `sh` would hang the read.
    res = run_command(
        ["sh"], ["echo begin", "sleep 30", "echo end"], cwd=tmp_path, env={}, timeout_s=1
    )
    assert time.monotonic() - start < 5
    assert not res.ok and res.error is not None and res.error.ename == "TimeoutError"
    assert res.log.startswith("begin\n") and "end" not in res.log
