"""The CLI's fast read path (#17): ``list|inspect repo`` and ``list|inspect commit`` read a local
store's SQLite metadata with ``sqlite3``, without SQLAlchemy, and print exactly what the normal
path prints; it steps aside whenever it cannot be sure.

Each command runs twice in a fresh interpreter on the same store, once with the fast path off
(``JUPYTER_PIPES_CLI_FAST=0``) and once on; exit status, stdout and stderr must be identical, and
the fast run must not have imported SQLAlchemy. Times are in ``benchmarks/cli_latency.py``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.store.fastread import open_reader

_RUN = (
    "import json, sys\n"
    "from jupyter_pipes.cli import main\n"
    "code = 0\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit as e:\n"
    "    code = e.code or 0\n"
    "sys.stdout.flush()\n"
    "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    "sys.exit(code)\n"
)


def _run(args: list[str], cwd: Path, *, fast: bool) -> tuple[int, str, str, set[str]]:
    """The CLI in a fresh interpreter: exit status, stdout, stderr and the modules it loaded."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    env["JUPYTER_PIPES_CLI_FAST"] = "1" if fast else "0"
    out = subprocess.run(
        [sys.executable, "-c", _RUN, *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    err, _, modules = out.stderr.rpartition("\nMODULES ")
    return out.returncode, out.stdout, err, set(json.loads(modules))


def _backdate(store: Path, seconds: float) -> None:
    """Move every timestamp back, so that "N years ago" reads the same in both runs."""
    db = sqlite3.connect(store / "metadata.sqlite")
    with db:
        db.execute("UPDATE repos SET created_at = created_at - ?", (seconds,))
        db.execute(
            "UPDATE commits SET started_at = started_at - ?, finished_at = finished_at - ?",
            (seconds, seconds),
        )
        db.execute('UPDATE head_moves SET "time" = "time" - ?', (seconds,))
    db.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with repos, branches, a history, provenance and a pipeline's output repo."""
    root = tmp_path_factory.mktemp("fast")
    with Client(str(root / ".pipes"), autostart=False) as c:
        c.create_repo("images", "raw camera images")
        c.create_repo("empty")
        for i in range(4):
            c.put_file("images@master", f"/f{i}.txt", b"x" * (i + 1) * 700, message=f"add {i}")
        c.create_branch("images@dev", head="images@master~2")
        c.create_branch("images@blank")
        info = c.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "images", "glob": "/*"}},
                "transform": {"cmd": ["bash", "-c", 'cp -r /pfs/images/. "$out"/']},
            }
        )
        assert c.wait_job(info.last_job, timeout=120).state == "success"
        assert c.inspect_commit("copy@master").provenance  # an output commit
    _backdate(root / ".pipes", 3 * 366 * 86400)
    return root


def _commit_of(store: Path, ref: str) -> str:
    with Client(str(store / ".pipes"), autostart=False) as c:
        return c.inspect_commit(ref).id


