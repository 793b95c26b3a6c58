"""Ingest overlaps its stages (#17): large files are cut and hashed on threads of their own,
several files at once, while the pack writer thread writes; an error stops those threads."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from jupyter_pipes import Client
from jupyter_pipes.errors import InvalidArgument


def _cutters() -> int:
    return sum(t.name.startswith("pipes-cut") for t in threading.enumerate())


def test_large_files_of_a_folder_are_cut_on_threads_and_stored_whole(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    files = {f"big{i}.bin": os.urandom((6 << 20) + i) for i in range(4)}
    files["small.txt"] = b"small"
    files["sub/mid.bin"] = os.urandom(200_000)
    for name, data in files.items():
        (src / name).write_bytes(data)
    most = 0
    putting = threading.Event()

    def progress(_n: int) -> None:
        nonlocal most
        most = max(most, _cutters())

    def watch() -> None:  # a cutter may finish between two progress calls: also poll
        nonlocal most
        while putting.is_set():
            most = max(most, _cutters())
            time.sleep(0.0002)

    with Client(str(tmp_path / "store")) as c:
        c.create_repo("d")
        putting.set()
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            c.put_file("d@master", "/", str(src), progress=progress)
        finally:
            putting.clear()
            watcher.join()
        for name, data in files.items():
            assert c.get_file("d@master", "/" + name) == data
        # one stream (a stream has no size: always cut on a thread) and bytes
        big = os.urandom(5 << 20)
        with open(tmp_path / "stream.bin", "wb") as f:
            f.write(big)
        with open(tmp_path / "stream.bin", "rb") as f:
            c.put_file("d@master", "/stream.bin", f)
        c.put_file("d@master", "/bytes.bin", big[::-1])
        assert c.get_file("d@master", "/stream.bin") == big
        assert c.get_file("d@master", "/bytes.bin") == big[::-1]
        assert c.fsck().ok
    assert most >= 2  # two large files were being cut at once
    assert _cutters() == 0


def test_an_error_mid_folder_stops_the_cutting_threads(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i in range(3):
        (src / f"big{i}.bin").write_bytes(os.urandom(6 << 20))
    (src / "zz-link").symlink_to(src / "big0.bin")  # refused, after the large files
    with Client(str(tmp_path / "store")) as c:
        c.create_repo("d")
        with pytest.raises(InvalidArgument, match="symlink"):
            c.put_file("d@master", "/", str(src))
    assert _cutters() == 0
