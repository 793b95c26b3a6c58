"""The pipeline engine at scale (issue #11): per-datum cost and controller memory from 100 to
100,000 datums, a one-file change in a 10,000-datum pipeline, creating 200 pipelines, and an
idle server with 200 pipelines.

    python benchmarks/engine.py [--sizes 100,1000,10000] [--changes 5] [--pipelines 200]
                                [--only datums,create,server,graph] [--chain 50]
                                [--workdir DIR] [--keep]

* ``datums``: for each size N, a store with N one-line files (put untimed, in its own process),
  then — in a fresh process, so its peak RSS is the job's — a ``cmd`` pipeline copying each file
  (``glob: /*``, one datum per file) run to the end on the default local cluster (thread
  workers: the controller, the scheduler and the workers share that process). Side by side, the
  alternative a user would pick to run one command per file on the same cores:
  ``xargs -P <workers> -n 1 bash -c 'cp ...'`` over the same files. For the largest size up to
  10,000: ``--changes`` one-file changes (put, then ``wait_commit``), timing the job and counting
  the metadata bytes it wrote (the values of every INSERT/UPDATE/DELETE sent to the database).
* ``create``: 200 pipelines created one after the other in a fresh store (10 read a repo, each
  other one reads an earlier pipeline's output), no job run.
* ``graph``: the diamond A → B, A → C, B + C → D (C slower): D jobs per put to A and D
  commits built from a mix of versions; a chain of ``--chain`` pipelines created before any
  job: jobs queued.
* ``server``: a real ``jupyter server`` with this extension (controller on) over those 200
  pipelines, after their jobs ran: the server process's CPU over 30 s of idleness, then the
  median latency of ``GET /pipes/api/dag``.

Prints markdown tables (and the raw numbers as JSON on stderr); the machine's load average is
printed too: on a shared machine, re-run when it is quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from _util import jupyter_server, median_s  # noqa: E402  (this script's folder is on sys.path)

from jupyter_pipes import Client  # noqa: E402

CMD = ["bash", "-c", 'cp "$data" "$out"/']  # a /* datum's $data is the file itself
SPEC = {
    "pipeline": {"name": "copy"},
    "input": {"pfs": {"repo": "data", "glob": "/*"}},
    "transform": {"cmd": CMD},
}


# -- datums ----------------------------------------------------------------------------------


def seed_files(store: Path, n: int) -> None:
    """A store with repo ``data``: ``n`` one-line files in one commit."""
    with Client(str(store)) as c:
        c.create_repo("data")
        with c.start_commit("data@master") as oc:
            for i in range(n):
                oc.put_file(f"/f{i:06d}", f"{i}\n".encode())


class WriteCounter:
    """Bytes of the values sent with INSERT, UPDATE and DELETE statements on an engine."""

    def __init__(self, engine: Any) -> None:
        import sqlalchemy as sa

        self.bytes = 0
        self.statements = 0
        self.on = False
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, params: Any, *a: Any) -> None:
        if not self.on or not statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            return
        self.statements += 1
        rows = params if isinstance(params, list) else [params]
        for row in rows:
            values = row.values() if isinstance(row, dict) else row
            self.bytes += sum(len(str(v).encode()) for v in values if v is not None)


def run_job(store: Path, changes: int) -> dict[str, Any]:
    """In this (fresh) process: run the copy pipeline, then ``changes`` one-file changes."""
    with Client(str(store)) as c:
        n = sum(1 for _ in c.list_file("data@master"))
        c.controller()  # start the local cluster before timing
        _ = c._executor.client  # type: ignore[union-attr]
        t = time.perf_counter()
        job = c.wait_job(c.create_pipeline(SPEC).last_job, timeout=36_000)
        seconds = time.perf_counter() - t
        assert job.state == "success" and job.processed == n, job
        out: dict[str, Any] = {
            "n": n,
            "seconds": seconds,
            "per_datum_ms": 1000 * seconds / n,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
        counter = WriteCounter(c.store.meta.engine)
        samples = []
        for k in range(changes):
            t = time.perf_counter()
            c.put_file("data@master", f"/f{(k * 7919) % n:06d}", f"changed {k}\n".encode())
            put = time.perf_counter() - t
            counter.bytes = counter.statements = 0
            counter.on = True
            t = time.perf_counter()
            (one,) = c.wait_commit("data@master", timeout=600)
            wall = time.perf_counter() - t
            counter.on = False
            assert (one.processed, one.skipped) == (1, n - 1), one
            samples.append(
                {
                    "put_ms": 1000 * put,
                    "job_ms": 1000 * wall,
                    "job_duration_ms": 1000 * (one.duration_s or 0),
                    "metadata_bytes": counter.bytes,
                    "statements": counter.statements,
                }
            )
        if samples:
            out["one_file"] = {k: statistics.median(s[k] for s in samples) for k in samples[0]} | {
                "samples": samples
            }
        return out


def xargs_baseline(files: Path, workers: int, limit: int) -> float:
    """Per-file ms of ``xargs -P workers -n 1 bash -c 'cp ...'`` over up to ``limit`` files."""
    src = files / "in"
    out = files / "out"
    shutil.rmtree(files, ignore_errors=True)
    src.mkdir(parents=True)
    out.mkdir()
    for i in range(limit):
        (src / f"f{i:06d}").write_text(f"{i}\n")
    names = "\n".join(str(p) for p in sorted(src.iterdir())).encode()
    t = time.perf_counter()
    subprocess.run(
        ["xargs", "-P", str(workers), "-n", "1", "bash", "-c", f'cp "$0" "{out}"/'],
        input=names,
        check=True,
    )
    return 1000 * (time.perf_counter() - t) / limit


def bench_datums(work: Path, sizes: list[int], changes: int) -> list[dict[str, Any]]:
    results = []
    change_at = max([s for s in sizes if s <= 10_000] or [min(sizes)])
    workers = min(os.cpu_count() or 1, 4)
    for n in sizes:
        store = work / f"datums-{n}" / "store"
        t = time.perf_counter()
        subprocess.run([sys.executable, __file__, "_seed", str(store), str(n)], check=True)
        seeded = time.perf_counter() - t
        proc = subprocess.run(
            [sys.executable, __file__, "_job", str(store), str(changes if n == change_at else 0)],
            check=True,
            capture_output=True,
            text=True,
        )
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        res["seed_s"] = seeded
        res["xargs_per_file_ms"] = xargs_baseline(work / f"xargs-{n}", workers, min(n, 2000))
        results.append(res)
        print(json.dumps(res), file=sys.stderr)
        shutil.rmtree(work / f"datums-{n}", ignore_errors=True)
        shutil.rmtree(work / f"xargs-{n}", ignore_errors=True)
    return results


# -- create and server ------------------------------------------------------------------------


def seed_pipelines(c: Client, count: int) -> tuple[float, float]:
    """``count`` pipelines: 10 read ``data``, every other one an earlier pipeline's output.
    (wall seconds, CPU seconds of this process) for the creates."""
    c.create_repo("data")
    c.put_file("data@master", "/x", b"x")
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    for i in range(count):
        upstream = "data" if i < 10 else f"p{i - 10:03d}"
        c.create_pipeline(
            {
                "pipeline": {"name": f"p{i:03d}"},
                "input": {"pfs": {"repo": upstream, "glob": "/"}},
                "transform": {"cmd": ["true"]},
            }
        )
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return wall, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


IDLE_CLOSE_S = 10
"""The server stops its idle Dask cluster after this long (``cluster_idle_timeout``, default
120 s; shorter here so the benchmark needn't wait two minutes)."""


def bench_server(store: Path, idle_s: float, repeat: int) -> dict[str, float]:
    with jupyter_server(
        store, store.parent, f"--PipesApp.cluster_idle_timeout={IDLE_CLOSE_S}"
    ) as server:
        get = server.get
        deadline = time.monotonic() + 1800
        while any(not j["done"] for j in get("/jobs?limit=1000")["items"]):
            assert time.monotonic() < deadline, "the server did not run the jobs"
            time.sleep(1)
        time.sleep(IDLE_CLOSE_S + 5)  # idle: the controller stops the Dask cluster
        before, t = cpu_seconds(server.proc.pid), time.perf_counter()
        time.sleep(idle_s)
        cpu = (cpu_seconds(server.proc.pid) - before) / (time.perf_counter() - t)
        dag = get("/dag")
        assert sum(n["kind"] == "pipeline" for n in dag["nodes"]) >= 200
        dag_s = median_s(lambda: get("/dag"), repeat)
        return {"idle_cpu_percent": 100 * cpu, "dag_ms": 1000 * dag_s}


# -- graph: the diamond and the chain ----------------------------------------------------------


def bench_graph(work: Path, chain: int) -> dict[str, Any]:
    """The issue's two correctness counts: a diamond A → B, A → C, B + C → D (C slower) after
    one put to A — how many D jobs, and whether any D commit was built from B and C of
    different A commits;
    and a chain of ``chain`` pipelines created before any job ran — how many jobs were queued
    (was 1,325 for 50, about P²/2)."""

    def cmd(name: str, inputs: list[str], script: str) -> dict[str, Any]:
        pfs = [{"pfs": {"repo": r, "glob": "/"}} for r in inputs]
        return {
            "pipeline": {"name": name},
            "input": pfs[0] if len(pfs) == 1 else {"cross": pfs},
            "transform": {"cmd": ["bash", "-c", script]},
        }

    out: dict[str, Any] = {}
    with Client(str(work / "diamond" / "store")) as c:
        c.create_repo("a")
        c.put_file("a@master", "/v", b"1")
        c.create_pipeline(cmd("b", ["a"], 'cp "$a"/v "$out"/b'))
        c.create_pipeline(cmd("c", ["a"], 'sleep 2; cp "$a"/v "$out"/c'))
        c.create_pipeline(cmd("d", ["b", "c"], 'cat "$b"/b "$c"/c > "$out"/d'))
        c.run_jobs(timeout=600)
        before = len(c.list_job("d"))
        put = c.put_file("a@master", "/v", b"2")
        c.wait_commit(put.id, timeout=600)
        d_jobs = len(c.list_job("d")) - before
        mixed = 0  # a D commit whose B and C inputs were computed from different A commits
        for commit in c.list_commit("d@master"):
            a_of = set()
            for p in commit.provenance:
                if p.repo in ("b", "c"):
                    up = c.inspect_commit(f"{p.repo}@{p.id}").provenance
                    a_of |= {q.id for q in up if q.repo == "a"}
            mixed += len(a_of) > 1
        out["diamond"] = {"d_jobs_per_put": d_jobs, "d_commits_mixing_versions": mixed,
                          "d_output": c.get_file("d@master", "/d").decode()}  # fmt: skip
    with Client(str(work / "chain" / "store")) as c:
        c.create_repo("src")
        c.put_file("src@master", "/v", b"1")
        t = time.perf_counter()
        for i in range(chain):
            c.create_pipeline(cmd(f"s{i:02d}", ["src" if i == 0 else f"s{i - 1:02d}"], "true"))
        out["chain"] = {"pipelines": chain, "jobs_queued": len(c.list_job()),
                        "create_s": time.perf_counter() - t}  # fmt: skip
    return out


# -- main -------------------------------------------------------------------------------------


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_seed":
        seed_files(Path(sys.argv[2]), int(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_job":
        print(json.dumps(run_job(Path(sys.argv[2]), int(sys.argv[3]))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--changes", type=int, default=5)
    ap.add_argument("--pipelines", type=int, default=200)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--only", default="datums,create,server,graph")
    ap.add_argument("--chain", type=int, default=50)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    only = set(args.only.split(","))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="pipes-engine-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average at start: {os.getloadavg()}", file=sys.stderr)
    try:
        if "datums" in only:
            rows = bench_datums(work, [int(s) for s in args.sizes.split(",")], args.changes)
            print("| datums | job | per datum | xargs -P bash per file | ours/xargs | peak RSS |")
            print("|---|---|---|---|---|---|")
            for r in rows:
                print(
                    f"| {r['n']:,} | {r['seconds']:.1f} s | {r['per_datum_ms']:.2f} ms | "
                    f"{r['xargs_per_file_ms']:.2f} ms | "
                    f"{r['per_datum_ms'] / r['xargs_per_file_ms']:.2f}× | "
                    f"{r['peak_rss_mb']:.0f} MB |"
                )
            ref = next((r for r in rows if r["n"] == 1000), None)
            for r in rows:
                if ref and r["n"] > 1000:
                    ratio = r["per_datum_ms"] / ref["per_datum_ms"]
                    print(f"per datum at {r['n']:,} / at 1,000: {ratio:.2f}× (target ≤ 1.5×)")
                if "one_file" in r:
                    o = r["one_file"]
                    print(
                        f"one-file change in a {r['n']:,}-datum pipeline (median of "
                        f"{len(o['samples'])}): job {o['job_ms']:.0f} ms wall "
                        f"({o['job_duration_ms']:.0f} ms claimed to done; target ≤ 50 ms), "
                        f"metadata written {o['metadata_bytes'] / 1024:.1f} KiB in "
                        f"{o['statements']:.0f} statements (target ≤ 20 KB); "
                        f"the put itself {o['put_ms']:.0f} ms"
                    )
        if "graph" in only:
            g = bench_graph(work, args.chain)
            print(json.dumps(g), file=sys.stderr)
            dm, ch = g["diamond"], g["chain"]
            print(
                f"diamond (C slower), one put to A: D ran {dm['d_jobs_per_put']} time(s); "
                f"D commits mixing versions: {dm['d_commits_mixing_versions']}"
            )
            print(
                f"chain of {ch['pipelines']} pipelines created before any job: "
                f"{ch['jobs_queued']} jobs queued (was 1,325 for 50)"
            )
        if "create" in only or "server" in only:
            store = work / "many" / "store"
            with Client(str(store)) as c:
                wall, cpu = seed_pipelines(c, args.pipelines)
            print(
                f"create {args.pipelines} pipelines: {wall:.2f} s (target ≤ 5 s); "
                f"CPU of this process {cpu:.2f} s"
            )
            if "server" in only:
                s = bench_server(store, args.idle, args.repeat)
                print(
                    f"server with {args.pipelines} pipelines: idle CPU "
                    f"{s['idle_cpu_percent']:.2f} % (target ≤ 1 %), "
                    f"GET /dag median {s['dag_ms']:.1f} ms (target ≤ 30 ms)"
                )
    finally:
        print(f"load average at end: {os.getloadavg()}", file=sys.stderr)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
