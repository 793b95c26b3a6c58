"""One side of ``benchmarks/trees.py``, run in its own process against one checkout.

``python _trees_worker.py commit N STORE`` prints JSON: the median time and bytes stored of a
one-file commit into one folder of N files. ``python _trees_worker.py mem OP N STORE`` prints
the peak RSS (KiB) of one read operation over a store holding one folder of N files.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import tempfile
import time
from typing import Any


def _size(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def _fill(store: Any, n: int) -> None:
    """One commit of ``n`` small files, each its own content, in one folder (staged entry by
    entry: the untimed set-up of a big folder, without reading n local files)."""
    import inspect

    from jupyter_pipes.store.trees import file_entry

    store.create_repo("data")
    c = store.start_commit("data", "master")
    # whole files: kept inline by a store that keeps small files inline (#17, revision 0006)
    kw = {"files": True} if "files" in inspect.signature(c.writer.add_many).parameters else {}
    for start in range(0, n, 10_000):
        stop = min(n, start + 10_000)
        refs = c.writer.add_many([b"%d\n" % i for i in range(start, stop)], **kw)
        for i, ref in zip(range(start, stop), refs, strict=True):
            c.patch.put(f"/big/f{i:07d}.txt", file_entry("", [ref]))
    c.finish()


def commit(n: int, root: str) -> dict[str, float]:
    from jupyter_pipes.store.store import Store

    store = Store(root)
    _fill(store, n)
    times, sizes = [], []
    for k in range(7):
        before = _size(os.path.join(root, "packs"))
        t = time.perf_counter()
        c = store.start_commit("data", "master")
        c.put_file(f"/big/new{k:03d}.txt", b"one more file %d\n" % k)
        c.finish()
        times.append(time.perf_counter() - t)
        sizes.append(_size(os.path.join(root, "packs")) - before)
    return {"ms": statistics.median(times) * 1000, "bytes": statistics.median(sizes)}


def mem(op: str, n: int, root: str) -> dict[str, float]:
    from jupyter_pipes.store.refs import parse_ref
    from jupyter_pipes.store.store import Store

    if not os.path.exists(os.path.join(root, "packs")):
        _fill(Store(root), n)
        return {"filled": n}
    store = Store(root)
    ref = parse_ref("data@master")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    if op == "list":
        k = sum(1 for _ in store.walk_file(ref, "/"))
    elif op == "glob":
        glob = getattr(store, "iter_glob_file", store.glob_file)  # streamed where it exists
        k = sum(1 for _ in glob(ref, "/big/*"))
    elif op == "get":
        with tempfile.TemporaryDirectory() as d:
            store.get_to(ref, "/big", os.path.join(d, "out"))
            k = n
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before the clean-up
        return {"k": k, "base_kib": base, "peak_kib": peak, "s": time.perf_counter() - t}
    elif op == "fsck":
        from jupyter_pipes.store.maintenance import fsck

        k = fsck(store).files
    else:
        raise SystemExit(f"unknown op {op}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"k": k, "base_kib": base, "peak_kib": peak, "s": time.perf_counter() - t}


if __name__ == "__main__":
    if sys.argv[1] == "commit":
        print(json.dumps(commit(int(sys.argv[2]), sys.argv[3])))
    else:
        print(json.dumps(mem(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
