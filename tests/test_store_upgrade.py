"""Schema versions: a store made by older code opens (upgraded) with every record intact.

``fixtures/store_v1.tar.xz`` was made by ``fixtures/make_fixture_v1.py`` with the code of commit
dc2dfd8 (before schema versions): the same scenario twice,

* ``sqlite/``: a local store with its ``metadata.sqlite``, exactly as that code left it;
* ``postgres/``: a local store's objects plus ``metadata.sql``, a plain-SQL ``pg_dump
  --inserts --no-owner --no-privileges`` of the PostgreSQL database that code wrote its
  metadata to (psql's ``\\restrict`` lines removed). Replaying the dump rebuilds that database
  table for table, row for row: the tables, types, keys and indexes are those the old code's
  ``create_all`` made, which is what an upgrade meets in the field.

Each has ``manifest.json``: what the old code's Client reported (repos, branches, commits with
provenance, the BLAKE3 of every file of every commit, pipelines, jobs, datums). The tests open a
copy with today's code and require all of it back.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path
from typing import Any

import blake3
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jupyter_pipes import Client
from jupyter_pipes.cli import cli
from jupyter_pipes.errors import SchemaVersionError, StorageError
from jupyter_pipes.pipeline import state
from jupyter_pipes.store import metadata, schema

from .conftest import postgres_database

FIXTURE = Path(__file__).parent / "fixtures" / "store_v1.tar.xz"
CHAINS = [(metadata.CHAIN, metadata.md), (state.CHAIN, state.md)]


def unpack(tmp_path: Path, kind: str) -> tuple[Path, dict[str, Any]]:
    """The fixture's ``kind`` folder unpacked under ``tmp_path``: (store folder, manifest)."""
    with tarfile.open(FIXTURE) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(f"{kind}/")]
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp_path, members=members, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(tmp_path, members=members)
    root = tmp_path / kind
    return root / "store", json.loads((root / "manifest.json").read_text())


def load_dump(db_url: str, dump: Path) -> None:
    """Replay a plain-SQL pg_dump (psycopg runs a parameterless multi-statement script as is)."""
    engine = sa.create_engine(db_url)
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(dump.read_text())
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()


def assert_survived(c: Client, m: dict[str, Any]) -> None:
    """Everything in the old code's manifest, read back through today's Client."""
    assert [(r.name, r.description) for r in c.list_repo()] == [
        (r["name"], r["description"]) for r in m["repos"]
    ]
    assert sorted((b.repo, b.name, b.head) for b in c.list_branch()) == sorted(
        (b["repo"], b["name"], b["head"]) for b in m["branches"]
    )
    nbytes = 0
    for want in m["commits"]:
        got = c.inspect_commit(f"{want['repo']}@{want['id']}").to_dict()
        assert {k: got[k] for k in want} == want
        files = {}
        for f in c.walk_file(f"{want['repo']}@{want['id']}"):
            if f.type == "file":
                data = c.get_file(f"{want['repo']}@{want['id']}", f.path)
                files[f.path] = [len(data), blake3.blake3(data).hexdigest()]
                nbytes += len(data)
        assert files == m["files"][want["id"]], want["id"]
    assert sum(len(c.list_commit(r["name"])) for r in m["repos"]) == len(m["commits"])
    assert nbytes > 1_600_000  # the multi-chunk file was read back too
    pipelines = [p.to_dict() for p in c.list_pipeline()]
    assert [{k: p[k] for k in m["pipelines"][0]} for p in pipelines] == m["pipelines"]
    jobs = [j.to_dict() for j in c.list_job()]
    assert sorted((j["id"], j["state"]) for j in jobs) == sorted(
        (j["id"], j["state"]) for j in m["jobs"]
    )
    by_id = {j["id"]: j for j in jobs}
    for want in m["jobs"]:
        assert {k: by_id[want["id"]][k] for k in want} == want
        datums = [d.to_dict() for d in c.list_datum(want["id"])]
        keys = ("id", "state", "hash", "reused_from")
        assert [{k: d[k] for k in keys} for d in datums] == m["datums"][want["id"]]
    assert {j["state"] for j in m["jobs"]} >= {"success", "failure", "unrunnable"}
    assert c.fsck().ok


