"""The branch timeline (#14, store level): every head move recorded in the moving transaction,
"what was live at time T", and refs that read a branch as of a time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_pipes import Client, InvalidArgument, NotFound
from jupyter_pipes.cli import cli
from jupyter_pipes.store.refs import parse_file_ref, parse_ref

from .test_store_upgrade import unpack


def now() -> datetime:
    t = datetime.now(timezone.utc)
    time.sleep(0.02)  # moves recorded after this are strictly later
    return t


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = Client(str(tmp_path / "store"), user="ada")
    yield client
    client.close()


def test_every_kind_of_move_is_recorded_with_cause_and_actor(c: Client) -> None:
    c.create_repo("model")
    v1 = c.put_file("model@master", "/m.txt", b"v1").id
    v2 = c.put_file("model@master", "/m.txt", b"v2").id
    back = c.revert("model@master", v1).id
    c.create_branch("model@prod", head=f"model@{v2}")
    c.create_branch("model@prod", head=f"model@{back}")
    scratch = c.put_file("model@master", "/tmp", b"x").id
    c.delete_commit(f"model@{scratch}")
    c.delete_branch("model@prod")
    log = [(m.old, m.new, m.cause, m.actor) for m in c.branch_log("model@master")]
    assert log == [
        (scratch, back, "delete", "ada"),
        (back, scratch, "commit", "ada"),
        (v2, back, "revert", "ada"),
        (v1, v2, "commit", "ada"),
        (None, v1, "commit", "ada"),
    ]
    prod = [(m.old, m.new, m.cause) for m in c.store.branch_log("model", "prod")]
    assert prod == [(back, None, "delete"), (v2, back, "branch"), (None, v2, "branch")]
    assert [m.branch for m in c.store.branch_log("model")] == [
        "prod",
        "master",
        "master",
        "prod",
        "prod",
        "master",
        "master",
        "master",
    ]


def test_pipeline_outputs_are_recorded_as_pipeline_moves(c: Client) -> None:
    c.create_repo("data")
    c.put_file("data@master", "/a", b"a")
    info = c.create_pipeline(
        {
            "pipeline": {"name": "copy"},
            "input": {"pfs": {"repo": "data", "glob": "/"}},
            "transform": {"cmd": ["bash", "-c", 'cp "$data"/* "$out"/']},
        }
    )
    job = c.wait_job(info.last_job, timeout=120)
    (move,) = c.branch_log("copy@master")
    assert (move.new, move.cause) == (job.output_commit, "pipeline")
    assert c.branch_log("copy@spec")[0].cause == "commit"


def test_what_was_live_at_a_time_across_a_retrain_and_a_revert(c: Client) -> None:
    c.create_repo("model")
    before = now()
    v1 = c.put_file("model@master", "/m.txt", b"v1").id
    t1 = now()
    v2 = c.put_file("model@master", "/m.txt", b"v2").id  # the retrain
    t2 = now()
    c.revert("model@master", v1)  # and the revert
    t3 = now()
    assert [c.store.head_at("model", "master", t) for t in (before, t1, t2)] == [None, v1, v2]
    assert c.store.head_at("model", "master", t3) == c.inspect_commit("model@master").id
    at = lambda t: f"model@master@{{{t.isoformat()}}}"  # noqa: E731
    assert c.get_file(at(t1), "/m.txt") == b"v1"
    assert c.get_file(at(t2), "/m.txt") == b"v2"
    assert c.get_file(at(t3), "/m.txt") == b"v1"
    assert c.inspect_commit(at(t2) + "^").id == v1  # ancestors of the head then
    assert [ci.id for ci in c.list_commit(at(t2))] == [v2, v1]
    with pytest.raises(NotFound, match="had no commit at"):
        c.get_file(at(before), "/m.txt")
    c.delete_branch("model@master")
    assert c.get_file(at(t2), "/m.txt") == b"v2"  # a deleted branch's past still reads
    with pytest.raises(NotFound, match="was deleted at"):
        c.get_file(at(now()), "/m.txt")


def test_time_refs_parse_iso_dates_and_times_in_utc() -> None:
    r = parse_ref("model@master@{2026-11-30T10:00Z}")
    assert (r.base, r.at) == ("master", datetime(2026, 11, 30, 10, tzinfo=timezone.utc))
    assert parse_ref("m@b@{2026-11-30T11:00+01:00}").at == r.at
    assert parse_ref("m@b@{2026-11-30T10:00}").at == r.at  # no zone: UTC
    assert parse_ref("m@b@{2026-11-30}").at == r.at - timedelta(hours=10)
    assert parse_ref("m@b@{2026-11-30T10:00Z}~2").ancestors == 2
    ref, path = parse_file_ref("m@b@{2026-11-30T10:00:00Z}:/dir/a:b.csv")
    assert (ref.at, path) == (r.at, "/dir/a:b.csv")
    assert str(parse_ref(str(r))) == str(r)
    for bad in ("m@b@{yesterday}", "m@b@{2026-11-30", "m@b@{}"):
        with pytest.raises(InvalidArgument):
            parse_ref(bad)


def test_a_time_ref_on_the_cli(c: Client, tmp_path: Path) -> None:
    c.create_repo("d")
    c.put_file("d@master", "/a.txt", b"old")
    t = now()
    c.put_file("d@master", "/a.txt", b"new")
    out = tmp_path / "a.txt"
    res = CliRunner().invoke(
        cli,
        [
            "--store",
            c.store_url,
            "get",
            "file",
            f"d@master@{{{t.isoformat()}}}:/a.txt",
            "-o",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == b"old"


def test_the_upgrade_backfills_the_timeline_of_an_old_store(tmp_path: Path) -> None:
    store, manifest = unpack(tmp_path, "sqlite")
    with Client(str(store)) as c:
        for b in manifest["branches"]:
            log = c.store.branch_log(b["repo"], b["name"])
            assert (log[0].new if log else None) == b["head"], b
            assert c.store.head_at(b["repo"], b["name"], datetime.now(timezone.utc)) == b["head"]
        master = c.store.branch_log("model", "master")
        assert [m.cause for m in master][:1] == ["revert"] and master[0].actor == "unknown"
