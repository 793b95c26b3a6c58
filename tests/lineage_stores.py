"""Stores the lineage tests share (#14).

* :func:`demo_store`: the iris demo (``jupyter pipes demo``: real kernels, a real Dask cluster,
  a real local store), run once per test process (~40 s on 2 cores) and copied for each use;
* :func:`build_diamond`: a diamond DAG of ``cmd`` pipelines (fast: no kernels): ``raw`` feeds
  ``left`` and ``right``, and ``joined`` reads both.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_pipes import Client


@dataclass(frozen=True)
class Demo:
    """A copy of the demo store and what the demo did (commit ids, for the tests)."""

    store: Path
    model: tuple[str, ...]
    """model@master's commits: v1 (step b), v2 (the retrain, step c), the revert to v1 (step e;
    the demo's step g reverts to v2 again after it)."""
    predict_before_revert: str
    predict_after_revert: str
    training: tuple[str, ...]
    """training@master's commits, oldest first (part 1, then part 2)."""
    predict_jobs: tuple[str, ...]


_cache: dict[str, Any] = {}


def _build_demo() -> dict[str, Any]:
    from jupyter_pipes.demos import run_demo

    root = Path(tempfile.mkdtemp(prefix="pipes-lineage-demo-"))
    atexit.register(shutil.rmtree, root, True)
    client = Client(str(root / "store"))
    try:
        report = run_demo(client, out=lambda _line: None)
        steps = report.steps
        return {
            "root": root,
            "model": (
                steps["b"].jobs[0].output_commit,  # v1
                steps["c"].jobs[0].output_commit,  # v2: retrained
                steps["e"].commit,  # the revert to v1
            ),
            "training": (steps["a"].commit, steps["c"].commit),
            "predict_before_revert": steps["d"].jobs[0].output_commit,
            "predict_after_revert": steps["e"].jobs[0].output_commit,
            "predict_jobs": tuple(j.id for j in client.list_job("predict")),
            "report": report,
        }
    finally:
        client.close()


def demo_store(dest: Path) -> Demo:
    """A copy of the demo's store at ``dest`` (the demo runs on first use in this process)."""
    if "demo" not in _cache:
        _cache["demo"] = _build_demo()
    d = _cache["demo"]
    shutil.copytree(d["root"] / "store", dest)
    return Demo(
        dest,
        d["model"],
        d["predict_before_revert"],
        d["predict_after_revert"],
        d["training"],
        d["predict_jobs"],
    )


@dataclass(frozen=True)
class Diamond:
    """Commit ids of the diamond store: ``raw`` v1 and v2, and ``joined`` after each."""

    raw: tuple[str, ...]
    joined: tuple[str, ...]


def _cmd(name: str, input: dict[str, Any], script: str) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "input": input,
        "transform": {"cmd": ["bash", "-c", script]},
    }


DIAMOND_SPECS = [
    _cmd(
        "left", {"pfs": {"repo": "raw", "glob": "/"}}, 'head -n 3 "$raw/data.csv" > "$out/left.csv"'
    ),
    _cmd(
        "right",
        {"pfs": {"repo": "raw", "glob": "/"}},
        '(head -n 1 "$raw/data.csv"; tail -n +4 "$raw/data.csv") > "$out/right.csv"',
    ),
    _cmd(
        "joined",
        {
            "cross": [
                {"pfs": {"repo": "left", "glob": "/"}},
                {"pfs": {"repo": "right", "glob": "/"}},
            ]
        },
        'cat "$left/left.csv" > "$out/joined.csv"; tail -n +2 "$right/right.csv" >> '
        '"$out/joined.csv"',
    ),
]
RAW_V1 = b"id,value\n1,a\n2,b\n3,c\n4,d\n"
RAW_V2 = b"id,value\n1,a\n2,B\n3,c\n4,d\n5,e\n"


def build_diamond(client: Client) -> Diamond:
    """``raw`` → ``left`` and ``right`` → ``joined``, then a second version of ``raw``."""
    client.create_repo("raw", "the source table")
    first = client.put_file("raw@master", "/data.csv", RAW_V1, message="first table").id
    for spec in DIAMOND_SPECS:
        info = client.create_pipeline(spec)
        jobs = client.wait_commit(f"{info.name}@{info.spec_commit}", timeout=120)
        assert [j.state for j in jobs] == ["success"], jobs
    joined_1 = client.inspect_commit("joined@master").id
    second = client.put_file("raw@master", "/data.csv", RAW_V2, message="second table").id
    jobs = client.wait_commit(f"raw@{second}", timeout=120)
    assert {j.pipeline for j in jobs} == {"left", "right", "joined"}, jobs
    assert {j.state for j in jobs} == {"success"}, jobs
    return Diamond((first, second), (joined_1, client.inspect_commit("joined@master").id))
