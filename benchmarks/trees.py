"""Bounded directory nodes (#17) and streaming reads (#19), before vs after in one run.

* the one-file-commit curve: one folder of N files (N = 1k, 10k, 100k), then a commit adding
  one file to it: median time and bytes stored of 7 such commits;
* peak RSS of list (walk), glob, get and fsck over one folder of N files, at two sizes.

The "before" side runs the same worker against another checkout (default ``/tmp/tree-before``,
made with ``git worktree add --detach /tmp/tree-before main`` before the change landed); each
measurement is its own process (``PYTHONPATH`` puts that checkout first)::

    python benchmarks/trees.py                      # the full curve and both sizes
    python benchmarks/trees.py --sizes 1000,10000 --mem-sizes 2000,5000 --before /tmp/tree-before
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_trees_worker.py"


def run(code: Path, *args: str) -> dict[str, float]:
    """Run the worker with ``code`` first on the import path; its JSON result."""
    env = dict(os.environ, PYTHONPATH=str(code))
    out = subprocess.run(
        [sys.executable, str(WORKER), *args], env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="/tmp/tree-before", help="checkout of the old code")
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--mem-sizes", default="20000,100000")
    ap.add_argument("--ops", default="list,glob,get,fsck")
    args = ap.parse_args()
    sides = {"before": Path(args.before), "after": HERE.parent}
    work = Path(tempfile.mkdtemp(prefix="bench-trees-"))
    try:
        print("## one-file commit into one folder of N files (median of 7)\n")
        print("| N | before ms | after ms | before bytes | after bytes | bytes ratio |")
        print("|---|---|---|---|---|---|")
        for n in [int(x) for x in args.sizes.split(",") if x]:
            r = {}
            for name, code in sides.items():
                r[name] = run(code, "commit", str(n), str(work / f"{name}-{n}"))
                shutil.rmtree(work / f"{name}-{n}")
            b, a = r["before"], r["after"]
            print(
                f"| {n:,} | {b['ms']:.0f} | {a['ms']:.0f} | {b['bytes']:,.0f} | "
                f"{a['bytes']:,.0f} | {b['bytes'] / max(a['bytes'], 1):.0f}x |",
                flush=True,
            )
        print("\n## peak RSS of one read over one folder of N files (MiB, whole process)\n")
        sizes = [int(x) for x in args.mem_sizes.split(",")]
        print("| op | side | " + " | ".join(f"N={n:,}" for n in sizes) + " | per 1k files |")
        print("|---|---|" + "---|" * len(sizes) + "---|")
        for op in args.ops.split(","):
            for name, code in sides.items():
                peaks = []
                for n in sizes:
                    root = work / f"mem-{name}-{n}"
                    if not root.exists():
                        run(code, "mem", "fill", str(n), str(root))
                    peaks.append(run(code, "mem", op, str(n), str(root))["peak_kib"] / 1024)
                slope = (peaks[-1] - peaks[0]) / ((sizes[-1] - sizes[0]) / 1000)
                cells = " | ".join(f"{p:.0f}" for p in peaks)
                print(f"| {op} | {name} | {cells} | {slope * 1024:.0f} KiB |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
