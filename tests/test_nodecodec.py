"""Directory nodes in the compact binary format (#17), and stores written in JSON still work.

New nodes are written as ``b"\\x03"`` + msgpack (store/nodecodec.py); nodes of older stores
(JSON lists and ``{"v": 2}`` objects) read, diff, fsck, gc and rebuild as before, also mixed
with new ones in one tree, and one content has one root hash whatever the format.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.store import nodecodec, objects, trees
from jupyter_pipes.store.objects import BlobRef
from jupyter_pipes.store.refs import Ref, parse_ref
from jupyter_pipes.store.treenodes import Entry, Node

from .test_store_rebuild import lose, manifest, rebuild_cli

H = [bytes([i]) * 32 for i in range(8)]
HX = [h.hex() for h in H]
PACK = "0190aabbccdd" + "11" * 10
OTHER = "0190aabbccde" + "22" * 10


def _entries() -> list[Entry]:
    """One entry of every kind, refs into two packs, out of order, and an odd pack id."""
    return [
        Entry("a.txt", False, 10, HX[0], (BlobRef(HX[0], PACK, 0, 10),)),
        Entry("b.txt", False, 7, HX[1], (BlobRef(HX[1], PACK, 10, 7),)),
        Entry(
            "big.bin",
            False,
            300,
            HX[2],
            (BlobRef(HX[3], OTHER, 5, 100), BlobRef(HX[4], PACK, 3, 200)),
        ),
        Entry("dir", True, 317, HX[5], (BlobRef(HX[6], OTHER, 900, 55),), count=4),
        Entry("empty", False, 0, HX[7], (BlobRef(HX[7], "not-a-hex-id", 0, 0),)),
        Entry('ünï/ "code', False, 10, HX[0], (BlobRef(HX[0], PACK, 0, 10),)),
    ]


def _inline(name: str, data: bytes) -> Entry:
    return Entry(name, False, len(data), objects.hash_bytes(data), (objects.inline_ref(data),))


def test_a_leaf_round_trips_and_is_compact() -> None:
    entries = _entries()
    data = nodecodec.encode_leaf(entries)
    assert data[:1] == b"\x03"
    assert nodecodec.decode_node(data) == (0, entries)
    old = nodecodec.encode_leaf_json(entries)
    assert nodecodec.decode_node(old) == (0, entries)  # the JSON form still reads
    assert len(data) < 0.5 * len(old)


def test_small_files_kept_inline_round_trip_and_cost_their_bytes_plus_their_name() -> None:
    """#17: a small file's row is ``[name, bytes]``: no hash (computed when read: the node's
    own hash covers the bytes), no pack, no offset; the JSON form cannot hold one."""
    entries = [_inline(f"f{i:07}.bin", bytes([i % 256]) * 100) for i in range(200)]
    entries.insert(0, _inline("", b""))
    entries.append(Entry("zz", False, 10, HX[0], (BlobRef(HX[0], PACK, 0, 10),)))
    data = nodecodec.encode_leaf(entries)
    level, back = nodecodec.decode_node(data)
    assert (level, back) == (0, entries)
    assert back[1].refs[0].data == bytes([0]) * 100 and not back[1].refs[0].in_pack
    assert back[1].hash == objects.hash_bytes(bytes([0]) * 100)
    per_row = (len(data) - 60) / 201  # (less the last, ordinary row and the node's header)
    assert per_row < 100 + 16, per_row  # the bytes, the name (13) and 3 bytes of framing
    with pytest.raises(ValueError, match="inline"):
        nodecodec.encode_leaf_json(entries)


def test_an_inner_node_round_trips() -> None:
    kids = [
        Node(0, "m", HX[0], 30, 3000, 31, BlobRef(HX[1], PACK, 100, 900)),
        Node(0, "z", HX[2], 20, 2000, 20, BlobRef(HX[3], PACK, 1000, 700)),
    ]
    data = nodecodec.encode_inner(1, kids)
    assert data[:1] == b"\x03"
    assert nodecodec.decode_node(data) == (1, kids)
    assert nodecodec.decode_node(nodecodec.encode_inner_json(1, kids)) == (1, kids)


def test_a_small_files_row_takes_about_fifty_bytes() -> None:
    n = 200
    entries = [
        Entry(f"f{i:07}.bin", False, 100, h, (BlobRef(h, PACK, 100 * i, 100),))
        for i in range(n)
        for h in [bytes([i % 256, i // 256]).hex() * 16]
    ]
    per_row = len(nodecodec.encode_leaf(entries)) / n
    assert per_row < 55, per_row
    assert len(nodecodec.encode_leaf_json(entries)) / n > 130


@pytest.mark.parametrize(
    "data",
    [
        b"\x03\x93\x00",
        b"\x03\xc1",
        b"\x07[]",
        b"\x03\x93\x00\x90\x91\x92\xa1a\x01",  # a row of two, the second not bytes
        b"\x03\x93\x00\x90\x91\x92\xa1a\xa1b",  # (text is not bytes either)
    ],
)
def test_damaged_or_unknown_nodes_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        nodecodec.decode_node(data)


def _json_writer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make this process write directory nodes as the code before format 3 did (which kept
    no file inline)."""
    monkeypatch.setattr(objects, "INLINE_MAX", -1)
    monkeypatch.setattr(trees, "encode_tree", nodecodec.encode_leaf_json)
    monkeypatch.setattr(trees, "encode_inner", nodecodec.encode_inner_json)


