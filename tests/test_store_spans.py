"""Large files are stored from spans of the open file, copied in the kernel (#17, large put).

A local pack writer copies a large file's chunks with ``copy_file_range`` instead of writing
them from views of the file's memory map (which made a put's write calls bimodal: see
``backend.FileSpan`` and benchmarks/RESULTS.md). These tests check that the stored bytes and
hashes are the same either way, that a source the kernel cannot copy from is read and written
instead, and that a file truncated while it is stored fails the write rather than storing
what the chunker did not hash.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_pipes import Client, StorageError
from jupyter_pipes.store.backend import Backend, FileSpan
from jupyter_pipes.store.objects import hash_bytes, iter_chunks, iter_spans
from jupyter_pipes.store.refs import parse_ref


@pytest.mark.parametrize("size", [0, 100, 64 << 10, (64 << 10) + 1, 3 << 20, 9 << 20])
def test_spans_are_the_chunks_of_the_file(tmp_path: Path, size: int) -> None:
    p = tmp_path / "f"
    p.write_bytes(os.urandom(size))
    spans = list(iter_spans(p))
    assert [bytes(s.view) for s in spans] == [bytes(c) for c in iter_chunks(str(p))]
    assert [s.offset for s in spans] == [sum(len(s) for s in spans[:i]) for i in range(len(spans))]


def _write(backend: Backend, key: str, parts: list[FileSpan]) -> bytes:
    out = backend.open_object(key)
    out.write(parts)
    out.close()
    assert out.size == sum(len(p) for p in parts)
    return backend.get(key)


def test_a_local_writer_copies_spans_and_bytes_in_order(tmp_path: Path) -> None:
    data = os.urandom(5 << 20)
    (tmp_path / "src").write_bytes(data)
    spans = list(iter_spans(tmp_path / "src"))
    assert len(spans) > 4
    backend = Backend(str(tmp_path / "store"))
    # runs of spans that follow each other, bytes between them, and spans out of order
    parts: list = [spans[0], spans[1], b"--", spans[3], spans[2], *spans[4:]]
    want = b"".join(bytes(p.view) if isinstance(p, FileSpan) else p for p in parts)
    assert _write(backend, "packs/a", parts) == want
    assert want.replace(b"--", b"", 1) != data  # (the order really was changed)


def test_a_source_the_kernel_cannot_copy_from_is_read_and_written(tmp_path: Path) -> None:
    """tmpfs to another file system: copy_file_range refuses (EXDEV) on this kernel, or copies;
    either way the pack holds the file's bytes."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    src = shm / f"pipes-span-test-{os.getpid()}"
    try:
        data = os.urandom(6 << 20)
        src.write_bytes(data)
        with Client(str(tmp_path / "store")) as c:
            c.create_repo("r")
            c.put_file("r@master", "/big.bin", str(src))
            assert c.get_file("r@master", "/big.bin") == data
            entry = c._store.entry(parse_ref("r@master"), "/big.bin")
            assert [r.hash for r in entry.refs] == [hash_bytes(x) for x in iter_chunks(data)]
            assert c.fsck(verify_data=True).ok
    finally:
        src.unlink(missing_ok=True)


def test_a_file_truncated_while_it_is_stored_fails_and_leaves_no_object(tmp_path: Path) -> None:
    p = tmp_path / "src"
    p.write_bytes(os.urandom(3 << 20))
    spans = list(iter_spans(p))
    tail = [s for s in spans if s.offset >= 1 << 20]
    assert tail
    os.truncate(p, 1 << 20)  # (the chunker already hashed what was there)
    backend = Backend(str(tmp_path / "store"))
    out = backend.open_object("packs/b")
    with pytest.raises(StorageError, match="truncated"):
        out.write(tail)
    assert not (tmp_path / "store" / "packs" / "b").exists()
    assert not list((tmp_path / "store" / "packs").glob(".tmp-*"))


def test_a_large_put_stores_the_same_blobs_from_a_path_and_from_bytes(tmp_path: Path) -> None:
    data = os.urandom(9 << 20)  # over 4 MiB: cut on a thread of its own, stored from spans
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "big.bin").write_bytes(data)
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("r")
        c.put_file("r@master", "/folder/", str(tmp_path / "d"))  # (written from spans)
        c.put_file("r@master", "/from-path.bin", str(tmp_path / "d" / "big.bin"))
        c.put_file("r@master", "/from-bytes.bin", data)
        ref = parse_ref("r@master")
        a, b, d = (
            c._store.entry(ref, p) for p in ("/from-bytes.bin", "/from-path.bin", "/folder/big.bin")
        )
        assert a.hash == b.hash == d.hash and a.refs == b.refs == d.refs  # (deduplicated)
        assert c.get_file("r@master", "/folder/big.bin") == data
        assert c.fsck(verify_data=True).ok


def test_every_kind_of_store_takes_a_large_file_by_path(client: Client, tmp_path: Path) -> None:
    """Object stores (memory://, S3) gather a span's bytes from its view; local ones copy it."""
    data = os.urandom(6 << 20)
    (tmp_path / "big.bin").write_bytes(data)
    client.create_repo("r")
    client.put_file("r@master", "/big.bin", str(tmp_path / "big.bin"))
    assert client.get_file("r@master", "/big.bin") == data
    assert client.fsck(verify_data=True).ok