COMMANDS = [
    ["list", "repo"],
    ["list", "repo", "--json"],
    ["inspect", "repo", "images"],
    ["inspect", "repo", "copy", "--json"],
    ["inspect", "repo", "empty"],
    ["list", "commit", "images"],
    ["list", "commit", "images@master"],
    ["list", "commit", "images@master", "-n", "2", "--offset", "1"],
    ["list", "commit", "images@dev", "--json"],
    ["list", "commit", "images@blank"],
    ["list", "commit", "images@master~1"],
    ["list", "commit", "copy@master"],
    ["list", "commit", "empty"],
    ["inspect", "commit", "images@master"],
    ["inspect", "commit", "images@master^3"],
    ["inspect", "commit", "images@master", "--json"],
    ["inspect", "commit", "copy@master"],
    ["inspect", "commit", "copy@master", "--json"],
    # errors: the same message either way
    ["inspect", "repo", "nope"],
    ["inspect", "repo", "Bad!Name"],
    ["list", "commit", "images@nobranch"],
    ["inspect", "commit", "images@master~99"],
    ["inspect", "commit", "images@blank"],
    ["inspect", "commit", "nope@master"],
    ["inspect", "commit", "images@0000"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_fast_and_normal_paths_print_the_same(store: Path, args: list[str]) -> None:
    normal = _run(args, store, fast=False)
    fast = _run(args, store, fast=True)
    assert fast[:3] == normal[:3]
    assert "sqlalchemy" in normal[3]  # the normal path did open the store its way
    assert "sqlalchemy" not in fast[3]  # the fast path answered


def test_commit_ids_and_prefixes_read_the_same(store: Path) -> None:
    cid = _commit_of(store, "images@master~1")
    for ref in (f"images@{cid}", f"images@{cid[:6]}", f"copy@{_commit_of(store, 'copy@master')}"):
        for args in (["inspect", "commit", ref], ["list", "commit", ref, "--json"]):
            normal, fast = _run(args, store, fast=False), _run(args, store, fast=True)
            assert fast[:3] == normal[:3]
            assert normal[0] == 0 and "sqlalchemy" not in fast[3]


def test_a_global_commit_id_goes_to_the_normal_path(store: Path) -> None:
    """``inspect commit GLOBAL_ID`` needs the pipeline layer: the fast reader only says the
    name is no repo, then the client answers."""
    with Client(str(store / ".pipes"), autostart=False) as c:
        gid = c.inspect_commit("copy@master").global_id
    normal = _run(["list", "commit", gid, "--json"], store, fast=False)
    fast = _run(["list", "commit", gid, "--json"], store, fast=True)
    assert fast[:3] == normal[:3] and normal[0] == 0
    assert len(json.loads(fast[1])) == 2  # images' commit and its output in copy


# -- when the fast path steps aside ---------------------------------------------------------------


def _chains() -> list[tuple[str, str]]:
    from jupyter_pipes.pipeline import migrations as pipeline_chain
    from jupyter_pipes.store import migrations as store_chain

    return [(m.VERSION_TABLE, m.HEAD) for m in (store_chain, pipeline_chain)]


def _fresh(tmp_path: Path) -> Path:
    root = tmp_path / ".pipes"
    with Client(str(root), autostart=False) as c:
        c.create_repo("images")
    return root


def test_it_opens_a_current_local_store(tmp_path: Path) -> None:
    reader = open_reader(str(_fresh(tmp_path)), None, _chains())
    assert reader is not None
    assert [r.name for r in reader.list_repo()] == ["images"]
    reader.close()


def test_it_refuses_a_named_database_or_a_remote_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _fresh(tmp_path)
    db = f"sqlite:///{root}/metadata.sqlite"
    assert open_reader(str(root), db, _chains()) is None
    monkeypatch.setenv("JUPYTER_PIPES_DB", db)
    assert open_reader(str(root), None, _chains()) is None
    monkeypatch.delenv("JUPYTER_PIPES_DB")
    assert open_reader("memory://x", None, _chains()) is None
    assert open_reader("s3://bucket/x", None, _chains()) is None
    monkeypatch.setenv("JUPYTER_PIPES_CLI_FAST", "0")
    assert open_reader(str(root), None, _chains()) is None


def test_it_refuses_a_missing_database_or_a_crash_journal(tmp_path: Path) -> None:
    assert open_reader(str(tmp_path / "nothing"), None, _chains()) is None
    root = _fresh(tmp_path)
    (root / "metadata.sqlite-journal").write_bytes(b"")
    assert open_reader(str(root), None, _chains()) is None


def test_it_refuses_a_database_not_in_wal_mode(tmp_path: Path) -> None:
    root = _fresh(tmp_path)
    db = sqlite3.connect(root / "metadata.sqlite")
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    assert open_reader(str(root), None, _chains()) is None


def test_a_store_at_another_schema_revision_gets_the_normal_paths_answer(tmp_path: Path) -> None:
    """A database at a revision this package does not have (here a newer one) is left to the
    normal path, which refuses it with its own error; the same migrations would apply to an
    older one."""
    root = _fresh(tmp_path)
    db = sqlite3.connect(root / "metadata.sqlite")
    with db:
        db.execute("UPDATE pipes_pipeline_version SET version_num = '9999'")
    db.close()
    assert open_reader(str(root), None, _chains()) is None
    normal = _run(["list", "repo"], tmp_path, fast=False)
    fast = _run(["list", "repo"], tmp_path, fast=True)
    assert fast[:3] == normal[:3]
    assert normal[0] == 1 and "9999" in normal[2]
