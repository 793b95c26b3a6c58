"""Memory stays within a fixed budget however big the file and however slow the object store
(#19): a writer holds at most ``MAX_PENDING_BYTES`` of blobs waiting for its writer thread."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest

from jupyter_pipes.store.backend import Backend, ObjectWriter
from jupyter_pipes.store.local import ingest_source
from jupyter_pipes.store.objects import PackWriter

BUDGET_MIB = 256
"""Peak RSS of a whole `jupyter pipes put` or `get` process (about 60 MiB of it is the
interpreter and imports; a writer adds at most 32 MiB of blobs waiting to be written, one pack
gathered for a remote store, and 16 MiB of chunks)."""


class SlowWriter(ObjectWriter):
    """Writes through a real local object, each piece ``delay`` seconds late."""

    def __init__(self, inner: ObjectWriter, delay: float) -> None:
        super().__init__(inner.backend, inner.key)
        self.inner, self.delay = inner, delay

    def write(self, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        time.sleep(self.delay)
        self.inner.write(parts)

    def close(self) -> None:
        self.inner.close()

    def abort(self) -> None:
        self.inner.abort()


class SlowBackend(Backend):
    """A local backend whose writes are slow (an object store far away: slowness cannot be
    caused for real on demand, so it is injected here)."""

    def __init__(self, url: str, delay: float) -> None:
        super().__init__(url)
        self.delay = delay

    def open_object(self, key: str) -> ObjectWriter:
        return SlowWriter(super().open_object(key), self.delay)


def test_a_slow_object_store_slows_the_writer_instead_of_filling_memory(tmp_path: Path) -> None:
    mib = 1 << 20
    backend = SlowBackend(str(tmp_path / "store"), delay=0.02)
    writer = PackWriter(backend, lambda hashes: {}, pack_target=mib, max_pending=4 * mib)
    # a stream (its chunks are copies, held until written): 160 MiB, produced far faster
    # than they are written
    data = io.BytesIO(os.urandom(160 * mib))
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
    print(f"160 MiB through a slow store: peak {peak / mib:.1f} MiB held")
    assert len(writer.new_packs) >= 120
    # max_pending waiting + three batches of chunks of about 8 MiB (being cut, waiting, being
    # stored) + up to 8 MiB gathered for the writer thread + the open pack and the chunker's
    # buffer (41 MiB measured); without backpressure it is about every chunk (148 MiB)
    assert peak < 4 * mib + 3 * 8 * mib + 8 * mib + 12 * mib


# The CLI, reporting its own peak RSS at exit: the high-water mark of its address space
# (VmHWM). rusage's ru_maxrss would include the pytest process it was forked from, which the
# kernel carries across exec.
CLI = """
import atexit, sys
path = sys.argv.pop(1)
def report():
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    open(path, "w").write(hwm.split()[1])
atexit.register(report)
sys.argv[0] = "jupyter-pipes"
from jupyter_pipes.cli import main
main()
"""


def _run(args: list[str], report: Path, stdin: int | None = None) -> tuple[int, float]:
    """(exit status, peak RSS in MiB) of ``jupyter pipes ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-c", CLI, str(report), *args], stdin=stdin, stdout=subprocess.DEVNULL
    )
    return proc.returncode, int(report.read_text()) / 1024


@pytest.mark.slow
def test_put_and_get_2_gib_from_stdin_within_the_memory_budget(tmp_path: Path) -> None:
    store = tmp_path / "store"
    base = ["--store", str(store)]
    status, _ = _run([*base, "create", "repo", "d"], tmp_path / "rss")
    assert status == 0
    size = 2 << 30
    gen = subprocess.Popen(["head", "-c", str(size), "/dev/urandom"], stdout=subprocess.PIPE)
    assert gen.stdout is not None
    t = time.monotonic()
    status, put_rss = _run(
        [*base, "put", "file", "d@master:/big.bin", "-f", "-"], tmp_path / "rss", gen.stdout
    )
    gen.stdout.close()
    gen.wait()
    put_s = time.monotonic() - t
    assert status == 0
    out = tmp_path / "big.out"
    status, get_rss = _run(
        [*base, "get", "file", "d@master:/big.bin", "-o", str(out)], tmp_path / "rss"
    )
    assert status == 0 and out.stat().st_size == size
    out.unlink()
    print(
        f"2 GiB from stdin: put peak RSS {put_rss:.0f} MiB ({put_s:.0f} s), "
        f"get peak RSS {get_rss:.0f} MiB; budget {BUDGET_MIB} MiB"
    )
    assert put_rss < BUDGET_MIB and get_rss < BUDGET_MIB