def schema_diff(engine: sa.Engine) -> list[Any]:
    """Differences between each chain's table definitions in code and the database."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    out = []
    for _chain, md in CHAINS:

        def include(name: str | None, kind: str, _parent: Any, md: sa.MetaData = md) -> bool:
            return kind != "table" or name in md.tables

        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"include_name": include})
            out += compare_metadata(ctx, md)
    return out


# -- the fixture, upgraded ------------------------------------------------------------------------


def test_v1_sqlite_store_upgrades_with_everything_intact(tmp_path: Path) -> None:
    store, manifest = unpack(tmp_path, "sqlite")
    db = store / "metadata.sqlite"
    before = {
        t: sqlite3.connect(db).execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("repos", "commits", "jobs", "datums")
    }
    with Client(str(store)) as c:
        status = {s.chain: s for s in c.upgrade()}
        assert_survived(c, manifest)
    for chain, _ in CHAINS:
        s = status[chain.name]
        assert (s.previous, s.version, s.upgraded) == (schema.UNVERSIONED, chain.head, True)
    backups = list(store.glob("metadata.sqlite.backup-*"))
    assert [b.name for b in backups] == [status["store"].backup] == [status["pipeline"].backup]
    old = sqlite3.connect(backups[0])  # the database as the old code left it
    tables = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "pipes_store_version" not in tables and "repos" in tables
    assert {t: old.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in before} == before
    old.close()
    engine = metadata.make_engine(f"sqlite:///{db}")
    try:
        assert schema_diff(engine) == []
    finally:
        engine.dispose()
    with Client(str(store)) as c:  # at head now: no second backup, nothing to do
        assert all(not s.upgraded for s in c.upgrade())
        assert_survived(c, manifest)
    assert list(store.glob("metadata.sqlite.backup-*")) == backups


def test_v1_postgres_store_upgrades_with_everything_intact(tmp_path: Path) -> None:
    store, manifest = unpack(tmp_path, "postgres")
    with postgres_database() as url:
        load_dump(url, tmp_path / "postgres" / "metadata.sql")
        with Client(str(store), db_url=url) as c:
            status = {s.chain: s for s in c.upgrade()}
            assert_survived(c, manifest)
        assert {k: (s.previous, s.backup) for k, s in status.items()} == {
            "store": (schema.UNVERSIONED, None),
            "pipeline": (schema.UNVERSIONED, None),
        }
        engine = sa.create_engine(url)
        try:
            assert schema_diff(engine) == []
            with engine.connect() as conn:
                for chain, _ in CHAINS:
                    assert schema.current(engine, chain) == chain.head
                    assert conn.execute(sa.text(f"SELECT count(*) FROM {chain.version_table}"))
        finally:
            engine.dispose()
        with Client(str(store), db_url=url) as c:
            assert_survived(c, manifest)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_fresh_database_equals_the_table_definitions(tmp_path: Path, kind: str) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/m.sqlite"
        Client(str(tmp_path / "s"), db_url=url).close()
        engine = metadata.make_engine(url)
        try:
            assert schema_diff(engine) == []
        finally:
            engine.dispose()
        return
    with postgres_database() as url:
        Client(str(tmp_path / "s"), db_url=url).close()
        engine = sa.create_engine(url)
        try:
            assert schema_diff(engine) == []
        finally:
            engine.dispose()


# -- refusals and the CLI -------------------------------------------------------------------------


def test_newer_schema_is_refused_naming_both_versions(tmp_path: Path) -> None:
    store = tmp_path / "store"
    Client(str(store)).close()
    db = sqlite3.connect(store / "metadata.sqlite")
    db.execute("UPDATE pipes_store_version SET version_num = '9999'")
    db.commit()
    db.close()
    with pytest.raises(SchemaVersionError) as e:
        Client(str(store))
    assert "9999" in e.value.message and metadata.CHAIN.head in e.value.message
    assert e.value.fields == {"schema": "store", "found": "9999", "supported": metadata.CHAIN.head}
    res = CliRunner().invoke(cli, ["--store", str(store), "list", "repo"])
    assert res.exit_code == 1 and "newer than this jupyter_pipes supports" in res.output
    assert "Traceback" not in res.output and str(tmp_path) not in res.output
    assert not list(store.glob("metadata.sqlite.backup-*"))  # nothing touched


def test_newer_pipeline_schema_is_refused_too(tmp_path: Path) -> None:
    store = tmp_path / "store"
    Client(str(store)).close()
    db = sqlite3.connect(store / "metadata.sqlite")
    db.execute("UPDATE pipes_pipeline_version SET version_num = '0042'")
    db.commit()
    db.close()
    with pytest.raises(SchemaVersionError, match="pipeline schema revision 0042"):
        Client(str(store))


def test_cli_upgrade_reports_what_it_did(tmp_path: Path) -> None:
    store, _ = unpack(tmp_path, "sqlite")
    runner = CliRunner()
    res = runner.invoke(cli, ["--store", str(store), "upgrade"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    store_head, pipeline_head = metadata.CHAIN.head, state.CHAIN.head
    assert lines[0].startswith(
        f"store schema: upgraded unversioned -> {store_head} (backup: metadata."
    )
    assert lines[1].startswith(f"pipeline schema: upgraded unversioned -> {pipeline_head} (")
    res = runner.invoke(cli, ["--store", str(store), "upgrade", "--json"])
    assert res.exit_code == 0, res.output
    assert [(s["chain"], s["previous"], s["version"]) for s in json.loads(res.output)] == [
        ("store", store_head, store_head),
        ("pipeline", pipeline_head, pipeline_head),
    ]
    assert "jupyter pipes upgrade" in runner.invoke(cli, ["upgrade", "--help"]).output


def test_opening_a_current_store_does_not_import_alembic(tmp_path: Path) -> None:
    store = tmp_path / "store"
    Client(str(store)).close()
    code = (
        "import sys\nfrom jupyter_pipes import Client\n"
        f"Client({str(store)!r}).close()\nprint('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- the helper on a chain of its own -------------------------------------------------------------

MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "{rev}"
down_revision = {down}


def upgrade() -> None:
{body}
"""


