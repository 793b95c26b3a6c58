"""papermill's ``jupyter_pipes`` engine (entry point ``papermill.engine``): warm kernels.

The papermill command line, as a user runs it, and papermill's Python API in one process (where
the kernel stays warm). Real kernels, real papermill.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import papermill
import pytest

from jupyter_pipes.pipeline.warm import close_engine_pool

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def notebook(path: Path, params: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def papermill_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "papermill", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=240,
    )


def stdout_of(nb: nbformat.NotebookNode, index: int) -> str:
    return "".join(o.get("text", "") for o in nb.cells[index].outputs if o.output_type == "stream")


def test_the_papermill_cli_runs_a_notebook_with_the_engine(tmp_path: Path) -> None:
    notebook(
        tmp_path / "in.ipynb",
        "x = 0",
        "import os, sys\nprint(x + 1, '_jupyter_pipes_warm' in sys.modules, os.getcwd())",
    )
    args = ("--engine", "jupyter_pipes", "in.ipynb", "out.ipynb", "-p", "x", "1")
    res = papermill_cli(tmp_path, *args)
    assert res.returncode == 0, res.stderr
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert out.metadata.papermill.parameters == {"x": 1}
    assert "injected-parameters" in out.cells[1].metadata.tags
    # ran in one of our warm kernels, in papermill's working directory
    assert stdout_of(out, 2).split() == ["2", "True", str(tmp_path)]
    assert out.metadata.language_info.name == "python"


def test_a_failing_notebook_fails_as_with_papermills_own_engine(tmp_path: Path) -> None:
    notebook(tmp_path / "in.ipynb", "x = 0", "print('before')", "raise ValueError(f'boom {x}')")
    runs = {
        engine: papermill_cli(
            tmp_path, "--engine", engine, "in.ipynb", f"{engine}.ipynb", "-p", "x", "3"
        )
        for engine in ("jupyter_pipes", "nbclient")
    }
    for res in runs.values():
        assert res.returncode == 1
        assert "PapermillExecutionError" in res.stderr and "ValueError: boom 3" in res.stderr

    def shape(name: str) -> list[tuple[object, ...]]:
        nb = json.loads((tmp_path / f"{name}.ipynb").read_text())
        return [
            (
                cell["cell_type"],
                cell["metadata"].get("papermill", {}).get("status"),
                [
                    (o["output_type"], o.get("text"), o.get("ename"), o.get("evalue"))
                    for o in cell.get("outputs", [])
                ],
            )
            for cell in nb["cells"]
        ]

    assert shape("jupyter_pipes") == shape("nbclient")  # error banner, outputs, statuses


@pytest.fixture
def engine_pool() -> Iterator[None]:
    yield
    close_engine_pool()


@pytest.mark.usefixtures("engine_pool")
def test_the_kernel_stays_warm_and_clean_between_notebooks(tmp_path: Path) -> None:
    nb = notebook(
        tmp_path / "in.ipynb",
        "x = 0",
        "import os\nprint(os.getpid(), 'leftover' in globals(), x)",
        "leftover = x",
    )
    pids = []
    for i in range(3):
        out = papermill.execute_notebook(
            str(nb),
            str(tmp_path / f"out{i}.ipynb"),
            {"x": i},
            engine_name="jupyter_pipes",
            progress_bar=False,
            cwd=str(tmp_path),
        )
        pid, leftover, x = stdout_of(out, 2).split()
        assert (leftover, x) == ("False", str(i))  # the previous notebook's variables are gone
        pids.append(int(pid))
    assert len(set(pids)) == 1  # one kernel, started once


@pytest.mark.usefixtures("engine_pool")
def test_an_execution_timeout_kills_the_cell_and_the_next_notebook_runs(tmp_path: Path) -> None:
    slow = notebook(tmp_path / "slow.ipynb", "x = 0", "import time\ntime.sleep(600)")
    with pytest.raises(Exception, match=r"[Tt]imed? ?out"):
        papermill.execute_notebook(
            str(slow),
            str(tmp_path / "slow-out.ipynb"),
            {},
            engine_name="jupyter_pipes",
            progress_bar=False,
            execution_timeout=2,
        )
    quick = notebook(tmp_path / "quick.ipynb", "x = 0", "print(x * 2)")
    out = papermill.execute_notebook(
        str(quick),
        str(tmp_path / "quick-out.ipynb"),
        {"x": 21},
        engine_name="jupyter_pipes",
        progress_bar=False,
    )
    assert stdout_of(out, 2).strip() == "42"
