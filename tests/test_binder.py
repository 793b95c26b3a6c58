"""``binder/``: what mybinder.org (repo2docker) does, replayed in a fresh virtual environment.

repo2docker, from the repository root: ``pip install -r binder/requirements.txt``, then
``binder/postBuild``; at start, ``binder/start`` wraps the server. Here, on a copy of the
working tree: a new venv (``python -m venv``), the same pip command, the same postBuild, then
the tour notebook ``examples/README.ipynb`` executed in a kernel of that venv under
``binder/start``.

To keep the run short and off the network, the new venv sees this environment's third-party
packages through a ``.pth`` line (so pip finds the dependencies installed and downloads at most
what is missing) and the build backend comes from it too when it is installed here
(``--no-build-isolation``). What is
proven is unchanged: the project itself is built and installed from the copied tree by the
requirements file (not this checkout: a plain path line does not process this environment's
editable-install hook, and the test checks where ``jupyter_pipes`` is imported from), and
postBuild and the tour run against that installation and its package data.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_pipes import Client

ROOT = Path(__file__).parents[1]
TOUR = """
import json, sys
import nbformat
from nbclient import NotebookClient

nb = nbformat.read("examples/README.ipynb", as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(
    "import jupyter_pipes, os\\n"
    "print('WHERE', jupyter_pipes.__file__, os.environ['JUPYTER_PIPES_STORE'])"))
NotebookClient(nb, timeout=300, kernel_name="python3",
               resources={"metadata": {"path": "examples"}}).execute()
json.dump(nb, open(sys.argv[1], "w"))
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def _copy_tree(dest: Path) -> None:
    """The working tree as git would ship it (tracked and new files; nothing ignored)."""
    files = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def _build_isolation() -> list[str]:
    """``--no-build-isolation`` when this environment has the project's build backend (then
    nothing is downloaded to build it); otherwise pip fetches it, as repo2docker would."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    try:
        import tomllib
    except ImportError:  # Python 3.10: let pip build in isolation
        return []
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for spec in requires:
        req = Requirement(spec)
        try:
            if distribution(req.name).version not in req.specifier:
                return []
        except PackageNotFoundError:
            return []
    return ["--no-build-isolation"]


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a pip install into a fresh venv: minutes on a loaded machine
def test_postbuild_seeds_the_store_and_the_tour_runs(tmp_path: Path) -> None:
    pytest.importorskip("ipywidgets")
    pytest.importorskip("sklearn")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the working tree from")
    repo, home, venv = tmp_path / "repo", tmp_path / "home", tmp_path / "venv"
    repo.mkdir()
    home.mkdir()
    _copy_tree(repo)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    venv_site = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            tmp_path,
            dict(os.environ),
            60,
        ).strip()
    )
    (venv_site / "_parent_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER_PIPES_", "JUPYTER_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        HOME=str(home),
        PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        XDG_CACHE_HOME=str(home / ".cache"),
    )

    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            *_build_isolation(),
            "-r",
            "binder/requirements.txt",
        ],
        repo,
        env,
        900,
    )
    where = _run(
        [str(python), "-c", "import jupyter_pipes; print(jupyter_pipes.__file__)"], home, env, 60
    )
    assert Path(where.strip()).is_relative_to(venv), where  # installed, not this checkout
    shipped = _run(
        [
            str(python),
            "-c",
            "from jupyter_pipes.demos.common import DEMO_FILES as d; "
            "print(sorted(str(p.relative_to(d)) for p in d.rglob('*.*')))",
        ],
        home,
        env,
        60,
    )
    for name in (
        "housing/train.yaml",
        "housing/evaluate.ipynb",
        "images/edges.ipynb",
        "ml/predict.yaml",
    ):
        assert name in shipped, shipped  # every example's package data is in the wheel

    out = _run(["bash", "binder/postBuild"], repo, env, 900)
    assert f"seeded {repo / '.pipes'}" in out
    assert "(e) reverted model@master" in out and "done in" in out
    config_dir = _run(
        [
            str(python),
            "-c",
            "from jupyter_core.paths import jupyter_config_dir; print(jupyter_config_dir())",
        ],
        home,
        env,
        60,
    ).strip()
    config = (Path(config_dir) / "jupyter_server_config.py").read_text()
    assert 'c.ServerApp.default_url = "/lab/tree/examples/README.ipynb"' in config
    with Client(str(repo / ".pipes")) as c:
        assert {r.name for r in c.list_repo()} == {"training", "samples", "model", "predict"}
        assert {p.name: p.last_job_state for p in c.list_pipeline()} == {
            "model": "success",
            "predict": "success",
        }
        assert len(list(c.list_file("predict@master"))) == 5

    (repo / "tour.py").write_text(TOUR)
    _run(
        ["bash", "binder/start", str(python), "tour.py", str(tmp_path / "tour.json")],
        repo,
        env,
        600,
    )
    nb = json.loads((tmp_path / "tour.json").read_text())
    outputs = [o for cell in nb["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")
    assert "error:" not in text, text
    assert f"store: {repo / '.pipes'}" in text
    assert f"WHERE {venv}" in text and f" {repo / '.pipes'}" in text
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any(h.startswith('<table class="jupyter-pipes">') and ">predict</td>" in h for h in html)
    assert any(h.startswith("<svg") and 'data-id="pipeline:predict"' in h for h in html)
    assert "datum 0 of 5 of pipeline predict" in text
