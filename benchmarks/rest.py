"""REST latency: a page of a 10,000-commit branch's history, and the DAG of 100 pipelines.

Run: ``python benchmarks/rest.py [--commits N] [--pipelines N] [--repeat N]``.

A real ``jupyter server`` (this project's extension, controller off so nothing runs) serves a
store seeded through the Client; each figure is the median of ``--repeat`` HTTP requests from a
client on loopback. Side by side: ``git log -n 50`` on a git repo with the same number of
commits (what a user reads history with today), measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _util import jupyter_server, median_s  # this script's folder is on sys.path

from jupyter_pipes import Client


def seed(store: Path, commits: int, pipelines: int) -> None:
    with Client(str(store)) as c:
        c.create_repo("data")
        for i in range(commits):
            c.put_file("data@master", "/counter.txt", str(i).encode(), message=f"commit {i}")
        for i in range(pipelines):
            upstream = "data" if i < 10 else f"p{i - 10:03d}"
            c.create_pipeline(
                {
                    "pipeline": {"name": f"p{i:03d}"},
                    "input": {"pfs": {"repo": upstream, "glob": "/"}},
                    "transform": {"cmd": ["true"]},
                }
            )


def git_repo(path: Path, commits: int) -> None:
    """A git repo with ``commits`` commits, written with git fast-import (seconds, not minutes)."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    lines = []
    for i in range(commits):
        data = str(i).encode()
        msg = f"commit {i}".encode()
        lines.append(b"commit refs/heads/master\n")
        lines.append(b"committer bench <b@example.com> %d +0000\n" % (1_700_000_000 + i))
        lines.append(b"data %d\n%s\n" % (len(msg), msg))
        lines.append(b"M 644 inline counter.txt\ndata %d\n%s\n" % (len(data), data))
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(lines), cwd=path, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=10_000)
    ap.add_argument("--pipelines", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pipes-rest-"))
    t = time.perf_counter()
    seed(work / "store", args.commits, args.pipelines)
    git_repo(work / "git", args.commits)
    print(
        f"seeded {args.commits} commits and {args.pipelines} pipelines in "
        f"{time.perf_counter() - t:.1f} s (untimed)",
        file=sys.stderr,
    )
    with jupyter_server(work / "store", work, "--PipesApp.run_controller=False") as server:
        get = server.get
        first = median_s(lambda: get("/repos/data/commits?branch=master&limit=50"), args.repeat)
        deep = median_s(
            lambda: get(f"/repos/data/commits?branch=master&limit=50&offset={args.commits - 100}"),
            args.repeat,
        )
        dag = median_s(lambda: get("/dag"), args.repeat)
        git = median_s(
            lambda: subprocess.run(
                ["git", "log", "-n", "50", "--format=%H %ct %s", "master"],
                cwd=work / "git",
                check=True,
                capture_output=True,
            ),
            args.repeat,
        )
    rows = [
        (f"first page (50) of a {args.commits:,}-commit branch", first, "git log -n 50", git),
        (f"page at offset {args.commits - 100:,} of that branch", deep, "git log -n 50", git),
        (f"DAG of {args.pipelines} pipelines", dag, "(absolute)", None),
    ]
    print("| benchmark | ours (median) | alternative | alternative's | ours/alt |")
    print("|---|---|---|---|---|")
    for name, ours, alt, alt_t in rows:
        ratio = f"{ours / alt_t:.2f}×" if alt_t else "—"
        alt_s = f"{alt_t * 1000:.1f} ms" if alt_t else "—"
        print(f"| {name} | {ours * 1000:.1f} ms | {alt} | {alt_s} | {ratio} |")


if __name__ == "__main__":
    main()
