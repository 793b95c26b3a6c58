"""A metadata database that is lost, empty or damaged (#19): refused, never recreated empty, and
rebuilt from the objects alone with every commit and file byte-identical."""

from __future__ import annotations

import json
import os
import random
import sqlite3
from pathlib import Path
from typing import Any

import blake3
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jupyter_pipes import Client, StorageError
from jupyter_pipes.cli import cli
from jupyter_pipes.errors import MetadataMissing

from .conftest import postgres_database
from .test_store_upgrade import unpack

REBUILD = "fsck --rebuild-metadata"


def build(c: Client) -> None:
    """A store with every kind of history the journal must carry."""
    c.create_repo("data", "inputs")
    c.put_file("data@master", "/a.csv", b"x,y\n1,2\n")
    c.put_file("data@master", "/big.bin", random.Random(7).randbytes(1_500_000))
    c.create_branch("data@dev", head="data@master")
    c.put_file("data@dev", "/dev.txt", "ünïcode\n".encode())
    c.put_file("data@master", "/a.csv", b"x,y\n1,2\n3,4\n", message="more rows")
    first = c.list_commit("data@master")[-1].id
    c.revert("data@master", first, message="back")
    c.put_file("data@master", "/tmp.txt", b"tmp")
    c.delete_commit("data@master")  # the head goes back
    c.create_branch("data@gone", head="data@dev")
    c.delete_branch("data@gone")
    c.create_repo("notes")
    for i in range(3):
        c.put_file("notes@master", f"/{i}.txt", str(i).encode())
    c.squash_commit(f"notes@{c.list_commit('notes@master')[1].id}")
    c.copy_file("data@dev:/dev.txt", "notes@master", "/copied.txt")
    c.create_repo("dropped")
    c.put_file("dropped@master", "/x", b"x")
    c.delete_repo("dropped")
    c.create_pipeline(
        {
            "pipeline": {"name": "copy"},
            "input": {"pfs": {"repo": "notes", "glob": "/"}},
            "transform": {"cmd": ["bash", "-c", 'cp "$notes"/* "$out"/']},
        }
    )


def manifest(c: Client) -> dict[str, Any]:
    """Everything the store says about repos, branches, commits, files and the timeline."""
    out: dict[str, Any] = {"repos": [], "branches": [], "commits": {}, "files": {}, "moves": {}}
    for r in c.list_repo():
        out["repos"].append((r.name, r.description))
        for b in c.list_branch(r.name):
            out["branches"].append((b.repo, b.name, b.head))
            out["moves"][f"{b.repo}@{b.name}"] = [
                (m.old, m.new, m.cause, m.actor) for m in c.store.branch_log(b.repo, b.name)
            ]
        for ci in c.list_commit(r.name):
            out["commits"][ci.id] = ci.to_dict()
            out["files"][ci.id] = {
                f.path: blake3.blake3(c.get_file(f"{r.name}@{ci.id}", f.path)).hexdigest()
                for f in c.walk_file(f"{r.name}@{ci.id}")
                if f.type == "file"
            }
    return out


