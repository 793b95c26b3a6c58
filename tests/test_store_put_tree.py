"""A folder put is built as a tree against the branch's (#17, #19): an unchanged file is not
staged at all, the tree comes out exactly as staging file by file made it, and a head moved by
another writer meanwhile keeps that writer's changes except where the folder has a file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_pipes.errors import Conflict
from jupyter_pipes.store import statcache, treebuild
from jupyter_pipes.store.maintenance import fsck
from jupyter_pipes.store.refs import parse_ref
from jupyter_pipes.store.store import Store

REF = parse_ref("r@master")


@pytest.fixture(autouse=True)
def trust_fresh_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files made by the test are seconds old: trust the stat cache at once."""
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0.0)
    monkeypatch.delenv(statcache.ENV, raising=False)


def make_folder(root: Path, big: int = 600) -> Path:
    """A folder with a split directory (``big`` entries), small ones and a nested one."""
    for i in range(big):
        (root / "big").mkdir(parents=True, exist_ok=True)
        (root / "big" / f"f{i:05}.txt").write_bytes(b"big %d\n" % i)
    for d in ("a", "a/b", "c"):
        (root / d).mkdir(parents=True, exist_ok=True)
        for i in range(5):
            (root / d / f"{i}.csv").write_bytes(f"{d} {i}\n".encode())
    (root / "a.txt").write_bytes(b"a file after the folder a\n")
    (root / "large.bin").write_bytes(os.urandom(300_000))  # several chunks
    return root


def put(store: Store, repo: str, path: str, source: str | bytes) -> str:
    """One commit putting ``source`` at ``path``; its id."""
    c = store.start_commit(repo, "master")
    c.put_file(path, source)
    return c.finish().id


def files_of(store: Store, repo: str = "r") -> dict[str, bytes]:
    ref = parse_ref(f"{repo}@master")
    return {
        f.path: store.get_file(ref, f.path)
        for f in store.walk_file(ref, "/")
        if not f.path.endswith("/")
    }


def root_hash(store: Store, repo: str) -> str:
    return store._root(parse_ref(f"{repo}@master"))[1].hash


def test_an_unchanged_folder_put_again_stages_and_writes_nothing(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "data")
    store = Store(str(tmp_path / "store"))
    store.create_repo("r")
    put(store, "r", "/d", str(folder))
    packs = sorted(os.listdir(tmp_path / "store" / "packs"))
    c = store.start_commit("r", "master")
    c.put_file("/d", str(folder))
    # One staged change for the whole folder (before: one per file), and not a byte written.
    assert c.patch.changes == 1
    assert c.writer.new_blobs == {} and c.writer.bytes_written == 0
    info = c.finish()
    assert sorted(os.listdir(tmp_path / "store" / "packs")) == packs  # no node written either
    assert store.diff_file(REF, parse_ref(f"r@{info.parent}")) == []
    assert files_of(store)["/d/big/f00007.txt"] == b"big 7\n"


def test_a_folder_put_builds_the_tree_staging_file_by_file_builds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_folder(tmp_path / "data")
    store = Store(str(tmp_path / "store"))
    for repo in ("tree", "files"):
        store.create_repo(repo)
    put(store, "tree", "/", str(folder))
    c = store.start_commit("files", "master")
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            c.put_file("/" + p.relative_to(folder).as_posix(), str(p))
    c.finish()
    assert root_hash(store, "tree") == root_hash(store, "files")

    # Then some files change, some are new: the split directory merges with its base, here
    # streamed (more changes than kept in memory) and spliced, with the same result.
    for i in range(0, 600, 7):
        (folder / "big" / f"f{i:05}.txt").write_bytes(b"changed %d\n" % i)
    for i in range(40):
        (folder / "big" / f"g{i:03}.txt").write_bytes(b"new %d\n" % i)
    (folder / "a" / "b" / "2.csv").write_bytes(b"changed too\n")
    monkeypatch.setattr(treebuild, "CHANGES_IN_MEMORY", 10)
    put(store, "tree", "/", str(folder))
    monkeypatch.undo()
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0.0)
    c = store.start_commit("files", "master")
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            c.put_file("/" + p.relative_to(folder).as_posix(), str(p))
    c.finish()
    assert root_hash(store, "tree") == root_hash(store, "files")
    assert files_of(store, "tree") == files_of(store, "files")


def test_another_writers_changes_meanwhile_are_kept_except_the_folders_files(
    tmp_path: Path,
) -> None:
    folder = make_folder(tmp_path / "data", big=300)
    store = Store(str(tmp_path / "store"))
    store.create_repo("r")
    put(store, "r", "/", str(folder))
    put(store, "r", "/only-in-store.txt", b"not in the folder")
    (folder / "c" / "0.csv").write_bytes(b"ours, changed\n")
    c = store.start_commit("r", "master")
    c.put_file("/", str(folder))  # built against the head above
    other = store.start_commit("r", "master")
    other.delete_file("/a/1.csv")  # in the folder, unchanged: the put writes it again
    other.delete_file("/only-in-store.txt")  # not in the folder: stays deleted
    other.put_file("/c/0.csv", b"theirs")  # the folder changed it: ours wins
    other.put_file("/big/f00003.txt", b"theirs too")  # the folder has it: ours again
    other.put_file("/new/theirs.txt", b"theirs only")  # kept
    other.finish()
    c.finish()
    got = files_of(store)
    assert got["/a/1.csv"] == b"a 1\n"
    assert "/only-in-store.txt" not in got
    assert got["/c/0.csv"] == b"ours, changed\n"
    assert got["/big/f00003.txt"] == b"big 3\n"
    assert got["/new/theirs.txt"] == b"theirs only"
    assert fsck(store).ok


def test_changes_staged_after_a_folder_put_apply_on_top_of_it(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "data", big=10)
    store = Store(str(tmp_path / "store"))
    store.create_repo("r")
    put(store, "r", "/keep.txt", b"kept")
    c = store.start_commit("r", "master")
    c.put_file("/d", str(folder))
    c.put_file("/d/extra.txt", b"extra")
    c.delete_file("/d/a/b")
    c.put_file("/d", str(folder / "c"))  # staged on its path already: file by file
    c.finish()
    got = files_of(store)
    assert got["/d/extra.txt"] == b"extra" and got["/keep.txt"] == b"kept"
    assert not any(p.startswith("/d/a/b/") for p in got)
    assert got["/d/0.csv"] == b"c 0\n" and got["/d/c/0.csv"] == b"c 0\n"


def test_a_folder_over_a_file_of_the_same_name_is_a_conflict(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "data", big=3)
    store = Store(str(tmp_path / "store"))
    store.create_repo("r")
    put(store, "r", "/d/a", b"a file where the folder has a directory")
    with pytest.raises(Conflict, match="is a file"):
        put(store, "r", "/d", str(folder))
    put(store, "r", "/e/a.txt/x", b"a directory where the folder has a file")
    with pytest.raises(Conflict, match="is a directory"):
        put(store, "r", "/e", str(folder))
