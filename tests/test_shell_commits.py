"""``start commit`` / ``finish commit`` (#12): one commit written by several shell commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_pipes import Client, NotFound

CLI = [sys.executable, "-m", "jupyter_pipes.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("data")
        c.put_file("data@master", "/old.txt", b"old")
    return {
        **os.environ,
        "JUPYTER_PIPES_STORE": str(tmp_path / "store"),
        "JUPYTER_PIPES_STAGING": str(tmp_path / "staging"),
    }


def cli(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=120)
    assert (res.returncode == 0) == ok, res.stderr
    assert "Traceback" not in res.stderr
    return res


def test_start_put_delete_finish_makes_one_commit(env: dict[str, str], tmp_path: Path) -> None:
    store = env["JUPYTER_PIPES_STORE"]
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(name)
    open_id = cli(env, "start", "commit", "data@master", "-m", "two steps").stdout.strip()
    assert len(open_id) == 32
    res = cli(env, "put", "file", "data@master:/a.txt", "-f", str(tmp_path / "a.txt"))
    assert res.stdout.strip() == open_id and "finish commit data@master" in res.stderr
    cli(env, "put", "file", f"data@{open_id[:8]}:/b.txt", "-f", str(tmp_path / "b.txt"))
    cli(env, "delete", "file", "data@master:/old.txt")
    listed = cli(env, "list", "open-commit").stdout
    assert open_id in listed and "two steps" in listed
    with Client(store) as c:  # nothing is visible before finish
        assert len(c.list_commit("data@master")) == 1
        assert [f.path for f in c.list_file("data@master")] == ["/old.txt"]
    # one open commit per branch
    again = cli(env, "start", "commit", "data@master", ok=False)
    assert again.stderr.startswith("error: data@master already has an open commit")

    commit = cli(env, "finish", "commit", "data@master").stdout.strip()
    with Client(store) as c:
        history = c.list_commit("data@master")
        assert history[0].id == commit and len(history) == 2
        assert history[0].message == "two steps"
        assert [f.path for f in c.list_file("data@master")] == ["/a.txt", "/b.txt"]
        assert c.get_file("data@master", "/b.txt") == b"b"
    assert cli(env, "list", "open-commit").stdout.count("\n") <= 1  # the header only
    gone = cli(env, "finish", "commit", "data@master", ok=False)
    assert gone.stderr.startswith("error: no open commit 'data@master'")


def test_abort_and_refusals(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTER_PIPES_STAGING", env["JUPYTER_PIPES_STAGING"])
    (tmp_path / "a.txt").write_text("a")
    with Client(env["JUPYTER_PIPES_STORE"]) as c:  # the Client API the CLI calls
        info = c.start_shell_commit("data@master")
        c.put_file_shell("data@master", "/a.txt", str(tmp_path / "a.txt"))
        assert c.find_shell_commit(f"data@{info.id}").changes == 1
        assert c.finish_shell_commit("data@master", abort=True) is None
        assert c.list_shell_commit() == [] and len(c.list_commit("data@master")) == 1
        with pytest.raises(NotFound, match="no open commit"):
            c.put_file_shell("data@master", "/a.txt", str(tmp_path / "a.txt"))
        c.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "data", "glob": "/*"}},
                "transform": {"cmd": ["bash", "-c", 'cp "$PFS/data"/* "$out"/']},
            }
        )
        with pytest.raises(NotFound, match="repo 'nope' not found"):
            c.start_shell_commit("nope@master")
    refused = cli(env, "start", "commit", "copy@master", ok=False)
    assert refused.stderr.startswith("error: copy@master is the output branch of pipeline")
