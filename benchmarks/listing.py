"""Listing a big folder from the CLI (#19): peak RSS and wall time of ``jupyter pipes list
file`` (table and ``--json``) and ``glob file`` over one folder of N files, at two sizes,
beside ``ls -l`` of the same N files in a plain folder (what a user lists a folder with).

Each command runs as its own process with stdout to /dev/null; peak RSS as ``/usr/bin/time``
reports it. Medians of ``--repeat`` runs.

    python benchmarks/listing.py             # 20,000 and 100,000 files, 3 runs each
    python benchmarks/listing.py --quick     # 2,000 and 10,000 files
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from jupyter_pipes import Client  # noqa: E402

CLI = [sys.executable, "-m", "jupyter_pipes.cli"]


def make(base: Path, n: int) -> tuple[Path, Path]:
    """A plain folder of ``n`` small files, and a store whose ``data@master:/big`` holds the
    same files (put from the folder, as a user would)."""
    store_dir, plain = base / f"store{n}", base / f"plain{n}"
    plain.mkdir()
    for i in range(n):
        (plain / f"f{i:07d}.csv").write_bytes(b"content %d\n" % i)
    with Client(str(store_dir)) as c:
        c.create_repo("data")
        c.put_file("data@master", "/big", plain)
    return store_dir, plain


def measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one run of ``cmd``, stdout discarded. RSS comes
    from ``/usr/bin/time`` (a small parent: a child forked from this Python process would
    start with this process's RSS as its peak)."""
    t = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t
    return wall, int(done.stderr.strip().splitlines()[-1]) * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 and 10,000 files")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = (2_000, 10_000) if args.quick else (20_000, 100_000)
    rows = []
    with tempfile.TemporaryDirectory(prefix="pipes-listing-") as tmp:
        for n in sizes:
            store, plain = make(Path(tmp), n)
            pipes = [*CLI, "--store", str(store)]
            cases = {
                "list file": [*pipes, "list", "file", "data@master:/big"],
                "list file --json": [*pipes, "list", "file", "data@master:/big", "--json"],
                "glob file /big/*": [*pipes, "glob", "file", "data@master:/big/*"],
                "ls -l (plain folder)": ["ls", "-l", str(plain)],
            }
            for name, cmd in cases.items():
                runs = [measure(cmd) for _ in range(args.repeat)]
                wall = statistics.median(r[0] for r in runs)
                rss = statistics.median(r[1] for r in runs)
                rows.append((name, n, wall, rss))
    print("| command | files | median wall | median peak RSS |")
    print("|---|---:|---:|---:|")
    for name, n, wall, rss in rows:
        print(f"| {name} | {n:,} | {wall:.2f} s | {rss / 2**20:.0f} MiB |")


if __name__ == "__main__":
    main()