def make_chain(root: Path, revisions: list[str]) -> schema.Chain:
    """A migrations package (a new name each time) under ``root`` with these upgrade bodies."""
    name = f"demo_chain_{uuid.uuid4().hex[:12]}"
    pkg = root / name
    (pkg / "versions").mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"HEAD = '{len(revisions):04d}'\n")
    (pkg / "env.py").write_text("from jupyter_pipes.store.schema import run_env\nrun_env()\n")
    for i, body in enumerate(revisions, 1):
        down = "None" if i == 1 else repr(f"{i - 1:04d}")
        (pkg / "versions" / f"{i:04d}_step.py").write_text(
            MIGRATION.format(rev=f"{i:04d}", down=down, body=body)
        )
    return schema.Chain("demo", name, f"{name}_version", "demo")


def test_upgrade_helper_migrates_an_older_revision_after_a_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    create = '    op.create_table("demo", sa.Column("id", sa.Integer, primary_key=True))\n'
    add = '    op.add_column("demo", sa.Column("note", sa.Text, nullable=True))\n'
    fill = "    op.execute(\"UPDATE demo SET note = 'migrated ' || id\")\n"
    v1 = make_chain(tmp_path, [create])
    engine = metadata.make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    made: list[str] = []

    def backup(conn: sa.Connection) -> str:
        # The caller holds the write lock: the copy is what gets migrated.
        made.append(str(conn.execute(sa.text("SELECT count(*) FROM demo")).scalar()))
        return "copy"

    try:
        assert schema.ensure(engine, v1, backup) == schema.SchemaStatus("demo", "0001", None)
        assert made == []  # a new database: nothing to back up
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO demo (id) VALUES (1), (2)"))
        v2 = schema.Chain(
            "demo", make_chain(tmp_path, [create, add + fill]).package, v1.version_table, "demo"
        )
        got = schema.ensure(engine, v2, backup)
        assert (got.previous, got.version, got.backup, made) == ("0001", "0002", "copy", ["2"])
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT note FROM demo ORDER BY id")).scalars().all() == [
                "migrated 1",
                "migrated 2",
            ]
        with pytest.raises(SchemaVersionError, match=r"revision 0002, newer than .* \(0001\)"):
            schema.ensure(engine, v1, backup)
    finally:
        engine.dispose()


def test_a_failing_migration_leaves_the_database_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    create = '    op.create_table("demo", sa.Column("id", sa.Integer, primary_key=True))\n'
    broken = (
        '    op.add_column("demo", sa.Column("note", sa.Text, nullable=True))\n'
        '    op.execute("SELECT no_such_function()")\n'
    )
    v1 = make_chain(tmp_path, [create])
    v2 = schema.Chain(
        "demo", make_chain(tmp_path, [create, broken]).package, v1.version_table, "demo"
    )
    engine = metadata.make_engine(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        schema.ensure(engine, v1)
        with pytest.raises(StorageError, match="no_such_function"):
            schema.ensure(engine, v2)
        assert schema.current(engine, v1) == "0001"
        with engine.connect() as conn:
            cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(demo)")]
        assert cols == ["id"]  # the added column was rolled back with the failed step
    finally:
        engine.dispose()


@pytest.mark.parametrize("chain", [c for c, _ in CHAINS], ids=lambda c: c.name)
def test_chain_heads_are_numbered_and_linear(chain: schema.Chain) -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(chain.location)
    assert script.get_heads() == [chain.head]
    revs = [s.revision for s in script.walk_revisions()]
    assert revs == [f"{n:04d}" for n in range(len(revs), 0, -1)]


def test_the_unused_pipeline_fingerprint_column_is_dropped(tmp_path: Path) -> None:
    """Pipeline chain 0005 (#18): ``pipelines.fingerprint`` (written, never read) is gone after
    the upgrade, and the fixture's pipelines still open and run as before."""
    store, manifest = unpack(tmp_path, "sqlite")
    db = store / "metadata.sqlite"

    def columns() -> set[str]:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return {r[1] for r in conn.execute("PRAGMA table_info(pipelines)")}

    assert "fingerprint" in columns()  # as the old code made it
    with Client(str(store)) as c:
        assert_survived(c, manifest)
    assert "fingerprint" not in columns() and {"name", "spec", "salt"} <= columns()
