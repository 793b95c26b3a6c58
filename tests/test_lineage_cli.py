"""Lineage (#14) on the command line (a real subprocess) and in ``%pipe`` (a real kernel), on a
copy of the iris demo's store (see ``lineage_stores.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lineage_stores import Demo, demo_store

pytest.importorskip("sklearn")
pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
PRED = "/batch-01.predictions.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return demo_store(tmp_path_factory.mktemp("lineage-cli") / "store")


def pipes(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    env["JUPYTER_PIPES_AUTOSTART"] = "0"  # jobs run only where a test runs them (#12)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    cmd = [sys.executable, "-m", "jupyter_pipes.cli", "--store", str(store), *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)


def test_inspect_file_lineage_prints_the_tree(demo: Demo) -> None:
    r = pipes(
        demo.store, "inspect", "file", f"predict@{demo.predict_before_revert}:{PRED}", "--lineage"
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"predict@{demo.predict_before_revert[:8]}:{PRED}")
    text = r.stdout
    assert "pipeline predict version 1" in text and "notebook predict.ipynb" in text
    assert "pipeline model version 1" in text and "notebook train.ipynb" in text
    assert "parameters: C=1.0" in text
    assert f"training@{demo.training[1][:8]}:/iris-part2.csv" in text
    assert f"user commit training@{demo.training[1][:8]} by " in text
    assert '"48 more labelled iris rows"' in text
    assert "(shown above)" in text  # the model's three files share one datum
    cells = [line.lstrip("│ ") for line in lines if line.lstrip("│ ").startswith("cell ")]
    assert any("for path in sorted(" in c for c in cells), cells  # predict's writing cell
    assert "executed notebook: jupyter pipes get notebook " in text


def test_inspect_file_lineage_json(demo: Demo) -> None:
    r = pipes(
        demo.store, "inspect", "file", f"model@{demo.model[1]}:/model.pkl", "--lineage", "--json"
    )
    assert r.returncode == 0, r.stderr
    lin = json.loads(r.stdout)
    assert lin["root"] == f"model@{demo.model[1]}:/model.pkl"
    (step,) = lin["steps"]
    assert step["pipeline"] == "model" and step["notebook"] == "train.ipynb"
    assert {f["path"] for f in lin["files"]} == {"/model.pkl", "/iris-part1.csv", "/iris-part2.csv"}


def test_diff_lineage_names_only_what_differs(demo: Demo) -> None:
    before, after = demo.predict_before_revert, demo.predict_after_revert
    r = pipes(demo.store, "diff", "lineage", f"predict@{before}:{PRED}", f"predict@{after}")
    assert r.returncode == 0, r.stderr
    kinds = [
        line.strip().split(":")[0]
        for line in r.stdout.splitlines()
        if line.startswith("  ")
        and line.strip().split(":")[0]
        in ("result", "upstream", "file", "notebook", "parameters", "spec", "pipeline")
    ]
    assert kinds == ["result", "upstream", "file"]
    assert f"model@{demo.model[1][:8]} → model@{demo.model[2][:8]}" in r.stdout
    assert "training:/iris-part2.csv removed (+0 -48 rows)" in r.stdout
    assert "unchanged (" in r.stdout
    j = pipes(
        demo.store, "diff", "lineage", f"predict@{before}:{PRED}", f"predict@{after}", "--json"
    )
    data = json.loads(j.stdout)
    assert [d["kind"] for d in data["differences"]] == ["result", "upstream", "file"]


def test_errors_are_one_line(demo: Demo) -> None:
    r = pipes(demo.store, "inspect", "file", "model@master:/", "--lineage")
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "directory" in r.stderr
    assert "Traceback" not in r.stderr and str(demo.store) not in r.stderr
    r = pipes(demo.store, "diff", "lineage", "model@master", "training@master")
    assert r.returncode == 1 and r.stderr.startswith("error: compare two commits of one repo")


def test_help_has_examples() -> None:
    r = pipes(Path("unused"), "diff", "lineage", "--help")
    assert r.returncode == 0 and "jupyter pipes diff lineage predict@master^1" in r.stdout
    r = pipes(Path("unused"), "inspect", "file", "--help")
    assert "--lineage" in r.stdout


# -- %pipe ---------------------------------------------------------------------------------------


def _run_cells(cells: list[str], cwd: Path) -> list[dict[str, Any]]:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Py", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return [c["outputs"] for c in nb.cells]


def test_pipe_lineage_magic(demo: Demo, tmp_path: Path) -> None:
    s = f"--store {demo.store}"
    outs = _run_cells(
        [
            "%load_ext jupyter_pipes",
            f"%pipe {s} lineage predict@{demo.predict_before_revert}:{PRED}",
            f"lin = %pipe {s} lineage model@master:/model.pkl --json\n"
            "print(type(lin).__name__, [s['pipeline'] for s in lin['steps']])",
            f"%pipe {s} lineage model@master:/",
        ],
        tmp_path,
    )
    tree = "".join(o.get("text", "") for o in outs[1])
    assert "pipeline model version 1" in tree and "/iris-part2.csv" in tree
    assert "".join(o.get("text", "") for o in outs[2]).strip() == "dict ['model']"
    err = "".join(o.get("text", "") for o in outs[3] if o.get("name") == "stderr")
    assert err.startswith("error: ") and "directory" in err


def test_branch_log_and_head_at(demo: Demo) -> None:
    from datetime import timedelta

    from jupyter_pipes import Client

    with Client(str(demo.store)) as c:
        v2, revert = (c.inspect_commit(f"model@{x}") for x in demo.model[1:3])
        log = c.branch_log("model@master")
    assert v2.finished is not None and revert.finished is not None
    r = pipes(demo.store, "list", "branch-log", "model@master")
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split() == ["TIME", "BRANCH", "CAUSE", "COMMIT", "PREVIOUS", "ACTOR", "GLOBAL"]
    causes = [row.split()[3] for row in rows]  # TIME is two words
    assert causes[-3:] == ["revert", "pipeline", "pipeline"]
    j = json.loads(pipes(demo.store, "list", "branch-log", "model@master", "--json").stdout)
    assert demo.model[2] in [m["new"] for m in j]
    moment = (v2.finished + (revert.finished - v2.finished) / 2).astimezone()
    r = pipes(demo.store, "inspect", "branch", "model@master", "--at", moment.isoformat())
    assert r.returncode == 0, r.stderr
    assert f"Head: {demo.model[1]}" in r.stdout and "Cause: pipeline" in r.stdout
    # the revert's head move (logged as its transaction commits, just after ``finished``)
    moved = next(m.time for m in log if m.new == demo.model[2])
    later = (moved + timedelta(milliseconds=1)).astimezone().isoformat()
    r = pipes(demo.store, "inspect", "branch", "model@master", "--at", later, "--json")
    found = json.loads(r.stdout)
    assert found["commit"]["id"] == demo.model[2] and found["commit"]["restores"] == demo.model[0]
    assert found["move"]["cause"] == "revert"
    bad = pipes(demo.store, "inspect", "branch", "model@master", "--at", "someday")
    assert bad.returncode == 1 and bad.stderr.startswith("error: invalid time 'someday'")


# -- metrics -------------------------------------------------------------------------------------


def test_list_inspect_and_diff_metrics(demo: Demo) -> None:
    v1, v2, revert = demo.model
    r = pipes(demo.store, "list", "metrics", "model@master")
    assert r.returncode == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert header.split()[:3] == ["COMMIT", "FINISHED", "ORIGIN"]
    assert {"ROWS", "CV_ACCURACY", "C"} <= set(header.split())
    by_commit = {row.split()[0]: row for row in rows}
    assert f"revert ({v1[:8]})" in by_commit[revert[:8]]
    listed = json.loads(pipes(demo.store, "list", "metrics", "model@master", "--json").stdout)
    values = {m["commit"]: m["values"]["rows"] for m in listed}
    assert (values[v1], values[v2], values[revert]) == (72, 120, 72)
    r = pipes(demo.store, "inspect", "metrics", f"model@{revert}")
    assert r.returncode == 0, r.stderr
    assert f"Restores: {v1}" in r.stdout and "rows: 72" in r.stdout.replace("  ", " ")
    r = pipes(demo.store, "diff", "metrics", f"model@{v1}", f"model@{v2}")
    assert r.returncode == 0, r.stderr
    table = r.stdout.split("Why")[0]
    assert "METRIC" in table and any(
        line.split()[:4] == ["rows", "72", "120", "+48"] for line in table.splitlines()
    )
    assert "unchanged: C" in table
    why = r.stdout.split("Why")[1]
    assert "training:/iris-part2.csv added" in why and "parameters" not in why
    j = json.loads(
        pipes(
            demo.store, "diff", "metrics", f"model@{v2}", f"model@{revert}", "--no-why", "--json"
        ).stdout
    )
    assert j["explanation"] is None and j["new"]["source"] == v1
    assert {c["name"]: (c["old"], c["new"]) for c in j["changes"]}["rows"] == (120, 72)


def test_metrics_errors_are_one_line(demo: Demo) -> None:
    for args in (
        ["list", "metrics", "training@master"],
        ["diff", "metrics", "model@master", "training@master"],
        ["inspect", "metrics", "model@nope"],
    ):
        r = pipes(demo.store, *args)
        assert r.returncode == 1 and r.stderr.startswith("error: "), (args, r.stderr)
        assert "Traceback" not in r.stderr and str(demo.store) not in r.stderr
    r = pipes(Path("unused"), "diff", "metrics", "--help")
    assert "jupyter pipes diff metrics model@master^1 model@master" in r.stdout


def test_pipe_metrics_magic(demo: Demo, tmp_path: Path) -> None:
    s = f"--store {demo.store}"
    v1, v2, _ = demo.model
    outs = _run_cells(
        [
            "%load_ext jupyter_pipes",
            f"m = %pipe {s} list metrics model@master --json\n"
            "print(len(m), m[-1]['values']['rows'])",
            f"%pipe {s} diff metrics model@{v1} model@{v2}",
        ],
        tmp_path,
    )
    assert "".join(o.get("text", "") for o in outs[1]).strip() == "4 72.0"
    text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outs[2])
    assert "METRIC" in text and "iris-part2.csv" in text