def _fill(c: Client, repo: str) -> None:
    c.create_repo(repo)
    with c.start_commit(f"{repo}@master") as commit:
        for i in range(600):  # a split folder (> 256 entries) beside a flat one
            commit.put_file(f"/big/f{i:04}", b"%d" % i)
        commit.put_file("/small/a", b"a")
        commit.put_file("/small/b", b"b" * 100_000)
    c.put_file(f"{repo}@master", "/big/f0123", b"changed")


def _node_formats(store: Path) -> set[bytes]:
    """The first bytes of every directory node in the store's packs."""
    with Client(str(store)) as c:
        s = c._store
        out: set[bytes] = set()
        for ci in c.list_commit("data"):
            _, root = s._root(_ref(ci.id))
            if root.ref is None:
                continue
            stack = [root.as_entry()]
            while stack:
                e = stack.pop()
                refs = [e.refs[0], *s.trees.node_refs(e)]
                out |= {s.reader.read(r)[:1] for r in refs}
                stack += [x for x in s.trees.iter_children(e) if x.is_dir]
        return out


def _ref(commit: str) -> Ref:
    return parse_ref(f"data@{commit}")


def _root_hashes(c: Client) -> list[str]:
    return [c._store._root(_ref(ci.id))[1].hash for ci in c.list_commit("data")]


def test_a_store_written_with_json_nodes_reads_diffs_fscks_and_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    with monkeypatch.context() as m:
        _json_writer(m)
        with Client(str(old)) as c:
            _fill(c, "data")
    assert _node_formats(old) <= {b"[", b"{"}
    with Client(str(new)) as c:
        _fill(c, "data")
    assert _node_formats(new) == {b"\x03"}
    with Client(str(old)) as a, Client(str(new)) as b:
        # same content, same root hash (and same commit contents), whatever the node format
        assert _root_hashes(a) == _root_hashes(b)
        ra, rb = a._store._root(_ref("master"))[1], b._store._root(_ref("master"))[1]
        assert ra.hash == rb.hash and ra.count == rb.count == 602
        assert a.get_file("data@master", "/big/f0123") == b"changed"
        assert [d.path for d in a.diff_file("data@master")] == ["/big/f0123"]
        # the old store grows with binary nodes: one tree mixes both formats
        a.put_file("data@master", "/big/f0456", b"new")
        a.put_file("data@master", "/small/c", b"c")
        b.put_file("data@master", "/big/f0456", b"new")
        b.put_file("data@master", "/small/c", b"c")
        ra, rb = a._store._root(_ref("master"))[1], b._store._root(_ref("master"))[1]
        assert ra.hash == rb.hash
        assert [d.path for d in a.diff_file("data@master", old="data@master~2")] == [
            "/big/f0456",
            "/small/c",
        ]
        assert a.fsck().ok
        a.delete_commit("data@master")
        a.gc(grace_seconds=0)
        assert a.fsck().ok
        before = manifest(a)
    assert _node_formats(old) == {b"[", b"{", b"\x03"}
    lose(old / "metadata.sqlite")
    res = rebuild_cli(old)
    assert res.exit_code == 0, res.output
    with Client(str(old)) as c:
        assert manifest(c) == before
        assert c.fsck().ok


def test_the_fixture_store_diffs_old_against_new_nodes(tmp_path: Path) -> None:
    """The committed fixture store (JSON nodes, written at dc2dfd8) diffs between its own
    commits as it did, and against a commit written now in the binary format; fsck is clean."""
    from .test_store_upgrade import unpack

    root, manifest = unpack(tmp_path, "sqlite")
    with Client(str(root)) as c:
        outputs = {p["name"] for p in manifest["pipelines"]}
        repo = next(r["name"] for r in manifest["repos"] if r["name"] not in outputs)
        branch = next(b["name"] for b in manifest["branches"] if b["repo"] == repo)
        ids = [ci.id for ci in c.list_commit(f"{repo}@{branch}")]
        old_files = {f.path for f in c.walk_file(f"{repo}@{ids[0]}") if f.type == "file"}
        if len(ids) > 1:  # between two JSON-node commits: what the fixture's files say
            want = set(manifest["files"][ids[0]]) ^ set(manifest["files"][ids[1]])
            got = {d.path for d in c.diff_file(f"{repo}@{ids[0]}", old=f"{repo}@{ids[1]}")}
            assert want <= got
        c.put_file(f"{repo}@{branch}", "/written-now.txt", b"binary nodes")
        s = c._store
        _, now = s._root(parse_ref(f"{repo}@{branch}"))
        assert now.ref is not None and s.reader.read(now.ref)[:1] == b"\x03"
        diff = c.diff_file(f"{repo}@{branch}", old=f"{repo}@{ids[0]}")
        assert [(d.path, d.change) for d in diff] == [("/written-now.txt", "added")]
        after = {f.path for f in c.walk_file(f"{repo}@{branch}") if f.type == "file"}
        assert after == old_files | {"/written-now.txt"}
        assert c.fsck().ok
