"""``pipes://``: URL grammar, ranged reads, listing, hashes, errors, writes, transactions.

Real parts: a local store with SQLite (and ``memory://`` where a test only needs the logic).
pandas, Dask and pyarrow reading through the filesystem: tests/test_fs_tools.py; fsspec's own
suite: tests/test_fs_abstract.py.
"""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from jupyter_pipes import Client, CorruptObject, InvalidArgument, NotFound
from jupyter_pipes.errors import IsADirectory, PathExists, PathNotFound, ReadOnlyRef
from jupyter_pipes.fs import PipesFileSystem, parse
from jupyter_pipes.store.objects import pack_key
from jupyter_pipes.store.refs import parse_ref


@pytest.fixture
def fs(tmp_path: Path) -> Iterator[PipesFileSystem]:
    """A filesystem on a fresh local store with SQLite, with an empty repo ``r``."""
    f = PipesFileSystem(store=str(tmp_path / "store"), skip_instance_cache=True)
    f.client.create_repo("r")
    yield f
    f.close()


def heads(fs: PipesFileSystem, branch: str = "r@master") -> list[str]:
    return [c.id for c in fs.client.list_commit(branch)]


# -- grammar ----------------------------------------------------------------------------------


def test_url_grammar() -> None:
    p = parse("pipes://data@master/dir/train.csv")
    assert (p.ref.repo, p.ref.base, p.ref.ancestors, p.path) == (
        "data",
        "master",
        0,
        "/dir/train.csv",
    )
    assert p.name("/dir/x") == "data@master/dir/x"
    assert parse("data").ref.base == "master" and parse("data").path == "/"
    assert parse("pipes://data@master~2/").ref.ancestors == 2
    assert parse("data@abc123^^/a").ref.ancestors == 2
    assert parse("data@master^3/a").prefix == "data@master^3"
    assert parse("pipes://").is_root and parse("").is_root
    for bad in ("data@master/../x", "da ta@master/x", "data@master!/x", "data@master:/x"):
        with pytest.raises(InvalidArgument):
            parse(bad)


# -- reading ----------------------------------------------------------------------------------


def test_range_reader_reads_only_the_chunks_it_needs(fs: PipesFileSystem) -> None:
    data = random.Random(1).randbytes(6 << 20)  # ~24 content-defined chunks
    fs.client.put_file("r@master", "/big.bin", data)
    info, reader = fs.client.open_file_range("r@master", "/big.bin")
    assert reader.size == len(data) == info.size_bytes
    rng = random.Random(2)
    for _ in range(200):
        a = rng.randrange(len(data))
        b = a + rng.choice([0, 1, 7, 4096, 300_000, 2 << 20])
        assert reader.read(a, b) == data[a:b]
    assert reader.read(len(data) - 10, len(data) + 100) == data[-10:]
    assert reader.read(5, 2) == b""

    _, seq = fs.client.open_file_range("r@master", "/big.bin")  # a parser's 256 KiB reads
    assert b"".join(seq.read(i, i + (256 << 10)) for i in range(0, len(data), 256 << 10)) == data
    assert seq.bytes_read == len(data)  # read ahead, each chunk fetched once

    _, tail = fs.client.open_file_range("r@master", "/big.bin")
    assert tail.read(len(data) - 8) == data[-8:]
    assert tail.bytes_read <= 1 << 20  # one chunk (max 1 MiB), no read-ahead after a seek
    before = tail.bytes_read
    tail.read(len(data) - 100, len(data) - 50)
    assert tail.bytes_read == before  # the boundary chunk is kept


def test_open_seek_read_and_cat_ranges(fs: PipesFileSystem) -> None:
    data = random.Random(3).randbytes(3 << 20)
    fs.client.put_file("r@master", "/f.bin", data)
    with fs.open("pipes://r@master/f.bin", "rb", block_size=1 << 20) as f:
        f.seek(2_000_000)
        assert f.read(10) == data[2_000_000:2_000_010]
        f.seek(-5, 2)
        assert f.read() == data[-5:]
        f.seek(100)
        assert f.read(50) == data[100:150]
        assert f.reader.bytes_read < len(data)
    assert fs.cat_file("r@master/f.bin", start=-4) == data[-4:]
    assert fs.cat_file("r@master/f.bin", 10, 20) == data[10:20]
    assert fs.cat_file("r@master/f.bin", 10, -10) == data[10:-10]
    assert fs.cat("r@master/f.bin") == data


