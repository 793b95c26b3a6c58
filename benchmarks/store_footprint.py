"""The store's footprint on disk (#17, compact store), before and after, in one run.

Two workloads, each run in a fresh child process per code checkout (so peak RSS is the
child's own):

* **small files**: a folder of ``--files`` small files (random bytes, 40-160 bytes each, about
  100 on average like the issue's 300,000 files of 29 MB, in 1,000 sub-folders) put as one
  commit;
* **one-file commits**: ``--commits`` commits each writing a new ~380-byte version of one
  file (3.8 MB for 10,000, as in the issue; every version stays in the history, so all of it
  is content to keep). One file, so directory blobs stay small: how big a directory's blob is
  belongs to the tree format, not to this benchmark.

For each it prints the store's size on disk (allocated blocks, ``du``) against the content's
bytes, the ratio, where the bytes are (packs, metadata database, journal, stat cache), the
number of files in the store, and the child's peak RSS. ``--before DIR`` names a checkout of
the old code (``git worktree add --detach /tmp/compact-before main``); the current checkout is
"after". Run it from the repository root::

    python benchmarks/store_footprint.py --before /tmp/compact-before --files 100000 \
        --commits 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent


def _du(path: Path) -> tuple[int, int, int]:
    """(allocated bytes, apparent bytes, files) under ``path``."""
    alloc = size = n = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            st = os.stat(os.path.join(root, f))
            alloc += st.st_blocks * 512
            size += st.st_size
            n += 1
    return alloc, size, n


def _parts(store: Path) -> dict[str, int]:
    """Allocated bytes per part of a local store."""
    out: dict[str, int] = {}
    for name in ("packs", "journal", "cache"):
        out[name] = _du(store / name)[0] if (store / name).exists() else 0
    out["metadata"] = sum(
        _du(p)[0] if p.is_dir() else p.stat().st_blocks * 512
        for p in store.glob("metadata.sqlite*")
    )
    return out


def _make_small(root: Path, n: int, seed: int = 17) -> int:
    rnd = random.Random(seed)
    total = 0
    for i in range(n):
        d = root / f"d{i % 1000:03}"
        if i < 1000:
            d.mkdir(parents=True, exist_ok=True)
        data = rnd.randbytes(rnd.randint(40, 160))
        (d / f"f{i:07}.bin").write_bytes(data)
        total += len(data)
    return total


def child(kind: str, n: int, work: Path) -> dict[str, object]:
    """Run one workload with the jupyter_pipes on ``sys.path``; its measurements."""
    from jupyter_pipes import Client

    store = work / "store"
    t = time.perf_counter()
    if kind == "small":
        content = _make_small(work / "data", n)
        t = time.perf_counter()
        with Client(str(store)) as c:
            c.create_repo("r")
            c.put_file("r@master", "/", str(work / "data"))
    else:
        rnd = random.Random(19)
        content = 0
        with Client(str(store)) as c:
            c.create_repo("r")
            for _ in range(n):
                data = rnd.randbytes(380)
                content += len(data)
                c.put_file("r@master", "/data.bin", data)
    seconds = time.perf_counter() - t
    alloc, size, files = _du(store)
    out: dict[str, object] = {
        "content": content,
        "alloc": alloc,
        "apparent": size,
        "files": files,
        "parts": _parts(store),
        "seconds": seconds,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if kind == "commits":  # then a gc (nothing is garbage: it may fold the journal)
        with Client(str(store)) as c:
            c.gc(grace_seconds=0)
        alloc, size, files = _du(store)
        out["after_gc"] = {"alloc": alloc, "files": files, "parts": _parts(store)}
    return out


def _run(code: Path, kind: str, n: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="footprint-") as tmp:
        env = dict(os.environ, PYTHONPATH=str(code), JUPYTER_PIPES_STAT_CACHE="off")
        env.pop("JUPYTER_PIPES_STORE", None)
        out = subprocess.run(
            [sys.executable, __file__, "--child", kind, str(n), tmp],
            env=env,
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _mb(n: object) -> str:
    return f"{int(n) / 1e6:8.1f}"  # type: ignore[call-overload]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, help="checkout of the old code")
    ap.add_argument("--files", type=int, default=100_000)
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, n, work = a.child
        print(json.dumps(child(kind, int(n), Path(work))))
        return
    codes = ([("before", a.before)] if a.before else []) + [("after", HERE)]
    print(
        "workload                      code    content MB  on disk MB  ratio  packs MB  "
        "meta MB  journal MB  files  seconds  peak RSS MiB"
    )
    for kind, n, label in (
        ("small", a.files, f"{a.files:,} small files"),
        ("commits", a.commits, f"{a.commits:,} one-file commits"),
    ):
        if n <= 0:
            continue
        for name, code in codes:
            r = _run(code, kind, n)
            _row(label, name, r, r)
            if "after_gc" in r:
                _row(label + ", gc", name, r, r["after_gc"])  # type: ignore[arg-type]


def _row(label: str, name: str, r: dict[str, object], m: dict[str, object]) -> None:
    p: dict[str, int] = m["parts"]  # type: ignore[assignment]
    ratio = int(m["alloc"]) / int(r["content"])  # type: ignore[call-overload]
    print(
        f"{label:29} {name:7} {_mb(r['content'])}    {_mb(m['alloc'])}  {ratio:5.2f}"
        f"  {_mb(p['packs'])}  {_mb(p['metadata'])}    {_mb(p['journal'])}"
        f"  {m['files']:>5}  {r['seconds']:7.1f}  {r['rss_mib']:10.0f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
