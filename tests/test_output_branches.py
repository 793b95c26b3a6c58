"""Output branches belong to their pipeline (#12): user commits there are refused, reverts not."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import Conflict, OutputBranchWrite


@pytest.fixture
def pipes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    monkeypatch.setenv("JUPYTER_PIPES_DASK_PROCESSES", "0")  # thread workers: quick to start
    c = Client(str(tmp_path / "store"), n_workers=1)
    c.create_repo("data")
    c.put_file("data@master", "/a.txt", b"a")
    spec = {
        "pipeline": {"name": "copy"},
        "input": {"pfs": {"repo": "data", "glob": "/*"}},
        "transform": {"cmd": ["bash", "-c", 'cp "$PFS/data"/* "$out"/']},
    }
    c.wait_job(c.create_pipeline(spec).last_job, timeout=120)
    yield c
    c.close()


def test_user_commits_to_an_output_branch_are_refused_naming_the_pipeline(pipes: Client) -> None:
    head = pipes.inspect_commit("copy@master").id
    with pytest.raises(OutputBranchWrite) as e:
        pipes.put_file("copy@master", "/b.txt", b"b")
    assert "pipeline 'copy'" in e.value.message and "copy@master" in e.value.message
    assert e.value.fields == {"pipeline": "copy", "repo": "copy", "branch": "master"}
    assert isinstance(e.value, Conflict) and e.value.http_status == 409
    with pytest.raises(OutputBranchWrite):
        pipes.delete_file("copy@master", "/a.txt")
    with pytest.raises(OutputBranchWrite):
        pipes.copy_file("data@master:/a.txt", "copy@master", "/c.txt")
    with pytest.raises(OutputBranchWrite, match="spec branch of pipeline 'copy'"):
        pipes.put_file("copy@spec", "/spec.json", b"{}")
    with pytest.raises(OutputBranchWrite), pipes.start_commit("copy@master") as oc:
        oc.put_file("/d.txt", b"d")
    assert pipes.inspect_commit("copy@master").id == head  # nothing moved
    assert [f.path for f in pipes.list_file("copy@master")] == ["/a.txt"]
    # another branch of the output repo is the user's to write
    pipes.put_file("copy@scratch", "/notes.txt", b"mine")


def test_the_store_api_cannot_get_around_it_either(pipes: Client) -> None:
    """The head hook refuses a user commit that did not go through the Client's check."""
    head = pipes.inspect_commit("copy@master").id
    oc = pipes.store.start_commit("copy", "master")
    oc.put_file("/sneaky.txt", b"x")
    with pytest.raises(OutputBranchWrite, match="output branch of pipeline 'copy'"):
        oc.finish()
    assert pipes.inspect_commit("copy@master").id == head


def test_revert_of_an_output_branch_stays_allowed(pipes: Client) -> None:
    first = pipes.inspect_commit("copy@master").id
    pipes.put_file("data@master", "/b.txt", b"b")
    pipes.wait_commit("data@master", timeout=120)
    assert len(list(pipes.list_file("copy@master"))) == 2
    reverted = pipes.revert("copy@master", first)
    assert reverted.origin == "revert"
    assert [f.path for f in pipes.list_file("copy@master")] == ["/a.txt"]
    # updating the pipeline still writes its spec branch
    pipes.update_pipeline(
        {
            "pipeline": {"name": "copy"},
            "input": {"pfs": {"repo": "data", "glob": "/*"}},
            "transform": {"cmd": ["bash", "-c", 'cp "$PFS/data"/* "$out"/; true']},
        }
    )
    assert pipes.inspect_pipeline("copy").version == 2


def test_the_cli_refuses_with_one_clear_line(pipes: Client, tmp_path: Path) -> None:
    local = tmp_path / "b.txt"
    local.write_bytes(b"b")
    env = {**os.environ, "JUPYTER_PIPES_STORE": str(tmp_path / "store")}
    res = subprocess.run(
        [sys.executable, "-m", "jupyter_pipes.cli", "put", "file", "copy@master:/b.txt",
         "-f", str(local)],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert res.returncode == 1
    assert res.stderr.startswith("error: copy@master is the output branch of pipeline 'copy'")
    assert "Traceback" not in res.stderr and str(tmp_path) not in res.stderr
