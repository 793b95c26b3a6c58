"""The store's behaviour through the Client, run against a local folder and memory://."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_pipes import AlreadyExists, Client, Conflict, InvalidArgument, NotFound
from jupyter_pipes.store import metadata
from jupyter_pipes.store.records import CommitRef
from jupyter_pipes.store.refs import parse_ref


def heads(c: Client, repo: str) -> dict[str, str | None]:
    return {b.name: b.head for b in c.list_branch(repo)}


# -- repos -------------------------------------------------------------------------------------


def test_repo_lifecycle(client: Client) -> None:
    info = client.create_repo("images", "raw pictures")
    assert (info.name, info.description, info.branches) == ("images", "raw pictures", ("master",))
    client.create_repo("labels")
    assert [r.name for r in client.list_repo()] == ["images", "labels"]
    with pytest.raises(AlreadyExists, match="images"):
        client.create_repo("images")
    assert client.create_repo("images", exist_ok=True).name == "images"
    client.put_file("images@master", "/a.png", b"png")
    assert client.inspect_repo("images").size_bytes == 3
    client.delete_repo("images")
    assert [r.name for r in client.list_repo()] == ["labels"]
    with pytest.raises(NotFound, match="images"):
        client.inspect_repo("images")
    with pytest.raises(NotFound):
        client.delete_repo("images")


@pytest.mark.parametrize("bad", ["", "has space", "a/b", "x" * 64, "dots.no", "ünï", "a@b"])
def test_invalid_repo_names_are_refused(client: Client, bad: str) -> None:
    with pytest.raises(InvalidArgument):
        client.create_repo(bad)
    assert client.list_repo() == []


def test_invalid_branch_names_are_refused(client: Client) -> None:
    client.create_repo("r")
    for bad in ["a b", "0123456789abcdef0123456789abcdef", "x" * 64]:
        with pytest.raises(InvalidArgument):
            client.put_file(f"r@{bad}", "/f", b"x")
    assert client.list_commit("r") == []
    assert [b.name for b in client.list_branch("r")] == ["master"]


# -- putting and getting files -----------------------------------------------------------------


def test_put_and_get_from_every_kind_of_source(client: Client, tmp_path: Path) -> None:
    client.create_repo("d")
    local = tmp_path / "local.bin"
    local.write_bytes(os.urandom(300_000))  # > one chunk: content-defined chunking kicks in
    client.put_file("d@master", "/bytes.txt", b"hello", message="bytes")
    client.put_file("d@master", "/file.bin", str(local))
    client.put_file("d@master", "/stream.bin", io.BytesIO(b"streamed"))
    assert client.get_file("d@master", "/bytes.txt") == b"hello"
    assert client.get_file("d@master", "/file.bin") == local.read_bytes()
    assert client.get_file("d@master", "/stream.bin") == b"streamed"
    big = os.urandom(3 << 20)  # many chunks from one stream (pyfastcdc reuses its buffer)
    client.put_file("d@master", "/big-stream.bin", io.BytesIO(big))
    assert client.get_file("d@master", "/big-stream.bin") == big
    assert client.list_commit("d@master")[-1].message == "bytes"
    # a path ending in the repo root takes the local file's name
    client.put_file("d@master", "/", local)
    assert client.inspect_file("d@master", "/local.bin").size_bytes == 300_000


def test_put_folder_recursively_and_get_it_back(client: Client, tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(30):
        p = src / f"dir{i % 3}" / f"f{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(f"file {i}")
    (src / "big.bin").write_bytes(os.urandom(200_000))
    client.create_repo("d")
    ci = client.put_file("d@master", "/data", src)
    assert ci.file_count == 31
    assert [f.path for f in client.list_file("d@master", "/data")] == [
        "/data/big.bin",
        "/data/dir0/",
        "/data/dir1/",
        "/data/dir2/",
    ]
    out = client.get_file("d@master", "/data", dest=tmp_path / "out")
    for p in src.rglob("*"):
        if p.is_file():
            assert (out / p.relative_to(src)).read_bytes() == p.read_bytes()
    one = client.get_file("d@master", "/data/dir1/f1.txt", dest=tmp_path / "one.txt")
    assert Path(one).read_text() == "file 1"


def test_symlinks_in_uploaded_folders_are_refused(client: Client, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "ok.txt").write_text("ok")
    (src / "link").symlink_to("/etc/passwd")
    client.create_repo("d")
    with pytest.raises(InvalidArgument, match="symlink"):
        client.put_file("d@master", "/", src)
    assert client.list_commit("d") == []


def test_append(client: Client) -> None:
    client.create_repo("logs")
    client.put_file("logs@master", "/log.txt", b"one\n", append=True)
    client.put_file("logs@master", "/log.txt", b"two\n", append=True)
    with client.start_commit("logs@master") as oc:
        oc.put_file("/log.txt", b"three\n", append=True)
        oc.put_file("/log.txt", b"four\n", append=True)
    assert client.get_file("logs@master", "/log.txt") == b"one\ntwo\nthree\nfour\n"
    client.put_file("logs@master", "/d/x", b"x")
    with pytest.raises(Conflict, match="directory"):
        client.put_file("logs@master", "/d", b"y", append=True)


@pytest.mark.parametrize(
    "bad", ["/a/../b", "../x", "/a/./b", "/tab\there", "/nul\x00", "/new\nline"]
)
def test_bad_paths_are_refused_and_change_nothing(client: Client, bad: str) -> None:
    client.create_repo("d")
    client.put_file("d@master", "/keep.txt", b"k")
    before = client.list_commit("d")
    with pytest.raises(InvalidArgument, match="invalid path"):
        client.put_file("d@master", bad, b"x")
    assert client.list_commit("d") == before
    assert [f.path for f in client.walk_file("d@master")] == ["/keep.txt"]


def test_put_to_missing_repo_or_local_file(client: Client, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="repo 'nope' not found"):
        client.put_file("nope@master", "/x", b"x")
    client.create_repo("d")
    with pytest.raises(NotFound, match="not found"):
        client.put_file("d@master", "/x", str(tmp_path / "missing.txt"))
    assert client.list_commit("d") == []


def test_start_commit_is_atomic_and_aborts_on_error(client: Client) -> None:
    client.create_repo("d")
    with client.start_commit("d@master", message="two files") as oc:
        oc.put_file("/a", b"a")
        oc.put_file("/b", b"b")
    assert client.inspect_commit("d@master").id == oc.id
    assert [f.path for f in client.list_file("d@master")] == ["/a", "/b"]
    with pytest.raises(RuntimeError), client.start_commit("d@master") as oc2:
        oc2.put_file("/c", b"c")
        oc2.delete_file("/a")
        raise RuntimeError("boom")
    assert client.inspect_commit("d@master").id == oc.id
    assert [f.path for f in client.list_file("d@master")] == ["/a", "/b"]
    assert len(client.list_commit("d")) == 1
    with pytest.raises(NotFound):
        client.inspect_commit(f"d@{oc2.id}")


def test_delete_and_copy(client: Client) -> None:
    client.create_repo("d")
    with client.start_commit("d@master") as oc:
        for i in range(5):
            oc.put_file(f"/dir/sub/f{i}", f"{i}".encode())
        oc.put_file("/top", b"t")
    client.copy_file("d@master:/dir", "d@master", "/copy")
    assert (
        client.inspect_file("d@master", "/copy/").hash
        == client.inspect_file("d@master", "/dir").hash
    )
    assert client.get_file("d@master", "/copy/sub/f3") == b"3"
    client.create_repo("other")
    client.copy_file("d@master:/top", "other@master", "/from-d")
    assert client.get_file("other@master", "/from-d") == b"t"
    client.delete_file("d@master", "/dir/sub/f0")
    client.delete_file("d@master", "/copy")
    assert [f.path for f in client.walk_file("d@master")] == [
        "/dir/",
        "/dir/sub/",
        "/dir/sub/f1",
        "/dir/sub/f2",
        "/dir/sub/f3",
        "/dir/sub/f4",
        "/top",
    ]
    client.delete_file("d@master", "/dir")  # empty directories do not exist
    assert [f.path for f in client.list_file("d@master")] == ["/top"]
    with pytest.raises(NotFound):
        client.get_file("d@master", "/dir/sub/f1")


def test_file_directory_clashes_are_conflicts(client: Client) -> None:
    client.create_repo("d")
    client.put_file("d@master", "/a/b", b"x")
    with pytest.raises(Conflict, match="directory"):
        client.put_file("d@master", "/a", b"file over dir")
    with pytest.raises(Conflict, match="not a directory"):
        client.put_file("d@master", "/a/b/c", b"under a file")
    assert client.get_file("d@master", "/a/b") == b"x"


def test_listing_walk_glob_and_inspect(client: Client) -> None:
    client.create_repo("d")
    with client.start_commit("d@master") as oc:
        oc.put_file("/a.txt", b"a")
        oc.put_file("/b.csv", b"bb")
        oc.put_file("/dir/x.txt", b"xxx")
        oc.put_file("/dir/sub/y.txt", b"yyyy")
    root = list(client.list_file("d@master"))
    assert [(f.path, f.type, f.size_bytes) for f in root] == [
        ("/a.txt", "file", 1),
        ("/b.csv", "file", 2),
        ("/dir/", "dir", 7),
    ]
    assert next(client.list_file("d@master", "/dir/x.txt")).path == "/dir/x.txt"
    assert [f.path for f in client.glob_file("d@master", "/*")] == ["/a.txt", "/b.csv", "/dir/"]
    assert [f.path for f in client.glob_file("d@master", "/**.txt")] == [
        "/a.txt",
        "/dir/sub/y.txt",
        "/dir/x.txt",
    ]
    assert [f.path for f in client.glob_file("d@master", "/dir/*")] == ["/dir/sub/", "/dir/x.txt"]
    assert [f.path for f in client.glob_file("d@master", "/")] == ["/"]
    d = client.inspect_file("d@master", "/dir")
    assert (d.path, d.type, d.size_bytes) == ("/dir/", "dir", 7)
    with pytest.raises(NotFound):
        client.list_file("d@master", "/missing")


def test_glob_conformance_through_the_store(client: Client) -> None:
    import json

    data = json.loads((Path(__file__).parent / "data" / "pachyderm_conformance.json").read_text())
    cases = [c for c in data["cases"] if c["kind"] == "glob"]
    assert cases
    for i, case in enumerate(cases):
        repo = f"g{i}"
        client.create_repo(repo)
        files = case["repos"][case["repo"]]
        if not files:
            continue
        with client.start_commit(f"{repo}@master") as oc:
            for p in files:
                oc.put_file(p, p.encode())
        got = [f.path for f in client.glob_file(f"{repo}@master", case["glob"])]
        assert got == case["expected_paths"], case["id"]


def test_diff(client: Client) -> None:
    client.create_repo("d")
    with client.start_commit("d@master") as oc:
        oc.put_file("/same/s.txt", b"s")
        oc.put_file("/mod.txt", b"1")
        oc.put_file("/gone/g.txt", b"g")
    first = client.inspect_commit("d@master").id
    with client.start_commit("d@master") as oc:
        oc.put_file("/mod.txt", b"2")
        oc.delete_file("/gone")
        oc.put_file("/new/n.txt", b"n")
    changes = {(d.path, d.change) for d in client.diff_file("d@master")}
    assert changes == {
        ("/mod.txt", "modified"),
        ("/gone/g.txt", "removed"),
        ("/new/n.txt", "added"),
    }
    assert client.diff_file("d@master", old=f"d@{first}", path="/same") == []
    first_diff = client.diff_file(f"d@{first}")
    assert {d.change for d in first_diff} == {"added"} and len(first_diff) == 3


# -- commits, refs, history --------------------------------------------------------------------


def test_history_refs_and_pagination(client: Client) -> None:
    client.create_repo("d")
    ids = [
        client.put_file("d@master", "/f", f"v{i}".encode(), message=f"m{i}").id for i in range(6)
    ]
    hist = client.list_commit("d@master")
    assert [c.id for c in hist] == ids[::-1]
    assert [c.parent for c in hist] == [*ids[::-1][1:], None]
    assert [c.id for c in client.list_commit("d@master", limit=2, offset=1)] == ids[::-1][1:3]
    assert [c.id for c in client.list_commit("d")] == ids[::-1]
    assert client.inspect_commit("d@master^").id == ids[4]
    assert client.inspect_commit("d@master^2").id == ids[3]
    assert client.inspect_commit("d@master~3").id == ids[2]
    assert client.inspect_commit("d@master^^").id == ids[3]
    assert client.inspect_commit(f"d@{ids[1][:8]}").id == ids[1]
    assert client.get_file("d@master~5", "/f") == b"v0"
    with pytest.raises(NotFound, match="ancestor"):
        client.inspect_commit("d@master~6")
    with pytest.raises(NotFound, match="no branch or commit"):
        client.inspect_commit("d@nosuch")
    with pytest.raises(InvalidArgument):
        client.inspect_commit("d@master^x")
    c = client.inspect_commit("d@master")
    assert c.state == "finished" and c.origin == "user" and c.finished >= c.started


def test_ambiguous_commit_prefix(client: Client) -> None:
    client.create_repo("d")
    seen: dict[str, str] = {}
    for i in range(3000):
        cid = client.put_file("d@master", "/f", str(i).encode()).id
        if cid[:4] in seen:
            break
        seen[cid[:4]] = cid
    else:  # pragma: no cover - astronomically unlikely
        pytest.fail("no 4-character prefix collision in 3000 commits")
    with pytest.raises(InvalidArgument, match="ambiguous"):
        client.inspect_commit(f"d@{cid[:4]}")
    assert client.inspect_commit(f"d@{cid[:12]}").id == cid


def test_branches(client: Client) -> None:
    client.create_repo("d")
    a = client.put_file("d@master", "/f", b"a").id
    b = client.put_file("d@master", "/f", b"b").id
    client.create_branch("d@stable", head=a)
    assert heads(client, "d") == {"master": b, "stable": a}
    assert client.get_file("d@stable", "/f") == b"a"
    client.create_branch("d@stable", head="d@master")
    assert client.inspect_branch("d@stable").head == b
    client.create_branch("d@empty")
    assert client.list_commit("d@empty") == []
    with pytest.raises(AlreadyExists):
        client.create_branch("d@empty")
    client.create_repo("e")
    with pytest.raises(InvalidArgument, match="cannot point"):
        client.create_branch("e@x", head=f"d@{a}")
    # a put to a new branch creates it, with the new commit as root
    dev = client.put_file("d@dev", "/g", b"g")
    assert dev.parent is None and heads(client, "d")["dev"] == dev.id
    client.delete_branch("d@dev")
    assert "dev" not in heads(client, "d")
    assert client.inspect_commit(f"d@{dev.id}").id == dev.id  # commits outlive branches
    with pytest.raises(NotFound):
        client.delete_branch("d@dev")


def test_revert_keeps_history(client: Client) -> None:
    client.create_repo("model")
    v1 = client.put_file("model@master", "/model.pkl", b"v1").id
    client.put_file("model@master", "/model.pkl", b"v2")
    client.put_file("model@master", "/extra.txt", b"extra")
    r = client.revert("model@master", to=v1)
    assert (r.origin, r.restores) == ("revert", v1)
    assert (
        client.inspect_file(f"model@{r.id}", "/").hash
        == client.inspect_file(f"model@{v1}", "/").hash
    )
    assert [f.path for f in client.walk_file("model@master")] == ["/model.pkl"]
    assert client.get_file("model@master", "/model.pkl") == b"v1"
    assert len(client.list_commit("model@master")) == 4
    assert client.get_file("model@master^", "/model.pkl") == b"v2"
    with pytest.raises(NotFound):
        client.revert("model@nobranch", to=v1)


def test_squash_and_delete_commit(client: Client) -> None:
    client.create_repo("d")
    c1 = client.put_file("d@master", "/a", b"1").id
    c2 = client.put_file("d@master", "/b", b"2").id
    c3 = client.put_file("d@master", "/c", b"3").id
    with pytest.raises(Conflict, match="branch head"):
        client.squash_commit(f"d@{c3}")
    client.squash_commit(f"d@{c2}")
    assert [c.id for c in client.list_commit("d@master")] == [c3, c1]
    assert [f.path for f in client.list_file("d@master")] == ["/a", "/b", "/c"]  # nothing lost
    with pytest.raises(Conflict, match="children"):
        client.delete_commit(f"d@{c1}")
    client.delete_commit("d@master")
    assert client.inspect_branch("d@master").head == c1
    assert [f.path for f in client.list_file("d@master")] == ["/a"]
    assert client.fsck().ok


def test_provenance_and_subvenance(client: Client) -> None:
    client.create_repo("data")
    client.create_repo("model")
    d = client.put_file("data@master", "/train.csv", b"x,y\n1,2\n")
    with client.start_commit(
        "model@master", provenance=(CommitRef("data", d.id, "master"),), origin="auto"
    ) as oc:
        oc.put_file("/model.pkl", b"model")
    m = client.inspect_commit("model@master")
    assert m.provenance == (CommitRef("data", d.id, "master"),) and m.origin == "auto"
    assert [c.id for c in client.list_subvenance(f"data@{d.id}")] == [oc.id]
    with pytest.raises(Conflict, match="model"):
        client.delete_repo("data")
    with pytest.raises(Conflict, match="computed from it"):
        client.delete_commit("data@master")
    # a revert carries the provenance of the commit it restores
    client.put_file("model@master", "/model.pkl", b"retrained")
    r = client.revert("model@master", to=oc.id)
    assert r.restores == oc.id and r.provenance == m.provenance
    client.delete_repo("data", force=True)
    assert [r.name for r in client.list_repo()] == ["model"]


# -- storage: dedup, packing, chunking ---------------------------------------------------------


def pack_bytes(c: Client) -> int:
    return sum(s.size for s in c.store.backend.list("packs"))


def pack_count(c: Client) -> int:
    return sum(1 for _ in c.store.backend.list("packs"))


def blob_count(c: Client) -> int:
    import sqlalchemy as sa

    from jupyter_pipes.store.metadata import chunks

    with c.store.meta.read() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(chunks))


def test_identical_content_is_stored_once(client: Client) -> None:
    client.create_repo("d")
    blob = os.urandom(1 << 20)
    client.put_file("d@master", "/one", blob)
    before = pack_bytes(client)
    client.put_file("d@master", "/two", blob)
    client.put_file("d@other", "/three", blob)
    assert pack_bytes(client) - before < 10_000  # only tree blobs
    assert client.get_file("d@other", "/three") == blob


def test_small_edit_to_a_large_file_stores_only_changed_chunks(client: Client) -> None:
    client.create_repo("d")
    rows = b"".join(b"%08d,%f,cat%d\n" % (i, i * 0.5, i % 7) for i in range(200_000))
    client.put_file("d@master", "/big.csv", rows)
    before = pack_bytes(client)
    extra = b"".join(b"%08d,%f,cat%d\n" % (i, i * 0.5, i % 7) for i in range(200_000, 202_000))
    client.put_file("d@master", "/big.csv", extra, append=True)
    client.put_file("d@master", "/copy.csv", rows + extra)
    grown = pack_bytes(client) - before
    assert grown < len(extra) + (1 << 20), (grown, len(rows))
    assert client.get_file("d@master", "/copy.csv") == rows + extra
    assert (
        client.inspect_file("d@master", "/copy.csv").hash
        == client.inspect_file("d@master", "/big.csv").hash
    )


def test_many_small_files_become_few_objects(client: Client, tmp_path: Path) -> None:
    src = tmp_path / "small"
    for i in range(2000):
        p = src / f"d{i % 20}" / f"{i}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(512))
    client.create_repo("d")
    client.put_file("d@master", "/", src)
    assert pack_count(client) <= 2
    before = blob_count(client)
    client.put_file("d@master", "/d3/3.txt", b"changed" * 100)
    # Merkle trees: one new file blob, the rewritten /d3 directory and the new root; nothing else
    assert blob_count(client) - before == 3
    # a file of at most INLINE_MAX bytes lives in its directory node: no blob of its own (#17)
    client.put_file("d@master", "/d3/3.txt", b"changed")
    assert blob_count(client) - before == 5
    assert client.get_file("d@master", "/d3/3.txt") == b"changed"


# -- integrity, fsck, gc ----------------------------------------------------------------------


def test_flipped_byte_fails_loudly_and_fsck_reports_it(local_client: Client) -> None:
    from jupyter_pipes import CorruptObject

    c = local_client
    c.create_repo("d")
    c.put_file("d@master", "/f.bin", b"A" * 5000)
    assert c.fsck().ok
    ref = c.store.entry(parse_ref("d@master"), "/f.bin").refs[0]
    path = Path(c.store.backend.root) / "packs" / ref.pack
    data = bytearray(path.read_bytes())
    data[ref.offset + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptObject, match=ref.hash):
        c.get_file("d@master", "/f.bin")
    report = c.fsck()
    assert not report.ok and any(ref.hash in p for p in report.problems)


def test_gc_removes_unreachable_objects_only(client: Client) -> None:
    client.create_repo("keep")
    client.create_repo("drop")
    client.put_file("keep@master", "/k", os.urandom(100_000))
    client.put_file("drop@master", "/d", os.urandom(100_000))
    with pytest.raises(RuntimeError), client.start_commit("keep@master") as oc:
        oc.put_file("/aborted", os.urandom(200_000))
        raise RuntimeError("abort")
    client.delete_repo("drop")
    before = pack_bytes(client)
    with pytest.raises(Conflict, match="more than the 50%"):  # 75% of the bytes go
        client.gc(grace_seconds=0)
    assert pack_bytes(client) == before
    report = client.gc(grace_seconds=0, force=True)
    assert report.packs_removed >= 2 and report.bytes_removed >= 300_000
    assert pack_bytes(client) == before - report.bytes_removed
    assert client.fsck().ok
    assert len(client.get_file("keep@master", "/k")) == 100_000
    # young packs are protected by the grace period
    client.create_repo("drop2")
    client.put_file("drop2@master", "/x", os.urandom(50_000))
    client.delete_repo("drop2")
    assert client.gc().packs_removed == 0


def test_gc_removes_abandoned_open_commits(client: Client) -> None:
    client.create_repo("d")
    oc = client.store.start_commit("d", "master")
    oc.put_file("/x", b"x")
    assert client.gc(grace_seconds=0).open_commits_removed == 0  # its writer renews its lease
    expire_lease(client, oc.id)  # the writer "dies" here: no more heartbeats
    assert client.gc(grace_seconds=0).open_commits_removed == 1
    with pytest.raises(NotFound):
        client.inspect_commit(f"d@{oc.id}")


def expire_lease(c: Client, lease: str) -> None:
    """What a killed writer leaves: a lease nobody renews, past its expiry."""
    c.store.meta.keeper.drop(lease)
    with c.store.meta.write() as conn:
        t = metadata.leases
        conn.execute(sa.update(t).where(t.c.id == lease).values(expires_at=0.0))


def test_get_directory_onto_existing_file_is_refused(client: Client, tmp_path: Path) -> None:
    client.create_repo("d")
    client.put_file("d@master", "/dir/a", b"a")
    target = tmp_path / "afile"
    target.write_text("keep me")
    with pytest.raises(InvalidArgument, match="existing file"):
        client.get_file("d@master", "/dir", dest=target)
    assert target.read_text() == "keep me"


def test_deleting_a_missing_path_is_an_error(client: Client) -> None:
    client.create_repo("d")
    client.put_file("d@master", "/a", b"a")
    with pytest.raises(NotFound):
        client.delete_file("d@master", "/typo")
    assert len(client.list_commit("d")) == 1


def test_a_file_larger_than_a_pack_round_trips(client: Client) -> None:
    """40 MiB: more than one 32 MiB pack object (large, multi-part uploads on S3)."""
    client.create_repo("big")
    data = os.urandom(40 << 20)
    client.put_file("big@master", "/big.bin", data)
    assert client.get_file("big@master", "/big.bin") == data
    assert client.fsck().ok
