"""The ``jupyter pipes`` CLI, run as a real subprocess against a real local store."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
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

    def __init__(self, rc: int, out: bytes, err: bytes) -> None:
        self.rc = rc
        self.raw = out
        self.out = out.decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.out)

    def lines(self) -> list[str]:
        return self.out.splitlines()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    env["JUPYTER_PIPES_AUTOSTART"] = "0"  # jobs run only where a test runs them (#12)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


def _start(
    args: Sequence[str | Path],
    store: Path | None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[list[str], subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "jupyter_pipes.cli"]
    if store is not None:
        cmd += ["--store", str(store)]
    cmd += [str(a) for a in args]
    pipe = subprocess.PIPE
    proc = subprocess.Popen(cmd, stdin=pipe, stdout=pipe, stderr=pipe, cwd=cwd, env=env or _env())
    return cmd, proc


def _finish(
    started: tuple[list[str], subprocess.Popen[bytes]], rc: int, stdin: bytes | None = None
) -> Result:
    cmd, proc = started
    try:
        out, err = proc.communicate(stdin or b"", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    res = Result(proc.returncode, out, err)
    assert res.rc == rc, f"{cmd} -> {res.rc}\nstdout: {res.out}\nstderr: {res.err}"
    return res


def run_cli(
    *args: str | Path,
    store: Path | None = None,
    rc: int = 0,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run ``python -m jupyter_pipes.cli [--store STORE] ARGS`` and check its exit code."""
    return _finish(_start(args, store, cwd, env), rc, stdin)


class Pipes:
    """``run_cli`` bound to one store."""

    def __init__(self, store: Path) -> None:
        self.store = store

    def __call__(self, *args: str | Path, **kw: Any) -> Result:
        return run_cli(*args, store=self.store, **kw)

    def batch(self, *commands: Sequence[str | Path], rc: Sequence[int] = ()) -> list[Result]:
        """Run independent read-only commands concurrently (to keep the suite fast); each
        must exit with its ``rc`` (default 0)."""
        started = [_start(c, self.store) for c in commands]
        codes = list(rc) or [0] * len(commands)
        return [_finish(st, code) for st, code in zip(started, codes, strict=True)]

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
        "A     LONG",
        "xyz   1",
        "-     b",
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
        " create repo",
        " list repo",
        " inspect repo",
        " delete repo",
        " put file",
        " get file",
        " list file",
        " glob file",
        " inspect file",
        " diff file",
        " delete file",
        " copy file",
        " list commit",
        " inspect commit",
        " squash commit",
        " delete commit",
        " create branch",
        " list branch",
        " inspect branch",
        " delete branch",
        " revert branch",
        " fsck",
        " gc",
        " create pipeline",
        " update pipeline",
        " list pipeline",
        " inspect pipeline",
        " delete pipeline",
        " run pipeline",
        " list job",
        " inspect job",
        " wait job",
        " wait commit",
        " list datum",
        " inspect datum",
        " get notebook",
        " logs",
        " demo",
        " upgrade",
        " serve",
        " list service",
        " inspect service",
        " diff lineage",
        " list branch-log",
        " list metrics",
        " inspect metrics",
        " diff metrics",
        " controller",
        " list controller",
        " start commit",
        " finish commit",
        " list open-commit",
        " stop job",
        " delete job",
        " restart datum",
        " subscribe commit",
        " rerun job",
    }
    assert set(commands) == expected
    for name, cmd in commands.items():
        assert "Example" in (cmd.help or ""), name
        assert f"jupyter pipes{name}" in (cmd.help or ""), name


# -- subprocess tests ---------------------------------------------------------------------------


def test_help_version_and_usage_errors(pipes: Pipes) -> None:
    helped, version, bad, bad_noun, missing = pipes.batch(
        ["--help"],
        ["--version"],
        ["list", "foo"],
        ["put", "repo", "x"],
        ["create", "repo"],
        rc=[0, 0, 2, 2, 2],
    )
    assert "VERB NOUN" in helped.out and "create" in helped.out and "revert" in helped.out
    assert jupyter_pipes.__version__ in version.out
    assert "No such command 'foo'" in bad.err and "Usage: jupyter pipes list" in bad.err
    assert "No such command 'repo'" in bad_noun.err
    assert "Missing argument" in missing.err
    assert not pipes.store.exists(), "help and usage errors must not create the store"