def lose(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def rebuild_cli(store: Path, *extra: str) -> Any:
    res = CliRunner().invoke(cli, ["--store", str(store), *REBUILD.split(), *extra])
    assert "Traceback" not in res.output
    return res


def test_a_lost_database_is_refused_then_rebuilt_byte_identical(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        build(c)
        before = manifest(c)
        pipelines = [(p.name, p.version, p.spec_commit) for p in c.list_pipeline()]
    lose(store / "metadata.sqlite")
    with pytest.raises(MetadataMissing, match=REBUILD) as e:
        Client(str(store))
    assert str(tmp_path) not in e.value.message
    assert not (store / "metadata.sqlite").exists()  # not recreated
    res = CliRunner().invoke(cli, ["--store", str(store), "list", "repo"])
    assert res.exit_code == 1 and REBUILD in res.output and str(tmp_path) not in res.output
    res = rebuild_cli(store)
    assert res.exit_code == 0, res.output
    assert res.output.startswith("rebuilt 3 repos, ") and res.output.splitlines()[-1] == "ok"
    with Client(str(store)) as c:
        assert manifest(c) == before
        assert [(p.name, p.version, p.spec_commit) for p in c.list_pipeline()] == pipelines
        packs = {p.name for p in (store / "packs").iterdir()}
        c.put_file("data@master", "/again.bin", random.Random(7).randbytes(1_500_000))
        new = {p.name for p in (store / "packs").iterdir()} - packs
        assert sum((store / "packs" / p).stat().st_size for p in new) < 10_000  # dedup works
        c.gc(grace_seconds=0)
        assert manifest(c)["files"] == {**before["files"], **manifest(c)["files"]}
        assert c.fsck().ok


def test_an_empty_database_file_is_refused_not_recreated(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        c.create_repo("d")
        c.put_file("d@master", "/a", b"a" * 1000)
        before = manifest(c)
    lose(store / "metadata.sqlite")
    (store / "metadata.sqlite").write_bytes(b"")  # what a crashed copy or a full disk leaves
    with pytest.raises(MetadataMissing):
        Client(str(store))
    assert (store / "metadata.sqlite").stat().st_size == 0  # untouched: nothing recreated
    assert rebuild_cli(store).exit_code == 0
    with Client(str(store)) as c:
        assert manifest(c) == before


def damage_page(db: Path, table: str) -> None:
    """Random bytes over the first page of ``table``'s b-tree."""
    conn = sqlite3.connect(db)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root[0] - 1) * page)
        f.write(random.Random(3).randbytes(page))


def test_a_damaged_database_gives_clear_errors_fails_fsck_and_is_rebuilt(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        build(c)
        before = manifest(c)
    damage_page(store / "metadata.sqlite", "commits")
    runner = CliRunner()
    listing = runner.invoke(cli, ["--store", str(store), "list", "commit", "data@master"])
    assert listing.exit_code == 1 and "damaged" in listing.output and REBUILD in listing.output
    assert "Traceback" not in listing.output
    with Client(str(store)) as c, pytest.raises(StorageError, match="damaged"):
        c.list_commit("data@master")
    check = runner.invoke(cli, ["--store", str(store), "fsck"])
    assert check.exit_code == 1 and "problem: metadata database:" in check.output
    gc = runner.invoke(cli, ["--store", str(store), "gc", "--grace", "0", "--force"])
    assert gc.exit_code == 1 and "gc refused" in gc.output
    assert (store / "packs").exists() and any((store / "packs").iterdir())
    res = rebuild_cli(store)
    assert res.exit_code == 0, res.output
    aside = [p for p in store.glob("metadata.sqlite.damaged-*") if p.name.endswith("Z")]
    assert len(aside) == 1 and aside[0].name in res.output
    with Client(str(store)) as c:
        assert manifest(c) == before


def test_a_healthy_database_is_not_replaced_without_force(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        c.create_repo("d")
    res = rebuild_cli(store)
    assert res.exit_code == 1 and "--force" in res.output
    assert rebuild_cli(store, "--force").exit_code == 0
    assert list(store.glob("metadata.sqlite.damaged-*"))


def test_rebuild_on_postgresql_into_an_empty_database(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with postgres_database() as first, Client(str(store), db_url=first) as c:
        build(c)
        before = manifest(c)
    with postgres_database() as empty:  # the first database is gone; a new one is empty
        with pytest.raises(MetadataMissing, match=REBUILD):
            Client(str(store), db_url=empty)
        report = Client.rebuild_metadata(str(store), db_url=empty)
        assert (report.repos, report.pipelines) == (3, 1)
        with Client(str(store), db_url=empty) as c:
            assert manifest(c) == before
            assert c.fsck().ok


def test_a_store_from_before_the_journal_can_be_rebuilt_after_its_upgrade(tmp_path: Path) -> None:
    store, m = unpack(tmp_path, "sqlite")
    with Client(str(store)) as c:  # the upgrade writes a snapshot of the old history
        assert c.fsck().ok
        before = manifest(c)
    lose(store / "metadata.sqlite")
    assert rebuild_cli(store).exit_code == 0
    with Client(str(store)) as c:
        after = manifest(c)
        assert after == before
        assert {r["name"] for r in m["repos"]} == {name for name, _ in after["repos"]}
        assert sorted(p.name for p in c.list_pipeline()) == ["count", "total", "upper"]


def test_fsck_json_reports_the_database_check(tmp_path: Path) -> None:
    store = tmp_path / "store"
    with Client(str(store)) as c:
        c.create_repo("d")
        c.put_file("d@master", "/a", b"a")
    res = CliRunner().invoke(cli, ["--store", str(store), "fsck", "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["ok"] is True
    engine = sa.create_engine(f"sqlite:///{store}/metadata.sqlite")
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM pipes_info WHERE key = 'journal'")
    engine.dispose()
    res = CliRunner().invoke(cli, ["--store", str(store), "fsck", "--json"])
    assert res.exit_code == 1 and "jupyter pipes upgrade" in json.loads(res.output)["problems"][0]
    assert CliRunner().invoke(cli, ["--store", str(store), "upgrade"]).exit_code == 0
    assert CliRunner().invoke(cli, ["--store", str(store), "fsck"]).exit_code == 0
    assert os.path.exists(store / "metadata.sqlite")
