"""The ``jupyter pipes`` CLI, run as a real subprocess against a real local store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import click
import pytest

import jupyter_pipes
from jupyter_pipes import Client
from jupyter_pipes.cli import cli, render
from jupyter_pipes.store.records import CommitRef

ROOT = Path(__file__).resolve().parents[1]
COMMIT_ID = re.compile(r"[0-9a-f]{32}")


class Result:
    """A finished CLI run: exit code, raw stdout bytes, stderr text."""

    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.rc = proc.returncode
        self.raw = proc.stdout
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def run_cli(
    *args: str | Path, store: Path | None = None, rc: int = 0, stdin: bytes | None = None,
    cwd: Path | None = None, env: dict[str, str] | None = None,
) -> Result:
    """Run ``python -m jupyter_pipes.cli [--store STORE] ARGS`` and check its exit code."""
    cmd = [sys.executable, "-m", "jupyter_pipes.cli"]
    if store is not None:
        cmd += ["--store", str(store)]
    cmd += [str(a) for a in args]
    proc = subprocess.run(
        cmd, input=stdin if stdin is not None else b"", capture_output=True, cwd=cwd,
        env=env or _env(), timeout=120, check=False,
    )
    res = Result(proc)
    assert res.rc == rc, f"{cmd} -> {res.rc}\nstdout: {res.out}\nstderr: {res.err}"
    return res


class Pipes:
    """``run_cli`` bound to one store."""

    def __init__(self, store: Path) -> None:
        self.store = store

    def __call__(self, *args: str | Path, **kw: Any) -> Result:
        return run_cli(*args, store=self.store, **kw)

    def head(self, branch: str) -> str | None:
        """A branch's head, read in-process through the library (no subprocess)."""
        with Client(str(self.store)) as c:
            return c.inspect_branch(branch).head


@pytest.fixture
def pipes(tmp_path: Path) -> Pipes:
    return Pipes(tmp_path / "store")


def _error(res: Result, *needles: str) -> None:
    """One ``error: ...`` line on stderr, no traceback, nothing on stdout."""
    assert res.rc == 1
    assert res.out == ""
    assert res.err.startswith("error: ") and res.err.count("\n") == 1, res.err
    assert "Traceback" not in res.err
    for n in needles:
        assert n in res.err, res.err


# -- in-process checks (no subprocess) ----------------------------------------------------------


def test_render_helpers() -> None:
    assert render.human_size(0) == "0B"
    assert render.human_size(512) == "512B"
    assert render.human_size(1024) == "1KiB"
    assert render.human_size(1234) == "1.205KiB"
    assert render.human_size(3 * 1024**3) == "3GiB"
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert render.ago(now - timedelta(minutes=3), now) == "3 minutes ago"
    assert render.ago(now - timedelta(seconds=0.2), now) == "Less than a second ago"
    assert render.ago(now - timedelta(hours=1), now) == "About an hour ago"
    assert render.ago(now - timedelta(days=3), now) == "3 days ago"
    assert render.ago(None) == "-"
    assert render.table(["A", "LONG"], [["xyz", 1], [None, "b"]]).splitlines() == [
        "A     LONG", "xyz   1", "-     b",
    ]