def test_repo_lifecycle(pipes: Pipes) -> None:
    assert pipes("create", "repo", "images", "-d", "raw images").out == ""
    pipes("create", "repo", "labels")
    dup, bad, table, js, info, text, nope = pipes.batch(
        ["create", "repo", "images"],
        ["create", "repo", "bad name!"],
        ["list", "repo"],
        ["list", "repo", "--json"],
        ["inspect", "repo", "images", "--json"],
        ["inspect", "repo", "images"],
        ["inspect", "repo", "nope"],
        rc=[1, 1, 0, 0, 0, 0, 1],
    )
    _error(dup, "repo 'images' already exists")
    _error(bad, "invalid repo name 'bad name!'")
    _error(nope, "repo 'nope' not found")
    rows = table.lines()
    assert rows[0].split() == ["NAME", "CREATED", "SIZE", "(MASTER)", "DESCRIPTION"]
    assert rows[1].startswith("images ") and "ago" in rows[1] and rows[1].endswith("raw images")
    assert [r["name"] for r in js.json()] == ["images", "labels"]
    assert info.json()["description"] == "raw images" and info.json()["branches"] == ["master"]
    assert "Name: images\n" in text.out and "Size of HEAD on master: 0B" in text.out

    pipes("delete", "repo", "labels")
    assert [r["name"] for r in pipes("list", "repo", "--json").json()] == ["images"]