def test_reads_are_verified(tmp_path: Path, fs: PipesFileSystem) -> None:
    fs.pipe("r@master/x.txt", b"hello, verified world" * 20)  # (past INLINE_MAX: in a pack)
    ref = fs.client.store.entry(parse_ref("r@master"), "/x.txt").refs[0]
    pack = tmp_path / "store" / pack_key(ref.pack)
    raw = bytearray(pack.read_bytes())
    raw[ref.offset] ^= 0xFF
    pack.write_bytes(bytes(raw))
    fresh = PipesFileSystem(store=str(tmp_path / "store"), skip_instance_cache=True)
    with pytest.raises(CorruptObject):
        fresh.cat("r@master/x.txt")
    fresh.close()


def test_every_ref_form_reads(fs: PipesFileSystem) -> None:
    for i in range(3):
        fs.pipe("r@master/v.txt", f"v{i}".encode())
    c2, c1, c0 = heads(fs)
    expect = {
        "r": b"v2",
        "r@master": b"v2",
        f"r@{c1}": b"v1",
        f"r@{c0[:8]}": b"v0",
        "r@master^": b"v1",
        "r@master^2": b"v0",
        "r@master~1": b"v1",
        f"r@{c2}~2": b"v0",
    }
    for ref, content in expect.items():
        assert fs.cat(f"pipes://{ref}/v.txt") == content, ref
        assert fs.info(f"{ref}/v.txt")["name"] == f"{ref}/v.txt"