def test_every_command_has_help_with_an_example() -> None:
    def walk(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
        out: list[tuple[str, click.Command]] = []
        for name, cmd in group.commands.items():
            if isinstance(cmd, click.Group):
                out += walk(cmd, f"{prefix} {name}")
            else:
                out.append((f"{prefix} {name}", cmd))
        return out

    commands = dict(walk(cli, ""))
    expected = {
        " create repo", " list repo", " inspect repo", " delete repo", " put file", " get file",
        " list file", " glob file", " inspect file", " diff file", " delete file", " copy file",
        " list commit", " inspect commit", " squash commit", " delete commit", " create branch",
        " list branch", " inspect branch", " delete branch", " revert branch", " fsck", " gc",
    }
    assert set(commands) == expected
    for name, cmd in commands.items():
        assert "Example" in (cmd.help or ""), name
        assert f"jupyter pipes{name}" in (cmd.help or ""), name


# -- subprocess tests ---------------------------------------------------------------------------


def test_help_version_and_usage_errors(pipes: Pipes) -> None:
    res = pipes("--help")
    assert "VERB NOUN" in res.out and "create" in res.out and "revert" in res.out
    assert jupyter_pipes.__version__ in pipes("--version").out
    bad = pipes("list", "foo", rc=2)
    assert "No such command 'foo'" in bad.err and "Usage: jupyter pipes list" in bad.err
    assert "No such command 'repo'" in pipes("put", "repo", "x", rc=2).err
    assert "Missing argument" in pipes("create", "repo", rc=2).err
    assert not pipes.store.exists(), "help and usage errors must not create the store"


def test_repo_lifecycle(pipes: Pipes) -> None:
    assert pipes("create", "repo", "images", "-d", "raw images").out == ""
    pipes("create", "repo", "labels")
    _error(pipes("create", "repo", "images", rc=1), "already exists")
    _error(pipes("create", "repo", "bad name!", rc=1), "invalid repo name")

    table = pipes("list", "repo").lines()
    assert table[0].split() == ["NAME", "CREATED", "SIZE", "(MASTER)", "DESCRIPTION"]
    assert table[1].startswith("images ") and "ago" in table[1] and table[1].endswith("raw images")
    assert [r["name"] for r in pipes("list", "repo", "--json").json()] == ["images", "labels"]

    info = pipes("inspect", "repo", "images", "--json").json()
    assert info["description"] == "raw images" and info["branches"] == ["master"]
    assert "Name: images" in pipes("inspect", "repo", "images").out
    _error(pipes("inspect", "repo", "nope", rc=1), "repo 'nope' not found")

    pipes("delete", "repo", "labels")
    assert [r["name"] for r in pipes("list", "repo", "--json").json()] == ["images"]


def test_put_and_get_round_trip(pipes: Pipes, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "photos" / "sub").mkdir(parents=True)
    blob = bytes(range(256)) * 700 + b"\r\n\x00end"  # binary, > one CDC chunk
    (local / "blob.bin").write_bytes(blob)
    (local / "a.txt").write_bytes(b"alpha\n")
    (local / "photos" / "1.png").write_bytes(b"\x89PNG one")
    (local / "photos" / "sub" / "2.png").write_bytes(b"\x89PNG two")
    pipes("create", "repo", "data")

    # PATH omitted: the local basename lands at the root; stdout is exactly the commit id.
    c1 = pipes("put", "file", "data@master", "-f", local / "blob.bin", "-m", "first").out.strip()
    assert COMMIT_ID.fullmatch(c1) and pipes.head("data@master") == c1
    # Several -f: one commit; PATH ending in '/' is a folder.
    pipes("put", "file", "data@master:/docs/", "-f", local / "a.txt", "-f", local / "blob.bin")
    # An exact PATH; a folder with -r goes under PATH; stdin with --append.
    pipes("put", "file", "data@master:/renamed.txt", "-f", local / "a.txt")
    pipes("put", "file", "data@master:/pics", "-r", "-f", local / "photos")
    pipes("put", "file", "data@master:/renamed.txt", "-f", "-", "--append", stdin=b"beta\n")
    pipes("put", "file", "data@master:/stdin.bin", "-f", "-", stdin=blob)

    names = [f["path"] for f in pipes("list", "file", "data@master", "--json").json()]
    assert names == ["/blob.bin", "/docs/", "/pics/", "/renamed.txt", "/stdin.bin"]
    walk = pipes("glob", "file", "data@master:/**", "--json").json()
    assert {f["path"] for f in walk if f["type"] == "file"} == {
        "/blob.bin", "/docs/a.txt", "/docs/blob.bin", "/pics/1.png", "/pics/sub/2.png",
        "/renamed.txt", "/stdin.bin",
    }

    # get file: stdout is binary-safe; -o writes a file, or a directory recursively.
    assert pipes("get", "file", "data@master:/blob.bin").raw == blob
    assert pipes("get", "file", "data@master:/stdin.bin").raw == blob
    assert pipes("get", "file", "data@master:/renamed.txt").raw == b"alpha\nbeta\n"
    assert pipes("get", "file", f"data@{c1[:8]}:/blob.bin").raw == blob  # unique prefix
    out_file = tmp_path / "got.bin"
    assert pipes("get", "file", "data@master:/docs/blob.bin", "-o", out_file).out == ""
    assert out_file.read_bytes() == blob
    pipes("get", "file", "data@master:/pics", "-o", tmp_path / "pics")
    assert (tmp_path / "pics" / "1.png").read_bytes() == b"\x89PNG one"
    assert (tmp_path / "pics" / "sub" / "2.png").read_bytes() == b"\x89PNG two"
    _error(pipes("get", "file", "data@master:/pics", rc=1), "/pics/ is a directory", "-o")

    # Progress bars: on stderr only, when asked (stderr is not a TTY here).
    res = pipes("put", "file", "data@master:/p/", "-r", "-f", local, "--progress")
    assert COMMIT_ID.fullmatch(res.out.strip()) and "100%" in res.err
    res = pipes("get", "file", "data@master:/blob.bin", "--progress")
    assert res.raw == blob and "100%" in res.err
    res = pipes("get", "file", "data@master:/blob.bin")
    assert res.err == ""


def test_put_and_get_errors(pipes: Pipes, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"a")
    _error(pipes("put", "file", "nope@master", "-f", f, rc=1), "repo 'nope' not found")
    pipes("create", "repo", "data")
    _error(pipes("put", "file", "data@master:/a/../b", "-f", f, rc=1), "'..'")
    _error(pipes("put", "file", "data@master", "-f", tmp_path / "missing", rc=1), "not found")
    assert "use -r" in pipes("put", "file", "data@master", "-f", tmp_path, rc=2).err
    assert "needs a file path" in pipes("put", "file", "data@master", "-f", "-", rc=2).err
    assert "Missing option '-f'" in pipes("put", "file", "data@master", rc=2).err
    _error(pipes("put", "file", "data@bad^ref", "-f", f, rc=1), "invalid ref")
    assert pipes("list", "commit", "data", "--json").json() == []  # nothing was committed
    pipes("put", "file", "data@master", "-f", f)
    _error(pipes("get", "file", "data@nope:/a.txt", rc=1), "no branch or commit 'nope'")
    _error(pipes("get", "file", "data@master:/missing", rc=1), "/missing")
    _error(pipes("list", "file", "data@master:/x/../y", rc=1), "'..'")


def test_list_inspect_glob_diff_delete_copy_file(pipes: Pipes, tmp_path: Path) -> None:
    pipes("create", "repo", "data")
    pipes("create", "repo", "archive")
    for name, body in [("a.csv", b"1,2\n"), ("b.csv", b"3" * 2000), ("c.txt", b"c")]:
        (tmp_path / name).write_bytes(body)
    pipes("put", "file", "data@master:/csv/", "-f", tmp_path / "a.csv", "-f", tmp_path / "b.csv")
    pipes("put", "file", "data@master", "-f", tmp_path / "c.txt")

    table = pipes("list", "file", "data@master:/csv").lines()
    assert table[0].split() == ["NAME", "TYPE", "SIZE"]
    assert table[2].split() == ["/csv/b.csv", "file", "1.953KiB"]
    assert pipes("list", "file", "data@master").lines()[1].split() == ["/c.txt", "file", "1B"]
    matches = pipes("glob", "file", "data@master:/csv/*.csv", "--json").json()
    assert [m["path"] for m in matches] == ["/csv/a.csv", "/csv/b.csv"]
    assert "/csv/b.csv" in pipes("glob", "file", "data@master:/*/b*").out

    info = pipes("inspect", "file", "data@master:/csv/b.csv", "--json").json()
    assert info["size_bytes"] == 2000 and info["type"] == "file"
    assert info["commit"] == pipes.head("data@master")
    assert "Size: 1.953KiB (2000 bytes)" in pipes("inspect", "file", "data@master:/csv/b.csv").out

    # diff: default is against the parent; an explicit old ref and a path narrow it.
    assert pipes("diff", "file", "data@master").lines() == ["+ /c.txt"]
    pipes("put", "file", "data@master:/csv/a.csv", "-f", tmp_path / "c.txt")
    d = pipes("delete", "file", "data@master:/c.txt", "-m", "drop c").out.strip()
    assert COMMIT_ID.fullmatch(d) and pipes.head("data@master") == d
    lines = pipes("diff", "file", "data@master", "data@master~2").lines()
    assert sorted(lines) == ["- /c.txt", "~ /csv/a.csv"]
    assert pipes("diff", "file", "data@master:/csv", "data@master~2").lines() == ["~ /csv/a.csv"]
    js = pipes("diff", "file", "data@master", "data@master~3", "--json").json()
    assert {(e["path"], e["change"]) for e in js} == {("/csv/a.csv", "modified")}
    assert "same PATH" in pipes("diff", "file", "data@master:/a", "data@master~1:/b", rc=2).err
    assert "path to delete" in pipes("delete", "file", "data@master", rc=2).err

    # copy: a file to a new path, a whole directory to another repo (default: same path).
    c = pipes("copy", "file", "data@master:/csv/b.csv", "data@master:/kept.csv").out.strip()
    assert pipes.head("data@master") == c
    assert pipes("get", "file", "data@master:/kept.csv").raw == b"3" * 2000
    pipes("copy", "file", "data@master~1:/csv", "archive@master", "-m", "archive")
    assert [f["path"] for f in pipes("list", "file", "archive@master:/csv", "--json").json()] == [
        "/csv/a.csv", "/csv/b.csv",
    ]
    assert pipes("get", "file", "archive@master:/csv/a.csv").raw == b"c"
    _error(pipes("copy", "file", "data@master:/nothing", "archive@master:/x", rc=1), "/nothing")


def test_commits(pipes: Pipes, tmp_path: Path) -> None:
    pipes("create", "repo", "raw")
    ids = [
        pipes("put", "file", f"raw@master:/f{i}.txt", "-f", "-", "-m", f"commit {i}",
              stdin=b"x" * (i + 1)).out.strip()
        for i in range(3)
    ]
    table = pipes("list", "commit", "raw@master").lines()
    assert table[0].split() == ["REPO", "BRANCH", "COMMIT", "FINISHED", "SIZE", "ORIGIN",
                                "DESCRIPTION"]
    assert [row.split()[2] for row in table[1:]] == ids[::-1]  # newest first
    assert "ago" in table[1] and table[1].endswith("commit 2") and " user " in table[1]
    listed = pipes("list", "commit", "raw", "-n", "1", "--offset", "1", "--json").json()
    assert [c["id"] for c in listed] == [ids[1]]
    assert [c["id"] for c in pipes("list", "commit", "raw@master^1", "--json").json()] == ids[1::-1]

    # Provenance and subvenance (a downstream commit written through the Python API).
    with Client(str(pipes.store)) as client:
        client.create_repo("model")
        with client.start_commit(
            "model@master", provenance=(CommitRef("raw", ids[2], "master"),)
        ) as oc:
            oc.put_file("/m.bin", b"weights")
    up = pipes("inspect", "commit", "raw@master", "--json").json()
    assert up["id"] == ids[2] and up["parent"] == ids[1] and up["message"] == "commit 2"
    assert [s["repo"] for s in up["subvenance"]] == ["model"]
    down = pipes("inspect", "commit", "model@master", "--json").json()
    assert down["provenance"] == [{"repo": "raw", "id": ids[2], "branch": "master"}]
    text = pipes("inspect", "commit", "model@master").out
    assert f"Provenance: raw@{ids[2]} (master)" in text and "Origin: user" in text
    assert "Subvenance: model@" in pipes("inspect", "commit", f"raw@{ids[2][:10]}").out
    _error(pipes("delete", "repo", "raw", rc=1), "upstream of model")
    _error(pipes("delete", "commit", "raw@master", rc=1), "computed from it")
    _error(pipes("inspect", "commit", "raw@master~5", rc=1), "ancestor")

    # squash keeps the files; delete moves the branch back to the parent.
    pipes("squash", "commit", "raw@master^1")
    assert [c["id"] for c in pipes("list", "commit", "raw@master", "--json").json()] == [
        ids[2], ids[0],
    ]
    assert pipes("get", "file", "raw@master:/f1.txt").raw == b"xx"
    pipes("delete", "repo", "model")
    pipes("delete", "commit", "raw@master")
    assert pipes.head("raw@master") == ids[0]
    _error(pipes("squash", "commit", "raw@master", rc=1), "branch head")


def test_branches_and_revert(pipes: Pipes) -> None:
    pipes("create", "repo", "model")
    v1 = pipes("put", "file", "model@master:/m.txt", "-f", "-", stdin=b"v1").out.strip()
    v2 = pipes("put", "file", "model@master:/m.txt", "-f", "-", stdin=b"v2").out.strip()

    pipes("create", "branch", "model@empty")
    pipes("create", "branch", "model@old", "--head", v1[:12])
    pipes("create", "branch", "model@prev", "--head", "model@master^1")
    heads = {b["name"]: b["head"] for b in pipes("list", "branch", "model", "--json").json()}
    assert heads == {"master": v2, "empty": None, "old": v1, "prev": v1}
    table = pipes("list", "branch", "model").lines()
    assert table[0].split() == ["BRANCH", "HEAD"] and f"master   {v2}" in table
    assert pipes("inspect", "branch", "model@old").out == f"Name: model@old\nHead: {v1}\n"
    _error(pipes("create", "branch", "model@old", rc=1), "already exists")
    _error(pipes("create", "branch", "model@x", "--head", "nope", rc=1), "'nope'")

    # --head on an existing branch moves it.
    pipes("create", "branch", "model@old", "--head", "master")
    assert pipes.head("model@old") == v2

    # revert: a new commit whose files equal the target's; the branch head moves to it.
    r = pipes("revert", "branch", "model@master", "--to", "master^1", "-m", "undo").out.strip()
    assert COMMIT_ID.fullmatch(r) and pipes.head("model@master") == r
    assert pipes("get", "file", "model@master:/m.txt").raw == b"v1"
    info = pipes("inspect", "commit", "model@master", "--json").json()
    assert (info["origin"], info["restores"], info["parent"], info["message"]) == (
        "revert", v1, v2, "undo",
    )
    r2 = pipes("revert", "branch", "model@master", "--to", f"model@{v2}").out.strip()
    assert pipes.head("model@master") == r2
    assert pipes("get", "file", "model@master:/m.txt").raw == b"v2"
    assert "Missing option '--to'" in pipes("revert", "branch", "model@master", rc=2).err
    _error(pipes("revert", "branch", "model@master", "--to", "zzz", rc=1), "'zzz'")

    pipes("delete", "branch", "model@prev")
    assert "prev" not in {b["name"] for b in pipes("list", "branch", "model", "--json").json()}
    _error(pipes("inspect", "branch", "model@prev", rc=1), "not found")
    _error(pipes("create", "branch", "model@bad!name", rc=1), "invalid")


def test_fsck_and_gc(pipes: Pipes) -> None:
    pipes("create", "repo", "data")
    pipes("put", "file", "data@master:/a.bin", "-f", "-", stdin=os.urandom(100_000))
    pipes("put", "file", "data@master:/b.bin", "-f", "-", stdin=b"b" * 10)
    res = pipes("fsck")
    assert res.lines()[0].startswith("checked 2 commits, ") and res.lines()[-1] == "ok"
    report = pipes("fsck", "--no-verify-data", "--json").json()
    assert report["ok"] is True and report["problems"] == [] and report["bytes_verified"] == 0

    pipes("delete", "commit", "data@master")  # b.bin's objects are now unreachable
    assert pipes("gc", "--json").json()["packs_removed"] == 0  # still inside the grace period
    res = pipes("gc", "--grace", "0")
    assert res.out.startswith("removed ") and "pack" in res.out
    assert "x>=0" in pipes("gc", "--grace", "-1", rc=2).err

    for pack in (pipes.store / "packs").iterdir():  # corrupt every stored byte
        data = pack.read_bytes()
        pack.chmod(0o644)
        pack.write_bytes(bytes(b ^ 0xFF for b in data))
    res = pipes("fsck", rc=1)
    assert any(line.startswith("problem: ") for line in res.lines())
    assert "found" in res.lines()[-1]
    report = pipes("fsck", "--json", rc=1).json()
    assert report["ok"] is False and report["problems"]


def test_env_var_selects_the_store(tmp_path: Path) -> None:
    store = tmp_path / "from-env"
    env = _env(JUPYTER_PIPES_STORE=str(store))
    run_cli("create", "repo", "envrepo", env=env, cwd=tmp_path)
    assert (store / "metadata.sqlite").exists() and not (tmp_path / ".pipes").exists()
    assert [r["name"] for r in run_cli("list", "repo", "--json", env=env).json()] == ["envrepo"]
    assert run_cli("--store", tmp_path / "other", "list", "repo", "--json", env=env).json() == []


def test_default_store_is_dot_pipes_in_cwd(tmp_path: Path) -> None:
    run_cli("create", "repo", "here", cwd=tmp_path)
    assert (tmp_path / ".pipes" / "metadata.sqlite").exists()
    assert [r["name"] for r in run_cli("list", "repo", "--json", cwd=tmp_path).json()] == ["here"]


def test_jupyter_pipes_subcommand(tmp_path: Path) -> None:
    jupyter = shutil.which("jupyter")
    if jupyter is None:
        pytest.skip("jupyter is not on PATH")
    if not metadata.entry_points(group="console_scripts", name="jupyter-pipes"):
        pytest.skip("jupyter_pipes is not pip-installed (no jupyter-pipes console script)")
    proc = subprocess.run([jupyter, "pipes", "--help"], capture_output=True, text=True,
                          cwd=tmp_path, env=_env(), timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: jupyter pipes" in proc.stdout and "VERB NOUN" in proc.stdout
