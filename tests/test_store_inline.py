"""Small files kept inline in their directory node (#17's compact store, store revision 0006).

A file of at most ``objects.INLINE_MAX`` bytes has no blob in a pack and no chunk-index row:
its bytes are a ``[name, bytes]`` row of its directory node. These tests check that such files
cost about their bytes, and that every part of the store that follows refs (reads, appends,
copies, gc, fsck, rebuild, the stat cache, datum tokens) handles them. See
docs/storage-format.md ("Inline small files") and docs/compact-store.md.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import sqlalchemy as sa

from jupyter_pipes import Client
from jupyter_pipes.store import statcache
from jupyter_pipes.store.datum_io import _entry, token
from jupyter_pipes.store.metadata import chunks
from jupyter_pipes.store.objects import INLINE_MAX
from jupyter_pipes.store.refs import parse_ref

from .test_store_rebuild import lose, manifest, rebuild_cli


def _index_rows(c: Client) -> int:
    with c._store.meta.read() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(chunks)) or 0)


def _pack_bytes(store: Path) -> int:
    return sum(p.stat().st_size for p in (store / "packs").iterdir())


def _small_folder(root: Path, n: int, seed: int = 5) -> dict[str, bytes]:
    rnd = random.Random(seed)
    files = {}
    for i in range(n):
        data = rnd.randbytes(rnd.randint(40, 160))
        p = root / f"d{i % 20:02}" / f"f{i:05}.bin"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        files[f"/{p.relative_to(root).as_posix()}"] = data
    return files


def test_small_files_cost_their_bytes_not_a_blob_and_an_index_row_each(tmp_path: Path) -> None:
    files = _small_folder(tmp_path / "data", 2000)
    content = sum(map(len, files.values()))
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/", str(tmp_path / "data"))
        # one index row per directory node (the root, 20 folders), none per file
        assert _index_rows(c) <= 30
        # each file's bytes, its name and a few bytes of framing (was about 1.55x + the index)
        assert _pack_bytes(tmp_path / "s") < 1.25 * content
        for path in random.Random(1).sample(sorted(files), 50):
            assert c.get_file("r@master", path) == files[path]
        report = c.fsck(verify_data=True)
        assert report.ok, report.problems
        assert report.files == 2000


def test_the_inline_limit_is_inclusive_and_bigger_files_go_to_packs(tmp_path: Path) -> None:
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/at", b"a" * INLINE_MAX)
        c.put_file("r@master", "/empty", b"")
        inline = c._store.entry(parse_ref("r@master"), "/at").refs
        assert [r.in_pack for r in inline] == [False]
        assert not c._store.entry(parse_ref("r@master"), "/empty").refs[0].in_pack
        rows = _index_rows(c)
        c.put_file("r@master", "/past", b"p" * (INLINE_MAX + 1))
        past = c._store.entry(parse_ref("r@master"), "/past").refs
        assert [r.in_pack for r in past] == [True]
        assert _index_rows(c) == rows + 2  # the file's blob and the new root node
        assert c.get_file("r@master", "/at") == b"a" * INLINE_MAX
        assert c.get_file("r@master", "/empty") == b""
        assert c.get_file("r@master", "/past") == b"p" * (INLINE_MAX + 1)


def test_appends_keep_a_small_file_inline_and_move_a_grown_one_to_a_pack(tmp_path: Path) -> None:
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/log", b"one\n")
        c.put_file("r@master", "/log", b"two\n", append=True)
        e = c._store.entry(parse_ref("r@master"), "/log")
        assert c.get_file("r@master", "/log") == b"one\ntwo\n" and not e.refs[0].in_pack
        c.put_file("r@master", "/log", b"x" * 300, append=True)
        e = c._store.entry(parse_ref("r@master"), "/log")
        assert c.get_file("r@master", "/log") == b"one\ntwo\n" + b"x" * 300
        assert [r.in_pack for r in e.refs] == [True]
        # the same content put whole has the same hash however it was written
        c.put_file("r@master", "/whole", b"one\ntwo\n" + b"x" * 300)
        assert c._store.entry(parse_ref("r@master"), "/whole").hash == e.hash


def test_inline_files_survive_copy_gc_and_a_metadata_rebuild(tmp_path: Path) -> None:
    store = tmp_path / "s"
    with Client(str(store)) as c:
        c.create_repo("r")
        c.put_file("r@master", "/keep/a.txt", b"kept")
        c.put_file("r@master", "/gone/b.txt", b"x" * 5000)
        c.copy_file("r@master:/keep/a.txt", "r@master", "/copy/a.txt")
        c.delete_file("r@master", "/gone")
        c.gc(grace_seconds=0)  # (refused if it took an inline ref for a missing pack)
        assert c.get_file("r@master", "/copy/a.txt") == b"kept"
        assert c.fsck(verify_data=True).ok
        before = manifest(c)
    lose(store / "metadata.sqlite")
    res = rebuild_cli(store)
    assert res.exit_code == 0, res.output
    with Client(str(store)) as c:
        assert manifest(c) == before
        assert c.get_file("r@master", "/keep/a.txt") == b"kept"
        assert c.fsck(verify_data=True).ok


def test_a_damaged_inline_file_is_caught_by_its_node_hash(tmp_path: Path) -> None:
    """An inline file has no hash of its own on disk: the node's hash covers its bytes."""
    from jupyter_pipes import CorruptObject

    store = tmp_path / "s"
    with Client(str(store)) as c:
        c.create_repo("r")
        c.put_file("r@master", "/f.txt", b"secret-inline-bytes")
    (pack,) = (store / "packs").iterdir()
    raw = pack.read_bytes()
    assert raw.count(b"secret-inline-bytes") == 1
    pack.write_bytes(raw.replace(b"secret-inline-bytes", b"secret-inline-BYTES"))
    with Client(str(store)) as c:
        with pytest.raises(CorruptObject):
            c.get_file("r@master", "/f.txt")
        assert not c.fsck().ok


