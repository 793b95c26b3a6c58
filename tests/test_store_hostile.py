"""Hostile or odd input refused at the edge, and damage reported as damage (#19), on the Client
and the CLI (REST: tests/server/test_hostile.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jupyter_pipes import Client, CorruptObject, InvalidArgument
from jupyter_pipes.cli import cli
from jupyter_pipes.store import metadata
from jupyter_pipes.store.names import MAX_DEPTH, MAX_PATH
from jupyter_pipes.store.refs import parse_ref

DEEP = "/" + "/".join(["a"] * 20_000)  # the 20,000 components
TOO_DEEP = "/" + "/".join(["a"] * (MAX_DEPTH + 1))
LIMITS = rf"deeper than {MAX_DEPTH} components|longer than {MAX_PATH} bytes"


@pytest.fixture
def c(tmp_path: Path) -> Iterator[Client]:
    client = Client(str(tmp_path / "store"))
    client.create_repo("d")
    client.put_file("d@master", "/ok.txt", b"ok")
    yield client
    client.close()


def run(c: Client, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["--store", c.store_url, *args])
    assert "Traceback" not in res.output
    return res.exit_code, res.output


def test_control_characters_in_paths_are_refused(c: Client, tmp_path: Path) -> None:
    for bad in ("/a\x00b", "/a\nb", "/tab\there", "/del\x7f"):
        with pytest.raises(InvalidArgument, match="control characters"):
            c.put_file("d@master", bad, b"x")
        with pytest.raises(InvalidArgument, match="control characters"):
            c.get_file("d@master", bad)
    (tmp_path / "f").write_bytes(b"x")
    code, out = run(c, "put", "file", "d@master:/a\x01b", "-f", str(tmp_path / "f"))
    assert code == 1 and "control characters" in out
    assert [f.path for f in c.list_file("d@master")] == ["/ok.txt"]


def test_over_deep_paths_are_refused_with_the_stated_limit(c: Client, tmp_path: Path) -> None:
    for path in (DEEP, TOO_DEEP):
        with pytest.raises(InvalidArgument, match=LIMITS):
            c.put_file("d@master", path, b"x")
        with pytest.raises(InvalidArgument, match=LIMITS):
            c.get_file("d@master", path)
        with pytest.raises(InvalidArgument, match=LIMITS):
            c.list_file("d@master", path)
        with pytest.raises(InvalidArgument, match=LIMITS):
            c.delete_file("d@master", path)
    with pytest.raises(InvalidArgument, match=f"deeper than {MAX_DEPTH} components"):
        c.put_file("d@master", TOO_DEEP, b"x")
    code, out = run(c, "get", "file", f"d@master:{DEEP}", "-o", str(tmp_path / "out"))
    assert code == 1 and "longer than" in out
    c.put_file("d@master", "/" + "/".join(["b"] * MAX_DEPTH), b"deepest allowed")
    assert c.get_file("d@master", "/" + "/".join(["b"] * MAX_DEPTH)) == b"deepest allowed"


def test_a_local_folder_deeper_than_the_limit_is_refused(c: Client, tmp_path: Path) -> None:
    folder = tmp_path / "deep"
    os.makedirs(folder / os.path.join(*["x"] * (MAX_DEPTH + 1)))
    (folder / os.path.join(*["x"] * (MAX_DEPTH + 1)) / "f").write_bytes(b"f")
    with pytest.raises(InvalidArgument, match=f"deeper than {MAX_DEPTH}"):
        c.put_file("d@master", "/up", folder)


def test_names_beginning_with_a_dash_are_refused(c: Client) -> None:
    for call in (
        lambda: c.create_repo("-rf"),
        lambda: c.create_branch("d@-dev"),
        lambda: c.put_file("-x@master", "/a", b"a"),
    ):
        with pytest.raises(InvalidArgument, match="may not begin with '-'"):
            call()
    code, out = run(c, "create", "repo", "--", "-rf")
    assert code == 1 and "may not begin with '-'" in out
    assert [r.name for r in c.list_repo()] == ["d"]


def drop_pack_of(c: Client, path: str) -> None:
    ref = c.store.entry(parse_ref("d@master"), path).refs[0]
    (Path(c.store.backend.root) / "packs" / ref.pack).unlink()


def test_a_missing_object_is_corruption_not_not_found(c: Client, tmp_path: Path) -> None:
    c.put_file("d@master", "/data.bin", os.urandom(200_000))
    drop_pack_of(c, "/data.bin")
    with pytest.raises(CorruptObject, match="missing") as e:
        c.get_file("d@master", "/data.bin")
    assert str(tmp_path) not in e.value.message
    code, out = run(c, "get", "file", "d@master:/data.bin", "-o", str(tmp_path / "out.bin"))
    assert code == 1 and "missing" in out and str(tmp_path) not in out
    assert not list(tmp_path.glob("*.pipes-tmp"))
    code, out = run(c, "fsck")
    assert code == 1 and "missing" in out


def test_get_file_to_a_destination_leaves_no_temporary_file_on_error(
    c: Client, tmp_path: Path
) -> None:
    data = os.urandom(300_000)
    c.put_file("d@master", "/big.bin", data)
    ref = c.store.entry(parse_ref("d@master"), "/big.bin").refs[0]
    pack = Path(c.store.backend.root) / "packs" / ref.pack
    raw = bytearray(pack.read_bytes())
    raw[ref.offset + 100] ^= 0xFF
    pack.chmod(0o644)
    pack.write_bytes(bytes(raw))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(CorruptObject):
        c.get_file("d@master", "/big.bin", dest=out / "big.bin")
    assert list(out.iterdir()) == []


def test_a_damaged_commit_root_gives_clear_errors_and_fsck_and_gc_still_work(
    c: Client,
) -> None:
    c.create_repo("e")
    c.put_file("e@master", "/fine.txt", b"fine")
    head = c.inspect_commit("d@master").id
    with c.store.meta.write() as conn:
        t = metadata.commits
        conn.execute(sa.update(t).where(t.c.id == head).values(root='{"hash": 3'))
    with pytest.raises(CorruptObject, match=f"commit {head}'s root record"):
        c.get_file("d@master", "/ok.txt")
    assert c.get_file("e@master", "/fine.txt") == b"fine"
    report = c.fsck()
    assert not report.ok and any(head in p for p in report.problems)
    with pytest.raises(CorruptObject, match="gc refused"):
        c.gc(grace_seconds=0, force=True)
    code, out = run(c, "fsck")
    assert code == 1 and f"commit {head}'s root record" in out
    code, out = run(c, "list", "file", "d@master")
    assert code == 1 and "damaged" in out
