"""#17's store rows, each beside its yardstick in the same run: CLI start-up and far ancestors.

Usage::

    python benchmarks/store17.py                 # every row
    python benchmarks/store17.py --only cli --runs 9
    python benchmarks/store17.py --only ancestors --depth 10000
    python benchmarks/store17.py --dvc /path/to/venv/bin/dvc

``cli``: wall and CPU (user + sys) medians of fresh processes: ``python -c pass``, ``dvc
--version`` (when dvc is found), ``jupyter-pipes --version`` / ``list repo`` and the same through
``jupyter pipes`` (jupyter_core's launcher execs ``jupyter-pipes``: one more interpreter). Byte code
is compiled first and written (``PYTHONDONTWRITEBYTECODE`` is unset for the runs), as it is after
a ``pip install``.

``reput``: putting an unchanged folder of ``--files`` 1 KiB files again, with the stat cache and
without it (``JUPYTER_PIPES_STAT_CACHE=off``: every file read, hashed and found in the index),
beside a bare ``os.walk`` + ``os.stat`` of the same files, ``find -newer`` and ``git status`` of
the same folder (committed to a git repository first), what a user would run to ask whether
anything changed.

``large``: 4 x 128 MiB random files put into a fresh store, beside ``cp -r && sync`` (page cache
not dropped: both sides read warm sources; at most 3 runs); with the benchmark process's peak RSS
during the put (VmHWM, reset before each put; the source files are memory-mapped while they are
cut, and their resident pages count).

``ancestors``: ``repo@master~N`` resolved by the store (one recursive query) against the old walk
(one primary-key query per ancestor, run on the same database in the same process). The chain of
N + 1 commits is one real commit plus N rows copied from it in the metadata (see ``_chain``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _time_process(cmd: list[str], cwd: Path, runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``cmd`` (fresh process each run; one warm-up)."""
    walls, cpus = [], []
    for i in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=_env(), check=True, capture_output=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if i:  # the first run warms the page cache and writes byte code
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def bench_cli(runs: int, dvc: str | None) -> list[tuple[str, float, float]]:
    bindir = Path(sys.executable).parent
    pipes = str(bindir / "jupyter-pipes")
    jupyter = str(bindir / "jupyter")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "jupyter_pipes")],
        env=_env(),
        check=False,
        capture_output=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        subprocess.run([pipes, "create", "repo", "images"], cwd=cwd, env=_env(), check=True)
        cases: list[tuple[str, list[str]]] = [("python -c pass", [sys.executable, "-c", "pass"])]
        if dvc:
            cases.append(("dvc --version", [dvc, "--version"]))
        cases += [
            ("jupyter-pipes --version", [pipes, "--version"]),
            ("jupyter-pipes list repo", [pipes, "list", "repo"]),
            ("jupyter pipes --version", [jupyter, "pipes", "--version"]),
            ("jupyter pipes list repo", [jupyter, "pipes", "list", "repo"]),
            (
                "python -c 'import sqlalchemy' (list repo's floor)",
                [sys.executable, "-c", "import sqlalchemy"],
            ),
        ]
        for name, cmd in cases:
            wall, cpu = _time_process(cmd, cwd, runs)
            rows.append((name, wall, cpu))
    return rows


def _chain(store: object, first: str, depth: int) -> None:
    """``depth`` more commits on d@master after ``first``: rows copied from it in the metadata
    (same tree, new ids and parents) and the head moved, in one transaction: a real put per
    commit would take minutes here, and only the rows matter to resolving ``~N``."""
    import uuid

    import sqlalchemy as sa

    from jupyter_pipes.store.tables import branches

    meta = store.meta  # type: ignore[attr-defined]
    commits = meta.commits

    with meta.write() as conn:
        row = dict(conn.execute(sa.select(commits).where(commits.c.id == first)).one()._mapping)
        parent, batch = first, []
        for i in range(depth):
            cid = uuid.uuid4().hex
            batch.append(
                {**row, "id": cid, "parent": parent, "finished_at": row["finished_at"] + i}
            )
            parent = cid
        conn.execute(sa.insert(commits), batch)
        conn.execute(
            sa.update(branches)
            .where(branches.c.repo == "d", branches.c.name == "master")
            .values(head=parent)
        )


def bench_ancestors(depth: int, runs: int) -> list[tuple[str, float, float]]:
    from jupyter_pipes import Client

    with tempfile.TemporaryDirectory() as tmp:
        c = Client(str(Path(tmp) / "store"))
        try:
            c.create_repo("d")
            real = c.put_file("d@master", "/f", b"0").id
            store = c.store
            t = time.perf_counter()
            _chain(store, real, depth)
            build = time.perf_counter() - t
            print(f"  added {depth:,} commits in {build:.1f} s", file=sys.stderr)
            ref = f"d@master~{depth}"
            ours = []
            for _ in range(runs):
                t = time.perf_counter()
                first = c.inspect_commit(ref).id
                ours.append(time.perf_counter() - t)
            walk = []
            for _ in range(runs):
                t = time.perf_counter()
                with store.meta.read() as conn:
                    b = store.meta.get_branch(conn, "d", "master")
                    row = store.meta.get_commit(conn, b.head)
                    for _ in range(depth):
                        row = store.meta.get_commit(conn, row.parent)
                walk.append(time.perf_counter() - t)
            assert row.id == first
        finally:
            c.close()
    return [
        (f"inspect commit d@master~{depth:,} (one recursive query)", statistics.median(ours), 0),
        (f"the old walk: {depth:,} primary-key queries", statistics.median(walk), 0),
    ]


