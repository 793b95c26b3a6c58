"""Per-datum overhead of notebook stages, and 1,000-datum jobs end to end (see README.md).

    python benchmarks/kernels.py [--quick] [--repeat N] [--datums N] [--workdir DIR] [--keep]
                                 [--only per_datum,cmd,warm,sandbox]

1. A trivial notebook (a parameters cell and one code cell) run per datum: in a warm kernel
   (``run_warm``, the pool already started), in a fresh kernel (``run_notebook``), through
   papermill's API with the ``jupyter_pipes`` engine (warm kernels), and in a plain loop of
   ``papermill.execute_notebook`` — what a user would write instead. Also the reset between two
   warm datums as the kernel measures it.
2. A job of 1,000 one-file datums (``glob: /*``) with a ``cmd`` transform and with a warm
   notebook transform, on the default local cluster (2 process workers on 2 cores) side by side
   with 1 process worker and with 2 thread workers (the former default): the full run per
   datum; for the default also the run after changing one input file and a run where every
   datum is skipped (``run_pipeline`` on unchanged inputs).

3. ``sandbox``: what bubblewrap adds to one command (``bash -c true`` directly and in the
   datum sandbox, interleaved).

Prints a markdown table (median of N runs per side, sides interleaved, load average at start and
end) and writes it to ``benchmarks/results/kernels.md``. Also reachable as
``run.py --only kernels``. The machine's load matters: the figures are wall-clock times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing
sys.path.insert(0, str(HERE))

import nbformat  # noqa: E402
from _util import (  # noqa: E402
    Options,
    Row,
    Side,
    compare,
    fmt_s,
    machine_info,
    rmtree,
    table,
    version_of,
)

from jupyter_pipes import Client  # noqa: E402
from jupyter_pipes.pipeline.notebook import run_notebook  # noqa: E402
from jupyter_pipes.pipeline.warm import KernelPool, run_warm  # noqa: E402

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}
CMD = ["bash", "-c", 'cp -r "$PFS/data"/* "$out"/']
COPY = (
    "import shutil\nsrc = pathlib.Path(data)\n"
    "for p in src.iterdir() if src.is_dir() else [src]:\n    shutil.copy(p, out)"
)


def write_notebook(path: Path, params: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


def within(ratio: float):  # type: ignore[no-untyped-def]
    return lambda o, a: a is not None and o <= ratio * a


class Kernels:
    """The benchmarks; ``rows`` and ``notes`` collect the results."""

    def __init__(self, opts: Options, work: Path, *, quick: bool, datums: int | None) -> None:
        self.opts, self.work = opts, work
        self.n_warm, self.n_fresh = (20, 2) if quick else (100, 5)
        self.n_job = datums or (200 if quick else 1000)
        self.rows: list[Row] = []
        self.notes: list[str] = []
        work.mkdir(parents=True, exist_ok=True)

    # -- 1. per-datum overhead -----------------------------------------------------------------

    def per_datum(self) -> None:
        import papermill

        from jupyter_pipes.pipeline.warm import close_engine_pool

        nb = write_notebook(self.work / "trivial.ipynb", "x = 0", "y = x + 1")
        pool = KernelPool()
        counter = iter(range(10**9))
        resets: list[float] = []

        def folder() -> Path:
            d = self.work / "runs" / str(next(counter))
            d.mkdir(parents=True)
            return d

        def loop(n: int, one) -> float:  # type: ignore[no-untyped-def]
            dirs = [folder() for _ in range(n)]
            t = time.perf_counter()
            for i, d in enumerate(dirs):
                one(i, d)
            return (time.perf_counter() - t) / n

        def warm(i: int, d: Path) -> None:
            assert run_warm(pool, nb, d / "out.ipynb", {"x": i}, cwd=d).ok
            for slot in list(pool._live):  # the reset before this datum, as the kernel timed it
                if "ms" in slot.last_reset:
                    resets.append(slot.last_reset["ms"] / 1000)

        def fresh(i: int, d: Path) -> None:
            assert run_notebook(nb, d / "out.ipynb", {"x": i}, cwd=d).ok

        def plain(i: int, d: Path, engine: str | None = None) -> None:
            papermill.execute_notebook(
                str(nb),
                str(d / "out.ipynb"),
                {"x": i},
                progress_bar=False,
                cwd=str(d),
                engine_name=engine,
            )

        def engine(i: int, d: Path) -> None:
            plain(i, d, "jupyter_pipes")

        t = time.perf_counter()
        warm(0, folder())  # starts the kernel
        start = time.perf_counter() - t
        loop(3, warm)  # untimed warm-up
        loop(3, engine)  # the engine's kernel too
        resets.clear()
        sides = [
            Side("warm", lambda _: loop(self.n_warm, warm)),
            Side("engine", lambda _: loop(self.n_warm, engine)),
            Side("fresh", lambda _: loop(self.n_fresh, fresh)),
            Side("papermill", lambda _: loop(self.n_fresh, plain)),
        ]
        m = compare("per_datum", sides, self.opts)
        pool.close()
        close_engine_pool()
        b = "trivial notebook, per datum"
        self.rows += [
            Row(
                f"{b}: warm kernel",
                m["warm"],
                "plain papermill.execute_notebook loop",
                m["papermill"],
                target="≤ 20 ms and ≥ 50× faster",
                check=lambda o, a: a is not None and o <= 0.020 and a >= 50 * o,
            ),
            Row(f"{b}: warm kernel", m["warm"], "fresh kernel (run_notebook)", m["fresh"]),
            Row(
                f"{b}: papermill.execute_notebook(engine_name='jupyter_pipes')",
                m["engine"],
                "plain papermill loop",
                m["papermill"],
                target="≥ 20× faster",
                check=lambda o, a: a is not None and a >= 20 * o,
            ),
            Row(
                f"{b}: fresh kernel (run_notebook)",
                m["fresh"],
                "plain papermill loop",
                m["papermill"],
            ),
            Row(
                "warm kernel reset between datums (in the kernel, median)",
                statistics.median(resets) if resets else float("nan"),
                "(absolute)",
                None,
                target="a few ms",
                check=lambda o, a: o <= 0.005,
            ),
            Row("warm kernel start (once per worker)", start, "(absolute)", None),
        ]
        self.notes.append(
            f"per_datum: warm and engine {self.n_warm} datums per run, fresh and papermill "
            f"{self.n_fresh}; the warm pools were started and used 3-4 times before timing; "
            f"{len(resets)} resets timed in the kernel"
        )

    # -- 2. a 1,000-datum job ------------------------------------------------------------------

    CLUSTERS = (  # name, workers, processes
        ("2 process workers (default)", 2, True),
        ("1 process worker", 1, True),
        ("2 thread workers", 2, False),
    )

    def job(self, kind: str) -> None:
        n = self.n_job
        nb = write_notebook(self.work / "copy.ipynb", "data = ''\nout = ''", "import pathlib", COPY)
        if kind == "cmd":
            transform: dict[str, object] = {"cmd": CMD}
        else:
            transform = {"notebook": str(nb), "isolation": "warm"}
        samples: dict[str, list[float]] = {"one": [], "skip": []}
        samples.update({name: [] for name, _w, _p in self.CLUSTERS})
        for i in range(self.opts.repeat):
            for name, workers, processes in self.CLUSTERS:  # sides interleaved
                default = name == self.CLUSTERS[0][0]
                store = self.work / f"store-{kind}-{i}"
                rmtree(store)
                old = os.environ.get("JUPYTER_PIPES_DASK_PROCESSES")
                os.environ["JUPYTER_PIPES_DASK_PROCESSES"] = "1" if processes else "0"
                c = Client(store, n_workers=workers, autostart=False)  # this cluster runs it
                try:
                    dask = c.controller().executor.client  # start the Dask cluster (untimed)
                    dask.wait_for_workers(workers, timeout=300)
                    c.create_repo("data")
                    with c.start_commit("data@master") as oc:
                        for k in range(n):
                            oc.put_file(f"/f{k:05d}.txt", b"datum %d\n" % k)
                    spec = {
                        "pipeline": {"name": "copy"},
                        "input": {"pfs": {"repo": "data", "glob": "/*"}},
                        "transform": transform,
                    }
                    t = time.perf_counter()
                    job = c.wait_job(c.create_pipeline(spec).last_job, timeout=3600)
                    samples[name].append((time.perf_counter() - t) / n)
                    assert job.state == "success" and job.processed == n, job.error
                    if not default:
                        continue
                    t = time.perf_counter()
                    c.put_file("data@master", f"/f{n // 2:05d}.txt", b"changed\n")
                    (job,) = c.wait_commit("data@master", timeout=3600)
                    samples["one"].append(time.perf_counter() - t)
                    assert (job.processed, job.skipped) == (1, n - 1)
                    t = time.perf_counter()
                    job = c.wait_job(c.run_pipeline("copy").id, timeout=3600)
                    samples["skip"].append((time.perf_counter() - t) / n)
                    assert job.skipped == n
                finally:
                    c.close()
                    if old is None:
                        os.environ.pop("JUPYTER_PIPES_DASK_PROCESSES", None)
                    else:
                        os.environ["JUPYTER_PIPES_DASK_PROCESSES"] = old
                    rmtree(store)
        med = {k: statistics.median(v) for k, v in samples.items()}
        (default, two), (one_w, one), (threads, thr) = (
            (name, med[name]) for name, _w, _p in self.CLUSTERS
        )
        label = "cmd" if kind == "cmd" else "warm notebook"
        limit = 0.008 if kind == "cmd" else 0.015
        b = f"{n:,}-datum job ({label})"
        self.rows += [
            Row(
                f"{b}: full run per datum, {default}",
                two,
                "(absolute)",
                None,
                target=f"≤ {limit * 1000:g} ms",
                check=lambda o, a, limit=limit: o <= limit,
            ),
            Row(
                f"{b}: full run per datum, {default}",
                two,
                one_w,
                one,
                target="≤ 0.6×",
                check=lambda o, a: a is not None and o <= 0.6 * a,
            ),
            Row(f"{b}: full run per datum, {default}", two, threads, thr),
            Row(
                f"{b}: re-run after changing 1 file",
                med["one"],
                "full run",
                two * n,
                target="≤ 5% of full run",
                check=within(0.05),
            ),
            Row(
                f"{b}: all datums skipped, per datum",
                med["skip"],
                "(absolute)",
                None,
                target="< 1 ms",
                check=lambda o, a: o < 0.001,
            ),
        ]
        self.opts.raw.append(
            f"job_{kind}: "
            + "; ".join(f"{k}: " + ", ".join(fmt_s(x) for x in v) for k, v in samples.items())
        )


def sandbox_cost(kernels: Kernels) -> None:
    """What bubblewrap adds to one ``cmd`` datum: ``bash -c true`` run directly and inside the
    datum sandbox (``Sandbox.argv``, as the executor runs every command since #13), sides
    interleaved, 200 runs each."""
    import subprocess

    from jupyter_pipes.pipeline.sandbox import Sandbox, namespaces_unavailable

    pfs = kernels.work / "pfs"
    (pfs / "data").mkdir(parents=True, exist_ok=True)
    (pfs / "out").mkdir(exist_ok=True)
    cmd = ["bash", "-c", "true"]
    why = namespaces_unavailable()
    if why is not None:
        kernels.notes.append(f"sandbox: not measured ({why})")
        return
    wrapped = Sandbox(str(pfs), inputs=("data",)).argv(cmd)
    n = 20 if kernels.n_job < 1000 else 200
    plain, boxed = [], []
    for _ in range(n):
        for argv, out in ((cmd, plain), (wrapped, boxed)):
            t = time.perf_counter()
            subprocess.run(argv, cwd=pfs, check=True)
            out.append(time.perf_counter() - t)
    p, b = statistics.median(plain), statistics.median(boxed)
    kernels.rows += [
        Row("one command: `bash -c true` in the datum sandbox (bwrap)", b, "run directly", p),
        Row("bwrap's own cost per command", b - p, "(absolute)", None),
    ]


def run_kernels(
    opts: Options,
    work: Path,
    *,
    quick: bool,
    datums: int | None = None,
    only: tuple[str, ...] = ("per_datum", "cmd", "warm"),
) -> tuple[list[Row], list[str]]:
    """Run the kernel benchmarks; the table rows and notes (for ``run.py --only kernels``)."""
    k = Kernels(opts, work, quick=quick, datums=datums)
    benches = {
        "per_datum": k.per_datum,
        "cmd": lambda: k.job("cmd"),
        "warm": lambda: k.job("warm"),
        "sandbox": lambda: sandbox_cost(k),
    }
    for name in only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        benches[name]()
    return k.rows, k.notes


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="fewer datums, 1 run (smoke test)")
    ap.add_argument("--repeat", type=int, help="runs per side (median reported); default 3")
    ap.add_argument("--datums", type=int, help="datums of the job benchmarks (default 1,000)")
    ap.add_argument(
        "--only", default="per_datum,cmd,warm,sandbox", help="comma-separated benchmarks"
    )
    ap.add_argument("--workdir", default=os.environ.get("PIPES_BENCH_WORKDIR", str(HERE / ".work")))
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    opts = Options(repeat=args.repeat or (1 if args.quick else 3), drop=False)
    work = Path(args.workdir).resolve() / f"kernels-{os.getpid()}"
    t0 = time.perf_counter()
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    header = machine_info(
        work.parent if work.parent.exists() else HERE, "not dropped (nothing here reads cold data)"
    )
    only = tuple(b.strip() for b in args.only.split(",") if b.strip())
    try:
        rows, notes = run_kernels(opts, work, quick=args.quick, datums=args.datums, only=only)
    finally:
        if not args.keep:
            rmtree(work)
    versions = ", ".join(
        f"{d} {version_of(d)}"
        for d in ("papermill", "nbclient", "jupyter_client", "ipykernel", "distributed")
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# jupyter_pipes kernel and job benchmarks",
        "",
        f"Command: `python benchmarks/kernels.py {' '.join(sys.argv[1:])}`; median of "
        f"{opts.repeat} run(s) per side; sides interleaved; total "
        f"{fmt_s(time.perf_counter() - t0)}",
        "",
        *header,
        f"- {versions}",
        f"- load average (1, 5, 15 min) at start: {load_start}; at end: {load}",
        "",
        *table(rows),
        "",
        "Per-datum figures of the notebook runs include reading the notebook, injecting the "
        "parameters and writing the executed notebook; warm runs include the reset after the "
        "datum (the next datum waits for it). Job figures include materialising inputs, "
        "uploading outputs, all metadata writes and starting the warm kernels; the Dask "
        "cluster is started (and its workers connected) beforehand.",
        "",
        "## Details",
        "",
        *[f"- {n}" for n in notes + opts.raw],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "kernels.md").write_text(text)


if __name__ == "__main__":
    main()