def test_a_reader_stays_on_its_commit(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/v.txt", b"old contents")
    with fs.open("r@master/v.txt", cache_type="none") as f:
        fs.pipe("r@master/v.txt", b"NEW CONTENTS")  # the branch moves while the file is open
        assert f.read() == b"old contents"


# -- listing, info, hashes --------------------------------------------------------------------


def test_ls_info_and_find(fs: PipesFileSystem) -> None:
    with fs.transaction:
        fs.pipe("r@master/a.csv", b"1,2\n")
        fs.pipe("r@master/d/b.csv", b"3,4\n")
        fs.pipe("r@master/d/e/c.csv", b"5,6\n")
    head = heads(fs)[0]
    fs.client.create_branch("r@empty")
    entries = fs.ls("r@master", detail=True)
    assert [(e["name"], e["type"]) for e in entries] == [
        ("r@master/a.csv", "file"),
        ("r@master/d", "directory"),
    ]
    a = entries[0]
    assert a["size"] == 4 and a["commit"] == head
    assert a["hash"] == fs.client.inspect_file("r@master", "/a.csv").hash
    assert fs.ls("r@master/d", detail=False) == ["r@master/d/b.csv", "r@master/d/e"]
    assert fs.ls("r@master/a.csv", detail=False) == ["r@master/a.csv"]
    assert sorted(fs.ls("", detail=False)) == ["r@empty", "r@master"]
    assert fs.ls("r@empty") == [] and fs.isdir("r@empty") and fs.find("r@empty") == []
    assert fs.info("r@master")["type"] == "directory" and fs.info("r@master")["size"] == 12
    assert fs.info("r@master/d")["size"] == 8
    assert fs.find("r@master/d") == ["r@master/d/b.csv", "r@master/d/e/c.csv"]
    assert fs.find("r@master", withdirs=True) == [
        "r@master",
        "r@master/a.csv",
        "r@master/d",
        "r@master/d/b.csv",
        "r@master/d/e",
        "r@master/d/e/c.csv",
    ]
    assert fs.find("r@master", maxdepth=1) == ["r@master/a.csv"]
    assert fs.find("r@master/a.csv") == ["r@master/a.csv"]
    assert fs.find("r@master/nothing") == []
    assert fs.du("r@master") == 12


def test_glob_is_fsspecs_not_pachyderms(fs: PipesFileSystem) -> None:
    with fs.transaction:
        for p in ("a.csv", "d/b.csv", "d/e/c.csv"):
            fs.pipe(f"r@master/{p}", b"x")
    # fsspec: '*' stays in one directory, '**' is a whole component; no trailing '/'
    assert fs.glob("pipes://r@master/*.csv") == ["r@master/a.csv"]
    assert fs.glob("r@master/*") == ["r@master/a.csv", "r@master/d"]
    assert fs.glob("r@master/**/*.csv") == [
        "r@master/a.csv",
        "r@master/d/b.csv",
        "r@master/d/e/c.csv",
    ]
    assert fs.glob("*@master/d/*.csv") == ["r@master/d/b.csv"]
    # Pachyderm (the Client, pipeline inputs): directories end in '/', '**' crosses '/'
    assert [i.path for i in fs.client.glob_file("r@master", "/*")] == ["/a.csv", "/d/"]
    assert len(list(fs.client.glob_file("r@master", "/**.csv"))) == 3


def test_checksum_and_ukey_follow_the_content_hash(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/a", b"same bytes")
    fs.pipe("r@master/b", b"same bytes")
    fs.pipe("r@master/c", b"other bytes")
    h = fs.client.inspect_file("r@master", "/a").hash
    assert fs.checksum("r@master/a") == int(h, 16) == fs.checksum("r@master/b")
    assert fs.ukey("r@master/a") == h == fs.ukey("r@master^/a")
    assert fs.checksum("r@master/c") != fs.checksum("r@master/a")
    fs.pipe("r@master/a", b"changed")
    assert fs.ukey("r@master/a") != h


# -- errors -----------------------------------------------------------------------------------


def test_missing_paths_are_file_not_found(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/a", b"1")
    cases = [
        lambda: fs.open("r@master/nope"),
        lambda: fs.info("r@master/nope"),
        lambda: fs.ls("r@master/nope"),
        lambda: fs.cat("r@master/nope"),
        lambda: fs.rm("r@master/nope"),
        lambda: fs.info("ghost@master/a"),
        lambda: fs.ls("r@nobranch"),
        lambda: fs.cat("r@0123abcd/a"),
        lambda: fs.cat("r@master~5/a"),
        lambda: fs.open("r@empty/a"),
    ]
    for case in cases:
        with pytest.raises(FileNotFoundError) as err:
            case()
        assert isinstance(err.value, NotFound)
    with pytest.raises(PathNotFound, match=r"pipes://r@master/nope"):
        fs.open("r@master/nope")
    assert not fs.exists("r@master/nope") and fs.exists("r@master/a")


def test_directories_are_not_files(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/d/x", b"1")
    for case in (
        lambda: fs.open("r@master/d"),
        lambda: fs.open("r@master"),
        lambda: fs.cat_file("r@master/d"),
        lambda: fs.rm("r@master/d"),
        lambda: fs.open("r@master", "wb"),
    ):
        with pytest.raises(IsADirectoryError) as err:
            case()
        assert isinstance(err.value, IsADirectory)


# -- writing ----------------------------------------------------------------------------------


def test_a_written_file_is_one_commit(fs: PipesFileSystem) -> None:
    with fs.open("pipes://r@master/w.txt", "w") as f:
        for i in range(1000):
            f.write(f"line {i}\n")
    (only,) = fs.client.list_commit("r@master")
    assert fs.last_commit is not None and fs.last_commit.id == only.id
    assert "/w.txt" in only.message
    assert fs.cat("r@master/w.txt").count(b"\n") == 1000
    with fs.open("r@master/w.txt", "ab", message="more lines") as f:
        f.write(b"tail\n")
    assert fs.client.inspect_commit("r@master").message == "more lines"
    assert fs.cat("r@master/w.txt").endswith(b"line 999\ntail\n")


def test_a_failed_write_commits_nothing(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/keep", b"1")
    before = heads(fs)
    with pytest.raises(RuntimeError), fs.open("r@master/half.csv", "wb") as f:
        f.write(b"a,b\n" * 1000)
        raise RuntimeError("the writer died")
    assert heads(fs) == before and not fs.exists("r@master/half.csv")


def test_writes_to_commits_are_refused(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/a", b"1")
    fs.pipe("r@master/a", b"2")
    cid = heads(fs)[0]
    before = heads(fs)
    for target in (f"r@{cid}", f"r@{cid[:8]}", "r@master^", "r@master~1", f"r@{'ab' * 16}"):
        for write in (
            lambda t=target: fs.pipe(f"{t}/a", b"x"),
            lambda t=target: fs.open(f"{t}/a", "wb"),
            lambda t=target: fs.rm(f"{t}/a"),
            lambda t=target: fs.cp("r@master/a", f"{t}/b"),
        ):
            with pytest.raises(PermissionError) as err:
                write()
            assert isinstance(err.value, ReadOnlyRef) and "immutable" in str(err.value)
    assert heads(fs) == before
    assert fs.client.list_branch("r")[0].name == "master" and len(fs.client.list_branch("r")) == 1
    with pytest.raises(InvalidArgument):
        fs.pipe("pipes://", b"x")
    with pytest.raises(FileNotFoundError):
        fs.pipe("ghost@master/a", b"x")
    with pytest.raises(FileExistsError) as exists:
        fs.open("r@master/a", "xb")
    assert isinstance(exists.value, PathExists)
    with pytest.raises(FileExistsError):
        fs.pipe_file("r@master/a", b"x", mode="create")


def test_a_new_branch_is_created_by_its_first_write(fs: PipesFileSystem) -> None:
    fs.pipe("r@dev/a", b"1")
    assert fs.client.inspect_branch("r@dev").head == heads(fs, "r@dev")[0]
    assert not fs.exists("r@master/a")


def test_rm_and_mv_are_one_commit_each(fs: PipesFileSystem) -> None:
    with fs.transaction:
        for p in ("a", "b", "c", "d/x", "d/y", "e/z"):
            fs.pipe(f"r@master/{p}", p.encode())
    n = len(heads(fs))
    fs.rm(["r@master/a", "r@master/b", "r@master/c"])
    assert len(heads(fs)) == n + 1 and fs.find("r@master") == [
        "r@master/d/x",
        "r@master/d/y",
        "r@master/e/z",
    ]
    fs.rm("r@master/d", recursive=True)
    assert len(heads(fs)) == n + 2 and not fs.exists("r@master/d")
    fs.mv("r@master/e", "r@master/f", recursive=True)
    assert len(heads(fs)) == n + 3 and fs.find("r@master") == ["r@master/f/z"]
    assert "move" in fs.client.inspect_commit("r@master").message
    fs.rm_file("r@master/f/z")  # the last file: its directory goes with it
    assert fs.ls("r@master") == [] and not fs.exists("r@master/f")


def test_copy_reuses_stored_bytes(fs: PipesFileSystem) -> None:
    data = random.Random(4).randbytes(1 << 20)
    fs.pipe("r@master/src.bin", data)
    fs.cp("r@master/src.bin", "r@dev/copy.bin")
    a = fs.client.store.entry(parse_ref("r@master"), "/src.bin")
    b = fs.client.store.entry(parse_ref("r@dev"), "/copy.bin")
    assert a.refs == b.refs and fs.cat("r@dev/copy.bin") == data


def test_no_empty_directories_but_mkdir_makes_a_repo(fs: PipesFileSystem) -> None:
    fs.mkdir("pipes://fresh")
    assert "fresh" in [r.name for r in fs.client.list_repo()]
    fs.mkdir("fresh@master/empty/dir")
    fs.makedirs("fresh@master/other", exist_ok=True)
    assert not fs.exists("fresh@master/empty/dir") and fs.ls("fresh@master") == []
    fs.pipe("fresh@master/empty/dir/f", b"1")
    assert fs.isdir("fresh@master/empty/dir")
    with pytest.raises(FileExistsError):
        fs.makedirs("fresh@master/empty")
    with pytest.raises(FileExistsError):
        fs.mkdir("fresh@master/empty/dir/f")


# -- transactions -----------------------------------------------------------------------------


def test_a_transaction_is_one_commit(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/old.txt", b"old")
    fs.pipe("r@master/keep.txt", b"keep")
    before = heads(fs)
    with fs.transaction as t:
        t.message = "one batch"
        with fs.open("r@master/a.txt", "wb") as f:
            f.write(b"A")
        fs.pipe("r@master/dir/b.txt", b"B")
        fs.rm("r@master/old.txt")
        fs.cp("r@master/keep.txt", "r@master/copy.txt")
        fs.put_file(__file__, "r@master/src/test_fs.py")
        assert not fs.exists("r@master/a.txt")  # not visible until the commit
        assert fs.exists("r@master/old.txt")
    after = heads(fs)
    assert after[1:] == before and len(after) == len(before) + 1
    commit = fs.client.inspect_commit("r@master")
    assert commit.message == "one batch" and t.commit_info is not None
    assert t.commit_info.id == commit.id == fs.last_commit.id  # type: ignore[union-attr]
    assert fs.find("r@master") == [
        "r@master/a.txt",
        "r@master/copy.txt",
        "r@master/dir/b.txt",
        "r@master/keep.txt",
        "r@master/src/test_fs.py",
    ]
    assert fs.cat("r@master/src/test_fs.py") == Path(__file__).read_bytes()
    assert not fs._intrans


def test_a_failed_transaction_commits_nothing(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/a", b"1")
    before = heads(fs)
    with pytest.raises(RuntimeError), fs.transaction:
        fs.pipe("r@master/b", b"2")
        fs.rm("r@master/a")
        raise RuntimeError("stop")
    assert heads(fs) == before and fs.find("r@master") == ["r@master/a"]
    assert not fs._intrans
    fs.pipe("r@master/c", b"3")  # the next write is its own commit again
    assert len(heads(fs)) == len(before) + 1


def test_a_transaction_writes_one_branch(fs: PipesFileSystem) -> None:
    fs.pipe("r@master/a", b"1")
    before = heads(fs)
    with pytest.raises(InvalidArgument, match="one commit"), fs.transaction:
        fs.pipe("r@master/b", b"2")
        fs.pipe("r@other/c", b"3")
    assert heads(fs) == before and not fs.exists("r@other")


# -- settings ---------------------------------------------------------------------------------


def test_store_from_settings_and_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for where, text in ((one, b"from one"), (two, b"from two")):
        with Client(str(where)) as c:
            c.create_repo("r")
            c.put_file("r@master", "/x", text)
    monkeypatch.setenv("JUPYTER_PIPES_STORE", str(one))
    with fsspec.open("pipes://r@master/x") as f:
        assert f.read() == b"from one"
    monkeypatch.setenv("JUPYTER_PIPES_STORE", str(two))
    with fsspec.open("pipes://r@master/x") as f:  # not the cached filesystem of store one
        assert f.read() == b"from two"
    with fsspec.open("pipes://r@master/x", store=str(one)) as f:
        assert f.read() == b"from one"
    monkeypatch.delenv("JUPYTER_PIPES_STORE")
    monkeypatch.chdir(two.parent)
    os.rename(two, tmp_path / ".pipes")
    fs = fsspec.filesystem("pipes")
    assert fs.client.store_url == str(tmp_path / ".pipes")
    assert fs.cat("r/x") == b"from two"
    PipesFileSystem.clear_instance_cache()


def test_a_pickled_filesystem_opens_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fs = PipesFileSystem(store="rel/store", skip_instance_cache=True)
    fs.mkdir("r")
    fs.pipe("r@master/x", b"1")
    monkeypatch.chdir("/")
    monkeypatch.setenv("JUPYTER_PIPES_STORE", str(tmp_path / "elsewhere"))
    copy = pickle.loads(pickle.dumps(fs))
    assert copy.client.store_url == str(tmp_path / "rel" / "store")
    assert copy.cat("r@master/x") == b"1"
    copy.close()
    fs.close()
