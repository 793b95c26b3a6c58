"""Large directories are split into bounded, content-addressed nodes (#17).

A one-file change in a folder of many files rewrites one small node per level, the same content
always has the same root hash whatever the edit history, and everything that walks trees
(reads, diff, delta, gc, fsck, rebuild) follows the nodes. Directories written as one blob by
older versions stay readable and are split the first time they change.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from jupyter_pipes.store import treenodes
from jupyter_pipes.store.maintenance import fsck, gc
from jupyter_pipes.store.nodecodec import encode_leaf_json
from jupyter_pipes.store.objects import BlobReader, BlobRef, PackWriter
from jupyter_pipes.store.refs import parse_ref
from jupyter_pipes.store.store import Store
from jupyter_pipes.store.trees import EMPTY_ROOT, Patch, Root, TreeStore, file_entry

REF = parse_ref("data@master")


def packs_size(root: Path) -> int:
    return sum(p.stat().st_size for p in (root / "packs").iterdir())


def fill(store: Store, names: list[str], folder: str = "/big") -> None:
    c = store.start_commit("data", "master")
    for n in names:
        c.put_file(f"{folder}/{n}", n.encode())
    c.finish()


def top(store: Store, path: str = "/big") -> treenodes.Node:
    _, root = store._root(REF)
    node = store.trees.top(store.trees.require(root, path))
    assert node is not None
    return node


def test_a_one_file_commit_into_a_big_folder_writes_a_few_small_nodes(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "s"))
    store.create_repo("data")
    names = [f"f{i:06d}.txt" for i in range(5000)]
    fill(store, names)
    assert top(store).level >= 1  # split, not one 5,000-entry blob
    before = packs_size(tmp_path / "s")
    c = store.start_commit("data", "master")
    c.put_file("/big/f002500.5.txt", b"new")
    c.finish()
    written = packs_size(tmp_path / "s") - before
    print(f"one-file commit into 5,000 files: {written:,} bytes stored")
    assert written < 60_000  # the folder as one 5,000-entry blob is about 600 kB
    assert store.get_file(REF, "/big/f002500.5.txt") == b"new"
    assert [f.path for f in store.list_file(REF, "/big")][:3] == [
        "/big/f000000.txt",
        "/big/f000001.txt",
        "/big/f000002.txt",
    ]
    assert len(store.list_file(REF, "/big")) == 5001


def test_nodes_are_bounded_and_the_shape_depends_on_content_only(tmp_path: Path) -> None:
    """Random puts and deletes in one folder, commit after commit: its listing matches a model,
    diff matches the model's changes, and the root hash always equals that of writing the
    same content at once."""
    store = Store(str(tmp_path / "s"))
    trees = TreeStore(store.reader)
    writer = PackWriter(store.backend, lambda hashes: {})
    blobs = writer.add_many([b"content %d" % i for i in range(40)])
    rng = random.Random(17)
    model: dict[str, int] = {}
    root = EMPTY_ROOT
    for step in range(120):
        old_model, old_root = dict(model), root
        patch = Patch()
        for _ in range(rng.choice([1, 1, 2, 40, 400])):
            if model and rng.random() < 0.35:
                name = rng.choice(sorted(model))
                patch.delete(f"/d/{name}")
                del model[name]
            else:
                name, k = f"n{rng.randrange(2500):05d}", rng.randrange(40)
                patch.put(f"/d/{name}", file_entry(name, [blobs[k]]))
                model[name] = k
        root = trees.apply(root, patch, writer)
        writer.flush()
        d = trees.lookup(root, "/d")
        got = {e.name: e.hash for e in trees.iter_children(d)} if d else {}
        assert got == {n: blobs[k].hash for n, k in model.items()}, step
        changed = {
            p: (a.hash if a else None, b.hash if b else None)
            for p, a, b in trees.diff(trees.lookup(old_root, "/"), trees.lookup(root, "/"), "/")
        }
        want = {
            f"/d/{n}": (
                blobs[old_model[n]].hash if n in old_model else None,
                blobs[model[n]].hash if n in model else None,
            )
            for n in old_model.keys() | model.keys()
            if old_model.get(n) != model.get(n)
        }
        assert changed == want, step
        if step % 20 == 19 or step == 119:
            at_once = Patch()
            for n, k in model.items():
                at_once.put(f"/d/{n}", file_entry(n, [blobs[k]]))
            assert trees.apply(EMPTY_ROOT, at_once, writer).hash == root.hash, step
            if d is not None:
                node = trees.top(d)
                assert node is not None
                sizes = [len(trees._load(r)[1]) for r in trees.node_refs(d)]
                assert (node.level == 0) == (len(model) <= treenodes.FLAT_MAX)
                assert all(s <= 16 * 2**treenodes.DIGIT_BITS for s in sizes)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_same_100k_folder_has_one_hash_however_it_was_built(tmp_path: Path) -> None:
    """One put of 100,000 files, versus a first commit with some missing, others with other
    content and extra names, then 40 commits adding, fixing and deleting in random order:
    equal roots (dedup and the engine's skip-unchanged logic compare these hashes)."""
    store = Store(str(tmp_path / "s"))
    trees = TreeStore(store.reader)
    index: dict[str, BlobRef] = {}  # the chunk index's part: the writer itself remembers
    writer = PackWriter(  # only its last DEDUP_WINDOW blobs (#19), the index every flushed one
        store.backend, lambda hashes: {h: index[h] for h in hashes if h in index}
    )

    def flush() -> None:
        writer.flush()
        index.update(writer.new_blobs.items())  # as a finished commit records its blobs

    blobs = writer.add_many([b"a", b"b", b"c"])
    names = [f"sample-{i:06d}.json" for i in range(100_000)]
    right = {n: file_entry(n, [blobs[i % 2]]) for i, n in enumerate(names)}
    once = Patch()
    for n in reversed(names):
        once.put(f"/big/{n}", right[n])
    whole = trees.apply(EMPTY_ROOT, once, writer)
    flush()
    rng = random.Random(5)
    late = rng.sample(names, 6000)
    wrong = rng.sample(sorted(set(names) - set(late)), 2000)
    wrong_set = set(wrong)
    extra = [f"zz-{rng.random()}" for _ in range(400)] + [f"a-{k}" for k in range(400)]
    first = Patch()
    for n in set(names) - set(late):
        first.put(f"/big/{n}", file_entry(n, [blobs[2]]) if n in wrong_set else right[n])
    for n in extra:
        first.put(f"/big/{n}", file_entry(n, [blobs[2]]))
    root = trees.apply(EMPTY_ROOT, first, writer)
    flush()
    rng.shuffle(extra)
    for k in range(40):
        patch = Patch()
        for n in late[k * 150 : (k + 1) * 150]:
            patch.put(f"/big/{n}", right[n])
        for n in wrong[k * 50 : (k + 1) * 50]:
            patch.put(f"/big/{n}", right[n])
        for n in extra[k * 20 : (k + 1) * 20]:
            patch.delete(f"/big/{n}")
        root = trees.apply(root, patch, writer)
        flush()
    assert root.count == 100_000
    assert (root.hash, root.size) == (whole.hash, whole.size)
    assert whole_top_ref(trees, root) == whole_top_ref(trees, whole)


def whole_top_ref(trees: TreeStore, root: Root) -> str:
    big = trees.lookup(root, "/big")
    assert big is not None
    return big.refs[0].hash


def test_gc_fsck_and_rebuild_follow_the_nodes(tmp_path: Path) -> None:
    """gc must keep the packs holding a split folder's inner nodes and leaves (they are reached
    only through its top node), fsck counts and verifies them, and a metadata rebuild indexes
    them."""
    url = str(tmp_path / "s")
    store = Store(url)
    store.create_repo("data")
    fill(store, [f"f{i:05d}" for i in range(3000)])
    for k in range(3):  # later commits share most nodes with the first, in other packs
        c = store.start_commit("data", "master")
        c.put_file(f"/big/g{k}", b"more")
        c.delete_file("/big/f00007")
        c.finish()
    gc(store, grace_seconds=0, force=True)
    report = fsck(store)
    assert report.ok, report.problems
    nodes = sum(1 for _ in store.trees.node_refs(store.trees.require(store._root(REF)[1], "/big")))
    assert nodes > 10
    assert report.trees > nodes
    fresh = Store(url)
    assert sum(1 for f in fresh.walk_file(REF, "/big")) == 3002
    assert fresh.get_file(REF, "/big/f02999") == b"f02999"
    assert fresh.get_file(REF, "/big/g2") == b"more"


def test_a_folder_written_as_one_blob_by_older_versions_is_read_and_then_split(
    tmp_path: Path,
) -> None:
    """Older stores hold every folder as one blob however big: it reads as before, and its
    first change writes the split form, with the hash of writing that content today."""
    store = Store(str(tmp_path / "s"))
    trees = TreeStore(BlobReader(store.backend))
    writer = PackWriter(store.backend, lambda hashes: {})
    blobs = writer.add_many([b"one", b"two"])
    entries = [file_entry(f"f{i:05d}", [blobs[i % 2]]).renamed(f"f{i:05d}") for i in range(5000)]
    legacy = writer.add(encode_leaf_json(entries))  # exactly what the old code wrote
    from jupyter_pipes.store.trees import Entry, _content_hash

    old_dir = Entry("big", True, 15000, _content_hash(entries), (legacy,), 5000)
    outer = writer.add(encode_leaf_json([old_dir]))
    root = Root(_content_hash([old_dir]), 15000, 5000, outer)
    writer.flush()
    assert trees.lookup(root, "/big/f04321") == entries[4321]
    assert [p for p, _ in trees.walk(old_dir, "/big")][:2] == ["/big/f00000", "/big/f00001"]
    patch = Patch()
    patch.put("/big/f99999", file_entry("x", [blobs[0]]))
    new = trees.apply(root, patch, writer)
    writer.flush()
    node = trees.top(trees.require(new, "/big"))
    assert node is not None and node.level >= 1
    fresh = Patch()
    for e in [*entries, file_entry("f99999", [blobs[0]]).renamed("f99999")]:
        fresh.put(f"/big/{e.name}", e)
    assert trees.apply(EMPTY_ROOT, fresh, writer).hash == new.hash
    assert [p for p, _, _ in trees.diff(root.as_entry(), new.as_entry(), "/")] == ["/big/f99999"]


def test_the_fixture_store_reads_and_its_folders_split_when_they_grow(tmp_path: Path) -> None:
    """The committed fixture store (written before nodes were split) reads back whole; a
    folder of it that grows past the flat limit is split, and its old commits still read."""
    from jupyter_pipes import Client

    from .test_store_upgrade import assert_survived, unpack

    root, manifest = unpack(tmp_path, "sqlite")
    c = Client(str(root))
    assert_survived(c, manifest)
    outputs = {p["name"] for p in manifest["pipelines"]}
    repo = next(r["name"] for r in manifest["repos"] if r["name"] not in outputs)
    branch = next(b["name"] for b in manifest["branches"] if b["repo"] == repo)
    files = [f.path for f in c.walk_file(f"{repo}@{branch}") if f.type == "file"]
    folder = os.path.dirname(files[0]) if files else "/"
    with c.start_commit(f"{repo}@{branch}") as commit:
        for i in range(treenodes.FLAT_MAX + 50):
            commit.put_file(f"{folder.rstrip('/')}/grown-{i:04d}", b"%d" % i)
    _, now = c._store._root(parse_ref(f"{repo}@{branch}"))
    node = c._store.trees.top(c._store.trees.require(now, folder))
    assert node is not None and node.level >= 1
    assert c.get_file(f"{repo}@{branch}", f"{folder.rstrip('/')}/grown-0007") == b"7"
    for want in manifest["commits"]:  # every old commit still reads
        ref = f"{want['repo']}@{want['id']}"
        got = {f.path for f in c.walk_file(ref) if f.type == "file"}
        assert got == set(manifest["files"][want["id"]])
    assert c.fsck().ok


@pytest.mark.parametrize("n", [3000])
def test_a_shallow_delta_reads_only_the_changed_nodes(tmp_path: Path, n: int) -> None:
    """The pipeline's Merkle delta (datum planning) between two commits that differ in one
    file of a big folder reads a few small nodes, not the folder."""
    from jupyter_pipes.store.datum_io import CommitTrees

    store = Store(str(tmp_path / "s"))
    store.create_repo("data")
    fill(store, [f"f{i:05d}" for i in range(n)])
    c = store.start_commit("data", "master")
    c.put_file("/big/other", b"x")
    first = c.finish().id
    c = store.start_commit("data", "master")
    c.put_file("/big/f00100", b"changed")
    second = c.finish().id
    reads: list[int] = []
    real = store.reader.read

    def counting(ref):  # type: ignore[no-untyped-def]
        reads.append(ref.length)
        return real(ref)

    store.reader.read = counting  # type: ignore[method-assign]
    delta = CommitTrees(store).delta(first, second, "/big/*")
    assert delta is not None
    assert sorted(delta.new) == ["/big/f00100"] and sorted(delta.old) == ["/big/f00100"]
    print(f"delta over {n} files read {len(reads)} blobs, {sum(reads):,} bytes")
    assert sum(reads) < 60_000  # the whole folder is over 250 kB


def test_globs_stream_in_pachyderm_order(tmp_path: Path) -> None:
    """``iter_glob_file`` and the pipeline's matches walk the tree instead of sorting every
    path: the same entries in the same order as sorting them (a directory ``a/`` sorts after
    ``a-b`` and ``a.txt``, before ``a0``), in a flat and in a split folder."""
    from jupyter_pipes.store.datum_io import CommitTrees
    from jupyter_pipes.store.glob import glob_entries

    files = ["/a/x", "/a-b", "/a.txt", "/a0", "/a/b-c", "/a/b/c", "/b/c/d", "/b/c-e", "/b/c/f/g"]
    files += [f"/big/{n}" for n in ("d/x", "d-1", "d.2", "d0", "e/f/g")]
    files += [f"/big/n{i:04d}{'/in' if i % 7 == 0 else ''}" for i in range(400)]
    store = Store(str(tmp_path / "s"))
    store.create_repo("data")
    c = store.start_commit("data", "master")
    for f in files:
        c.put_file(f, f.encode())
    commit = c.finish().id
    trees = CommitTrees(store)
    for pattern in ["/**", "/*", "/a*", "/a/**", "/b/*/*", "/**/c", "/big/*", "/big/d*", "/"]:
        want = glob_entries(files, pattern)
        assert [f.path for f in store.iter_glob_file(REF, pattern)] == want, pattern
        assert [m.path for m in trees.matches(commit, pattern)] == want, pattern