def test_the_stat_cache_records_inline_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statcache, "RACY_SECONDS", 0.0)
    monkeypatch.delenv(statcache.ENV, raising=False)
    files = _small_folder(tmp_path / "data", 200)
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/d/", str(tmp_path / "data"))
        # to another path: the cache's refs are used as they are (the bytes are in them)
        c.put_file("r@master", "/e/", str(tmp_path / "data"))
        for path, data in list(files.items())[:40]:
            assert c.get_file("r@master", "/e" + path) == data
        d = c._store.entry(parse_ref("r@master"), "/d")
        e = c._store.entry(parse_ref("r@master"), "/e")
        assert d.hash == e.hash
        cache = c._store.stat_cache
        assert cache is not None
        local = str(tmp_path / "data" / "d00" / "f00000.bin")
        (_, text) = cache.get_many([local])[local]
        (ref,) = statcache.parse_refs(text)
        assert ref.data == files["/d00/f00000.bin"] and not ref.in_pack
        assert statcache.content_hash(text) == ref.hash


def test_a_datum_token_carries_an_inline_file_through_json(tmp_path: Path) -> None:
    with Client(str(tmp_path / "s")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/small.csv", b"a,b\n1,2\n")
        e = c._store.entry(parse_ref("r@master"), "/small.csv")
        back = _entry(json.loads(json.dumps(token(e))))
        assert back == e.renamed(back.name)
        assert c._store.reader.read(back.refs[0]) == b"a,b\n1,2\n"


def test_bytes_that_do_not_match_an_inline_tokens_hash_are_refused() -> None:
    from jupyter_pipes import CorruptObject
    from jupyter_pipes.store.objects import BlobReader, BlobRef, inline_ref

    ref = inline_ref(b"good")
    bad = BlobRef.from_list([ref.hash, "", 0, 4, "YmFkIQ=="])  # base64 of b"bad!"
    reader = BlobReader(None)  # type: ignore[arg-type]  # (inline reads touch no backend)
    assert reader.read(ref) == b"good"
    with pytest.raises(CorruptObject, match="inline"):
        reader.read(bad)


def test_an_empty_blob_alone_reads_back_after_the_flush(tmp_path: Path) -> None:
    """A worker's blob sink given only an empty log (a datum that printed and wrote nothing):
    before, its ref named a pack that was never written (nothing else went into it), and
    reading the log failed with "object packs/... is missing"."""
    from jupyter_pipes.store.backend import Backend
    from jupyter_pipes.store.datum_io import BlobSink, read_blob
    from jupyter_pipes.store.objects import PackWriter

    with Client(str(tmp_path / "s")) as c:
        backend = Backend(str(tmp_path / "s"))
        with BlobSink(PackWriter(backend, lambda hashes: {})) as sink:
            tok = sink.add(b"")
        assert read_blob(c._store, json.loads(json.dumps(tok))) == b""
        assert c.fsck().ok