def test_put_and_get_round_trip(pipes: Pipes, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "photos" / "sub").mkdir(parents=True)
    blob = bytes(range(256)) * 700 + b"\r\n\x00end"  # binary, bigger than one CDC chunk
    (local / "blob.bin").write_bytes(blob)
    (local / "a.txt").write_bytes(b"alpha\n")
    (local / "photos" / "1.png").write_bytes(b"\x89PNG one")
    (local / "photos" / "sub" / "2.png").write_bytes(b"\x89PNG two")
    pipes("create", "repo", "data")

    # PATH omitted: the local basename lands at the root; stdout is exactly the commit id.
    c1 = pipes("put", "file", "data@master", "-f", local / "blob.bin", "-m", "first").out
    assert COMMIT_ID.fullmatch(c1.strip()) and pipes.head("data@master") == c1.strip()
    # Several -f make one commit; a PATH ending in '/' is a folder.
    c2 = pipes("put", "file", "data@master:/docs/", "-f", local / "a.txt", "-f", local / "blob.bin")
    assert pipes.head("data@master") == c2.out.strip()
    # An exact PATH; a folder with -r goes under PATH; stdin, with --append.
    pipes("put", "file", "data@master:/renamed.txt", "-f", local / "a.txt")
    pipes("put", "file", "data@master:/pics", "-r", "-f", local / "photos")
    pipes("put", "file", "data@master:/renamed.txt", "-f", "-", "--append", stdin=b"beta\n")
    # Progress bar on stderr only when asked (stderr is not a TTY here).
    res = pipes("put", "file", "data@master:/stdin.bin", "-f", "-", "--progress", stdin=blob)
    assert COMMIT_ID.fullmatch(res.out.strip()) and "put" in res.err

    out_file, out_dir = tmp_path / "got.bin", tmp_path / "pics"
    ls, walk, b1, b2, renamed, prefixed, to_file, to_dir, dir_out, progress = pipes.batch(
        ["list", "file", "data@master", "--json"],
        ["glob", "file", "data@master:/**", "--json"],
        ["get", "file", "data@master:/blob.bin"],
        ["get", "file", "data@master:/stdin.bin"],
        ["get", "file", "data@master:/renamed.txt"],
        ["get", "file", f"data@{c1[:8]}:/blob.bin"],  # a unique commit-id prefix
        ["get", "file", "data@master:/docs/blob.bin", "-o", out_file],
        ["get", "file", "data@master:/pics", "-o", out_dir],
        ["get", "file", "data@master:/pics"],
        ["get", "file", "data@master:/docs/blob.bin", "--progress"],
        rc=[0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
    )
    assert [f["path"] for f in ls.json()] == [
        "/blob.bin",
        "/docs/",
        "/pics/",
        "/renamed.txt",
        "/stdin.bin",
    ]
    assert {f["path"] for f in walk.json() if f["type"] == "file"} == {
        "/blob.bin",
        "/docs/a.txt",
        "/docs/blob.bin",
        "/pics/1.png",
        "/pics/sub/2.png",
        "/renamed.txt",
        "/stdin.bin",
    }
    # get file: stdout is binary-safe; -o writes a file, or a directory recursively.
    assert b1.raw == blob and b2.raw == blob and prefixed.raw == blob
    assert b1.err == ""  # no progress bar unless asked
    assert renamed.raw == b"alpha\nbeta\n"
    assert to_file.out == "" and out_file.read_bytes() == blob
    assert to_dir.out == "" and (out_dir / "1.png").read_bytes() == b"\x89PNG one"
    assert (out_dir / "sub" / "2.png").read_bytes() == b"\x89PNG two"
    _error(dir_out, "/pics/ is a directory", "-o LOCAL")
    assert progress.raw == blob and "100%" in progress.err


def test_put_and_get_errors(pipes: Pipes, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"a")
    _error(pipes("put", "file", "nope@master", "-f", f, rc=1), "repo 'nope' not found")
    pipes("create", "repo", "data")
    dotdot, missing, folder, stdin, no_f, bad_ref, empty = pipes.batch(
        ["put", "file", "data@master:/a/../b", "-f", f],
        ["put", "file", "data@master", "-f", tmp_path / "missing"],
        ["put", "file", "data@master", "-f", tmp_path],
        ["put", "file", "data@master", "-f", "-"],
        ["put", "file", "data@master"],
        ["put", "file", "data@bad^ref", "-f", f],
        ["list", "file", "data@master"],
        rc=[1, 1, 2, 2, 2, 1, 1],
    )
    _error(dotdot, "invalid path '/a/../b'", "'..'")
    _error(missing, "local file", "not found")
    assert "is a directory: use -r" in folder.err
    assert "reading stdin needs a file path" in stdin.err
    assert "Missing option '-f'" in no_f.err
    _error(bad_ref, "invalid ref")
    _error(empty, "has no commits yet")  # none of the failed puts committed anything
    pipes("put", "file", "data@master", "-f", f)
    unknown, absent, dotdot_ls = pipes.batch(
        ["get", "file", "data@nope:/a.txt"],
        ["get", "file", "data@master:/missing"],
        ["list", "file", "data@master:/x/../y"],
        rc=[1, 1, 1],
    )
    _error(unknown, "no branch or commit 'nope' in repo 'data'")
    _error(absent, "/missing")
    _error(dotdot_ls, "'..'")


def test_list_inspect_glob_diff_delete_copy_file(pipes: Pipes, tmp_path: Path) -> None:
    pipes("create", "repo", "data")
    pipes("create", "repo", "archive")
    for name, body in [("a.csv", b"1,2\n"), ("b.csv", b"3" * 2000), ("c.txt", b"c")]:
        (tmp_path / name).write_bytes(body)
    pipes("put", "file", "data@master:/csv/", "-f", tmp_path / "a.csv", "-f", tmp_path / "b.csv")
    head = pipes("put", "file", "data@master", "-f", tmp_path / "c.txt").out.strip()

    ls_csv, ls_root, glob_js, glob_txt, info, info_txt, diff = pipes.batch(
        ["list", "file", "data@master:/csv"],
        ["list", "file", "data@master"],
        ["glob", "file", "data@master:/csv/*.csv", "--json"],
        ["glob", "file", "data@master:/*/b*"],
        ["inspect", "file", "data@master:/csv/b.csv", "--json"],
        ["inspect", "file", "data@master:/csv/b.csv"],
        ["diff", "file", "data@master"],
    )
    assert ls_csv.lines()[0].split() == ["NAME", "TYPE", "SIZE"]
    assert [r.split() for r in ls_csv.lines()[1:]] == [
        ["/csv/a.csv", "file", "4B"],
        ["/csv/b.csv", "file", "1.953KiB"],
    ]
    assert [r.split() for r in ls_root.lines()[1:]] == [
        ["/c.txt", "file", "1B"],
        ["/csv/", "dir", "1.957KiB"],
    ]
    assert [m["path"] for m in glob_js.json()] == ["/csv/a.csv", "/csv/b.csv"]
    assert [r.split()[0] for r in glob_txt.lines()[1:]] == ["/csv/b.csv"]
    assert info.json()["size_bytes"] == 2000 and info.json()["type"] == "file"
    assert info.json()["commit"] == head
    assert "Size: 1.953KiB (2000 bytes)" in info_txt.out and "Type: file" in info_txt.out
    assert diff.lines() == ["+ /c.txt"]  # default: against the parent

    pipes("put", "file", "data@master:/csv/a.csv", "-f", tmp_path / "c.txt")
    d = pipes("delete", "file", "data@master:/c.txt", "-m", "drop c").out.strip()
    assert COMMIT_ID.fullmatch(d) and pipes.head("data@master") == d
    two, narrowed, js, mismatch, no_path = pipes.batch(
        ["diff", "file", "data@master", "data@master~2"],
        ["diff", "file", "data@master:/csv", "data@master~2"],
        ["diff", "file", "data@master", "data@master~3", "--json"],
        ["diff", "file", "data@master:/a", "data@master~1:/b"],
        ["delete", "file", "data@master"],
        rc=[0, 0, 0, 2, 2],
    )
    assert sorted(two.lines()) == ["- /c.txt", "~ /csv/a.csv"]
    assert narrowed.lines() == ["~ /csv/a.csv"]
    assert {(e["path"], e["change"]) for e in js.json()} == {("/csv/a.csv", "modified")}
    assert "same PATH" in mismatch.err and "path to delete" in no_path.err

    # copy: a file to a new path; a whole directory to another repo (default: the same path).
    c = pipes("copy", "file", "data@master:/csv/b.csv", "data@master:/kept.csv").out.strip()
    assert pipes.head("data@master") == c
    pipes("copy", "file", "data@master~1:/csv", "archive@master", "-m", "archive")
    kept, archived, a_csv, nothing = pipes.batch(
        ["get", "file", "data@master:/kept.csv"],
        ["list", "file", "archive@master:/csv", "--json"],
        ["get", "file", "archive@master:/csv/a.csv"],
        ["copy", "file", "data@master:/nothing", "archive@master:/x"],
        rc=[0, 0, 0, 1],
    )
    assert kept.raw == b"3" * 2000 and a_csv.raw == b"c"
    assert [f["path"] for f in archived.json()] == ["/csv/a.csv", "/csv/b.csv"]
    _error(nothing, "/nothing")


def test_commits(pipes: Pipes) -> None:
    pipes("create", "repo", "raw")
    ids = [
        pipes(
            "put",
            "file",
            f"raw@master:/f{i}.txt",
            "-f",
            "-",
            "-m",
            f"commit {i}",
            stdin=b"x" * (i + 1),
        ).out.strip()
        for i in range(3)
    ]
    # Provenance and subvenance (a downstream commit written through the Python API).
    with Client(str(pipes.store)) as client:
        client.create_repo("model")
        with client.start_commit(
            "model@master", provenance=(CommitRef("raw", ids[2], "master"),)
        ) as oc:
            oc.put_file("/m.bin", b"weights")
    table, paged, ancestors, up, down, text, sub, no_del, no_rm, too_far = pipes.batch(
        ["list", "commit", "raw@master"],
        ["list", "commit", "raw", "-n", "1", "--offset", "1", "--json"],
        ["list", "commit", "raw@master^1", "--json"],
        ["inspect", "commit", "raw@master", "--json"],
        ["inspect", "commit", "model@master", "--json"],
        ["inspect", "commit", "model@master"],
        ["inspect", "commit", f"raw@{ids[2][:10]}"],
        ["delete", "repo", "raw"],
        ["delete", "commit", "raw@master"],
        ["inspect", "commit", "raw@master~5"],
        rc=[0, 0, 0, 0, 0, 0, 0, 1, 1, 1],
    )
    rows = table.lines()
    assert rows[0].split() == [
        "REPO",
        "BRANCH",
        "COMMIT",
        "FINISHED",
        "SIZE",
        "ORIGIN",
        "DESCRIPTION",
    ]
    assert [row.split()[2] for row in rows[1:]] == ids[::-1]  # newest first
    assert "ago" in rows[1] and " 6B " in rows[1] and " user " in rows[1]
    assert rows[1].endswith("commit 2")
    assert [c["id"] for c in paged.json()] == [ids[1]]
    assert [c["id"] for c in ancestors.json()] == ids[1::-1]
    u = up.json()
    assert (u["id"], u["parent"], u["message"], u["origin"]) == (ids[2], ids[1], "commit 2", "user")
    assert [s["repo"] for s in u["subvenance"]] == ["model"]
    assert down.json()["provenance"] == [{"repo": "raw", "id": ids[2], "branch": "master"}]
    assert down.json()["subvenance"] == []
    assert f"Provenance: raw@{ids[2]} (master)" in text.out and "Origin: user" in text.out
    assert "Subvenance: model@" in sub.out
    _error(no_del, "upstream of model")
    _error(no_rm, "computed from it")
    _error(too_far, "ancestor")

    # squash keeps the files (in the child); delete moves the branch back to the parent.
    pipes("squash", "commit", "raw@master^1")
    pipes("delete", "repo", "model")
    squashed, f1 = pipes.batch(
        ["list", "commit", "raw@master", "--json"], ["get", "file", "raw@master:/f1.txt"]
    )
    assert [c["id"] for c in squashed.json()] == [ids[2], ids[0]] and f1.raw == b"xx"
    pipes("delete", "commit", "raw@master")
    assert pipes.head("raw@master") == ids[0]
    _error(pipes("squash", "commit", "raw@master", rc=1), "branch head")


def test_branches_and_revert(pipes: Pipes) -> None:
    pipes("create", "repo", "model")
    v1 = pipes("put", "file", "model@master:/m.txt", "-f", "-", stdin=b"v1").out.strip()
    v2 = pipes("put", "file", "model@master:/m.txt", "-f", "-", stdin=b"v2").out.strip()

    pipes("create", "branch", "model@empty")
    pipes("create", "branch", "model@old", "--head", v1[:12])  # a commit-id prefix
    pipes("create", "branch", "model@prev", "--head", "model@master^1")
    js, table, text, dup, unknown, bad = pipes.batch(
        ["list", "branch", "model", "--json"],
        ["list", "branch", "model"],
        ["inspect", "branch", "model@old"],
        ["create", "branch", "model@old"],
        ["create", "branch", "model@x", "--head", "nope"],
        ["create", "branch", "model@bad!name"],
        rc=[0, 0, 0, 1, 1, 1],
    )
    assert {b["name"]: b["head"] for b in js.json()} == {
        "master": v2,
        "empty": None,
        "old": v1,
        "prev": v1,
    }
    assert table.lines()[0].split() == ["BRANCH", "HEAD"] and f"master   {v2}" in table.lines()
    assert text.out == f"Name: model@old\nHead: {v1}\n"
    _error(dup, "already exists")
    _error(unknown, "'nope'")
    _error(bad, "invalid")

    pipes("create", "branch", "model@old", "--head", "master")  # --head moves an existing one
    assert pipes.head("model@old") == v2

    # revert: a new commit whose files equal the target's; the branch head moves to it.
    r = pipes("revert", "branch", "model@master", "--to", "master^1", "-m", "undo").out.strip()
    assert COMMIT_ID.fullmatch(r) and pipes.head("model@master") == r
    m, info, no_to, bad_to = pipes.batch(
        ["get", "file", "model@master:/m.txt"],
        ["inspect", "commit", "model@master", "--json"],
        ["revert", "branch", "model@master"],
        ["revert", "branch", "model@master", "--to", "zzz"],
        rc=[0, 0, 2, 1],
    )
    assert m.raw == b"v1"
    i = info.json()
    assert (i["origin"], i["restores"], i["parent"], i["message"]) == ("revert", v1, v2, "undo")
    assert "Missing option '--to'" in no_to.err
    _error(bad_to, "'zzz'")
    r2 = pipes("revert", "branch", "model@master", "--to", f"model@{v2}").out.strip()
    assert pipes.head("model@master") == r2
    with Client(str(pipes.store)) as client:
        assert client.get_file("model@master", "/m.txt") == b"v2"

    pipes("delete", "branch", "model@prev")
    gone = pipes("inspect", "branch", "model@prev", rc=1)
    _error(gone, "branch model@prev not found")


def test_fsck_and_gc(pipes: Pipes) -> None:
    pipes("create", "repo", "data")
    pipes("put", "file", "data@master:/a.bin", "-f", "-", stdin=os.urandom(100_000))
    pipes("put", "file", "data@master:/b.bin", "-f", "-", stdin=b"b" * 10)
    text, js, young, bad_grace = pipes.batch(
        ["fsck"],
        ["fsck", "--no-verify-data", "--json"],
        ["gc", "--json"],
        ["gc", "--grace", "-1"],
        rc=[0, 0, 0, 2],
    )
    assert text.lines()[0].startswith("checked 2 commits, ") and text.lines()[-1] == "ok"
    report = js.json()
    assert report["ok"] is True and report["problems"] == [] and report["bytes_verified"] == 0
    assert young.json()["packs_removed"] == 0
    assert "x>=0" in bad_grace.err

    pipes("delete", "commit", "data@master")  # b.bin's objects are now unreachable
    res = pipes("gc", "--grace", "0")
    assert re.match(r"removed [1-9]\d* packs? \(", res.out), res.out

    for pack in (pipes.store / "packs").iterdir():  # corrupt every stored byte
        data = pack.read_bytes()
        pack.chmod(0o644)
        pack.write_bytes(bytes(b ^ 0xFF for b in data))
    text, js = pipes.batch(["fsck"], ["fsck", "--json"], rc=[1, 1])
    assert any(line.startswith("problem: ") for line in text.lines())
    assert text.lines()[-1].endswith("found")
    assert js.json()["ok"] is False and js.json()["problems"]


def test_env_var_selects_the_store(tmp_path: Path) -> None:
    store = tmp_path / "from-env"
    env = _env(JUPYTER_PIPES_STORE=str(store))
    run_cli("create", "repo", "envrepo", env=env, cwd=tmp_path)
    assert (store / "metadata.sqlite").exists() and not (tmp_path / ".pipes").exists()
    assert [r["name"] for r in run_cli("list", "repo", "--json", env=env).json()] == ["envrepo"]
    # --store and --db override the environment.
    other, db = tmp_path / "other", tmp_path / "meta.sqlite"
    run_cli("--store", other, "--db", f"sqlite:///{db}", "create", "repo", "x", env=env)
    assert db.exists() and other.exists() and not (other / "metadata.sqlite").exists()
    with Client(str(other), db_url=f"sqlite:///{db}") as client:
        assert [r.name for r in client.list_repo()] == ["x"]


def test_default_store_is_dot_pipes_in_cwd(tmp_path: Path) -> None:
    run_cli("create", "repo", "here", cwd=tmp_path)
    assert (tmp_path / ".pipes" / "metadata.sqlite").exists()
    with Client(str(tmp_path / ".pipes")) as client:
        assert [r.name for r in client.list_repo()] == ["here"]


def test_jupyter_pipes_subcommand(tmp_path: Path) -> None:
    jupyter = shutil.which("jupyter")
    if jupyter is None:
        pytest.skip("jupyter is not on PATH")
    if not metadata.entry_points(group="console_scripts", name="jupyter-pipes"):
        pytest.skip("jupyter_pipes is not pip-installed (no jupyter-pipes console script)")
    proc = subprocess.run(
        [jupyter, "pipes", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Usage: jupyter pipes" in proc.stdout and "VERB NOUN" in proc.stdout