def _small_tree(root: Path, n: int, dirs: int) -> Path:
    for i in range(n):
        d = root / f"d{i % dirs:03}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i:06}.bin").write_bytes(os.urandom(1024))
    time.sleep(2.1)  # older than the stat cache's racy window, as a real folder is
    return root


def bench_reput(n: int, runs: int) -> list[tuple[str, float, float]]:
    """Re-put of an unchanged n-file folder: with the stat cache, without it (the previous
    behaviour: read and hash every file, dedup in the index), and a bare walk + stat."""
    from jupyter_pipes import Client
    from jupyter_pipes.store import statcache

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        data = _small_tree(Path(tmp) / "data", n, 100)
        for label, env in (("stat cache", None), ("no stat cache (before)", "off")):
            if env:
                os.environ[statcache.ENV] = env
            else:
                os.environ.pop(statcache.ENV, None)
            with Client(str(Path(tmp) / f"store-{env}")) as c:
                c.create_repo("r")
                c.put_file("r@master", "/", str(data))
                times = []
                for _ in range(runs):
                    t = time.perf_counter()
                    c.put_file("r@master", "/", str(data))
                    times.append(time.perf_counter() - t)
            out.append((f"re-put unchanged {n:,} files: {label}", statistics.median(times), 0))
        os.environ.pop(statcache.ENV, None)
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            for _root, _dirs, files in os.walk(data):
                for f in files:
                    os.stat(os.path.join(_root, f))
            times.append(time.perf_counter() - t)
        out.append(
            (f"os.walk + os.stat of the {n:,} files (the floor)", statistics.median(times), 0)
        )
        # What a user would run to ask "did anything change?" of the same folder.
        stamp = Path(tmp) / "stamp"
        stamp.touch()
        find = ["find", str(data), "-newer", str(stamp)]
        yardsticks = [(f"find -newer of the {n:,} files", find)]
        if shutil.which("git"):
            git = ["git", "-C", str(data), "-c", "user.name=b", "-c", "user.email=b@b"]
            for cmd in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "all"], ["status"]):
                subprocess.run([*git, *cmd], check=True, capture_output=True)
            yardsticks.append((f"git status of the {n:,} files (committed)", [*git, "status"]))
        for label, cmd in yardsticks:
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run(cmd, check=True, capture_output=True)
                times.append(time.perf_counter() - t)
            out.append((label, statistics.median(times), 0))
    return out


def _reset_peak_rss() -> None:
    """Start a new peak-RSS window for this process (Linux: VmHWM reset to the current RSS)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM) since the last :func:`_reset_peak_rss`, in MiB."""
    with open("/proc/self/status") as f:
        line = next(x for x in f if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def bench_large(n: int, size_mib: int, runs: int) -> list[tuple[str, float, float]]:
    """Putting n large random files into a fresh store, beside ``cp -r && sync``."""
    from jupyter_pipes import Client

    with tempfile.TemporaryDirectory(dir=os.environ.get("PIPES_BENCH_WORKDIR")) as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for i in range(n):
            with open(src / f"big{i}.bin", "wb") as f:
                for _ in range(size_mib):
                    f.write(os.urandom(1 << 20))
        os.sync()
        ours, cp, rss = [], [], []
        for r in range(runs):
            dest = Path(tmp) / f"store{r}"
            with Client(str(dest)) as c:
                c.create_repo("big")
                _reset_peak_rss()
                t = time.perf_counter()
                c.put_file("big@master", "/", str(src))
                ours.append(time.perf_counter() - t)
                rss.append(_peak_rss_mib())
            shutil.rmtree(dest)
            os.sync()
            copy = Path(tmp) / f"copy{r}"
            t = time.perf_counter()
            subprocess.run(["cp", "-r", str(src), str(copy)], check=True)
            os.sync()
            cp.append(time.perf_counter() - t)
            shutil.rmtree(copy)
            os.sync()
    label = f"{n} x {size_mib} MiB"
    # every run, in order: on a shared VM the disk's writeback makes runs bimodal (see RESULTS.md)
    print(f"large put, each run (ms): ours {[round(x * 1000) for x in ours]}, "
          f"cp -r && sync {[round(x * 1000) for x in cp]}", file=sys.stderr)  # fmt: skip
    return [
        (f"put {label} (ours)", statistics.median(ours), max(rss)),
        (f"cp -r && sync {label}", statistics.median(cp), 0),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="cli,ancestors,reput,large")
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--depth", type=int, default=10_000)
    ap.add_argument("--dvc", default=shutil.which("dvc"))
    args = ap.parse_args()
    only = set(args.only.split(","))
    print(f"load average at start: {os.getloadavg()}; cpus: {os.cpu_count()}")
    if "cli" in only:
        print("\n| command | wall median | CPU median (user+sys) |\n|---|---|---|")
        for name, wall, cpu in bench_cli(args.runs, args.dvc):
            print(f"| {name} | {wall * 1000:.0f} ms | {cpu * 1000:.0f} ms |")
    if "ancestors" in only:
        print("\n| resolve | median |\n|---|---|")
        for name, t, _ in bench_ancestors(args.depth, args.runs):
            print(f"| {name} | {t * 1000:.1f} ms |")
    if "reput" in only:
        print("\n| put | median |\n|---|---|")
        for name, t, _ in bench_reput(args.files, args.runs):
            print(f"| {name} | {t * 1000:.0f} ms |")
    if "large" in only:
        rows = bench_large(4, 128, max(1, args.runs))
        print("\n| put | median | peak RSS of the process |\n|---|---|---|")
        for name, t, peak in rows:
            print(f"| {name} | {t * 1000:.0f} ms | {f'{peak:.0f} MiB' if peak else '-'} |")
        print(f"\nratio ours / cp -r && sync: {rows[0][1] / rows[1][1]:.2f}x")


if __name__ == "__main__":
    main()
