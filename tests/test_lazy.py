"""Lazy inputs (#13): named pipes fed on open, unopened ones cost nothing and never hang."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import BinaryIO

from jupyter_pipes.pipeline.lazy import Pipes


def test_named_pipes_are_fed_when_opened_and_only_then(tmp_path: Path) -> None:
    fed: list[str] = []

    def feeder(name: str, data: bytes):  # type: ignore[no-untyped-def]
        def feed(w: BinaryIO) -> None:
            fed.append(name)
            w.write(data)

        return feed

    started = time.monotonic()
    with Pipes() as pipes:
        pipes.add(str(tmp_path / "in" / "a.txt"), feeder("a", b"alpha\n" * 10_000))
        pipes.add(str(tmp_path / "in" / "b.txt"), feeder("b", b"beta\n"))
        assert (tmp_path / "in" / "a.txt").is_fifo()
        out = subprocess.run(["wc", "-l", str(tmp_path / "in" / "a.txt")], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
        assert out.split()[0] == "10000"  # (a pipe is read once: a second open would wait)
    assert fed == ["a"]  # b was never opened: never read from the store
    assert time.monotonic() - started < 30
