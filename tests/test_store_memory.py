"""Memory stays within a fixed budget however big the file and however slow the object store
(#19): a writer holds at most ``MAX_PENDING_UPLOADS`` sealed packs plus the one it fills."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from jupyter_pipes.store.backend import Backend
from jupyter_pipes.store.local import ingest_source
from jupyter_pipes.store.objects import MAX_PENDING_UPLOADS, PackWriter

BUDGET_MIB = 256
"""Peak RSS of a whole `jupyter pipes put` or `get` process (about 60 MiB of it is the
interpreter and imports; a writer adds at most 3 packs of 32 MiB and 16 MiB of chunks)."""


class SlowBackend(Backend):
    """A local backend whose writes take ``delay`` seconds each (an object store far away:
    slowness cannot be caused for real on demand, so it is injected here)."""

    def __init__(self, url: str, delay: float) -> None:
        super().__init__(url)
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        with self._lock:
            self.in_flight += 1
        time.sleep(self.delay)
        super().put(key, data)
        with self._lock:
            self.in_flight -= 1


def test_a_slow_object_store_slows_the_writer_instead_of_filling_memory(tmp_path: Path) -> None:
    pack = 1 << 20
    backend = SlowBackend(str(tmp_path / "store"), delay=0.05)
    writer = PackWriter(backend, lambda hashes: {}, pack_target=pack)
    data = os.urandom(40 * pack)  # 40 packs, produced far faster than they are written
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        ingest_source(writer, data)
        writer.flush()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
        writer.close()
    print(f"40 packs of 1 MiB through a slow store: peak {peak / pack:.1f} MiB held")
    assert len(writer.new_packs) >= 30
    # the pack being filled + MAX_PENDING_UPLOADS waiting + one being written, and the
    # chunks of one batch; without backpressure it was about every pack (40 MiB)
    assert peak < (MAX_PENDING_UPLOADS + 6) * pack


def _run(args: list[str], stdin: int | None = None) -> tuple[int, float]:
    """(exit status, peak RSS in MiB) of a child process."""
    proc = subprocess.Popen(args, stdin=stdin, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # the child's own rusage (not the generator's)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024


@pytest.mark.slow
def test_put_and_get_2_gib_from_stdin_within_the_memory_budget(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).with_name("jupyter-pipes"))
    store = tmp_path / "store"
    base = [exe, "--store", str(store)]
    subprocess.run([*base, "create", "repo", "d"], check=True, capture_output=True)
    size = 2 << 30
    gen = subprocess.Popen(["head", "-c", str(size), "/dev/urandom"], stdout=subprocess.PIPE)
    assert gen.stdout is not None
    t = time.monotonic()
    status, put_rss = _run([*base, "put", "file", "d@master:/big.bin", "-f", "-"], gen.stdout)
    gen.stdout.close()
    gen.wait()
    put_s = time.monotonic() - t
    assert status == 0
    out = tmp_path / "big.out"
    status, get_rss = _run([*base, "get", "file", "d@master:/big.bin", "-o", str(out)])
    assert status == 0 and out.stat().st_size == size
    out.unlink()
    print(
        f"2 GiB from stdin: put peak RSS {put_rss:.0f} MiB ({put_s:.0f} s), "
        f"get peak RSS {get_rss:.0f} MiB; budget {BUDGET_MIB} MiB"
    )
    assert put_rss < BUDGET_MIB and get_rss < BUDGET_MIB
