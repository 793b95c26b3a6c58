"""Lineage (#14): how long a file's lineage and an explanation take, and what recording the cell
that wrote each output costs per datum.

    python benchmarks/lineage.py [--quick] [--repeat N] [--workdir DIR] [--keep]

1. On the iris demo's store (``jupyter pipes demo``, built first, untimed): ``Client.lineage``
   of a prediction (with and without reading the executed notebooks for the cell), next to the
   commit-level provenance walk the demo printed before (``jupyter_pipes.demos.lineage``: what a
   user had), and ``Client.explain`` of the predictions before and after the model revert.
2. Scale: a ``cmd`` pipeline reading a 1,000-file repo (``glob: /``, one datum: the lineage
   lists 200 of the files, each traced to its commit), and a user file unchanged for 200
   commits (the writer is searched through them).
3. Cell tracking: a warm-kernel datum of a notebook with 6 code cells, 5 of them writing a file
   to ``out``, with the tracking on and off (interleaved); and one ``stat`` walk of an ``out``
   folder of 10, 100 and 1,000 files (the cost per cell).

Prints a markdown table (medians, sides interleaved) and writes it to
``benchmarks/results/lineage.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing
sys.path.insert(0, str(HERE))

import nbformat  # noqa: E402
from _util import Options, Side, compare, fmt_s, machine_info, rmtree  # noqa: E402

from jupyter_pipes import Client  # noqa: E402
from jupyter_pipes.pipeline import notebook as nbmod  # noqa: E402
from jupyter_pipes.pipeline.warm import KernelPool, run_warm  # noqa: E402

PRED = "/batch-01.predictions.csv"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _demo(work: Path) -> tuple[Client, dict[str, str]]:
    from jupyter_pipes.demos import run_demo

    client = Client(str(work / "demo"))
    run_demo(client, out=lambda _l: None)
    predict = [c.id for c in client.list_commit("predict@master")]
    return client, {"after": predict[0], "before": predict[1]}


def bench_demo(opts: Options, work: Path, rows: list[list[str]]) -> None:
    from jupyter_pipes.demos import lineage as commit_walk

    client, ids = _demo(work)
    try:
        ref = f"predict@{ids['before']}:{PRED}"
        t = compare(
            "demo lineage",
            [
                Side("lineage", lambda _: client.lineage(ref) and None),
                Side("lineage, no cells", lambda _: client.lineage(ref, cells=False) and None),
                Side("commit walk", lambda _: commit_walk(client, ref.split(":")[0]) and None),
            ],
            opts,
        )
        lin = client.lineage(ref)
        size = f"{len(lin.files)} files, {len(lin.steps)} steps, {len(lin.commits)} commits"
        rows.append(
            [
                "lineage of a prediction (iris demo, with cells)",
                fmt_s(t["lineage"]),
                "commit-level provenance walk (demo.lineage)",
                fmt_s(t["commit walk"]),
                f"{t['lineage'] / t['commit walk']:.1f}×",
                size,
            ]
        )
        rows.append(
            [
                "lineage of a prediction, without cells",
                fmt_s(t["lineage, no cells"]),
                "with cells",
                fmt_s(t["lineage"]),
                f"{t['lineage, no cells'] / t['lineage']:.2f}×",
                "",
            ]
        )
        old, new = f"predict@{ids['before']}:{PRED}", f"predict@{ids['after']}"
        e = compare("explain", [Side("explain", lambda _: client.explain(old, new) and None)], opts)
        ex = client.explain(old, new)
        rows.append(
            [
                "explain: predictions before vs after the model revert",
                fmt_s(e["explain"]),
                "(absolute)",
                "—",
                "—",
                f"{len(ex.differences)} differences",
            ]
        )
    finally:
        client.close()


def bench_scale(opts: Options, work: Path, rows: list[list[str]], n_files: int) -> None:
    client = Client(str(work / "scale"), n_workers=1)
    try:
        client.create_repo("many")
        with client.start_commit("many@master", message="many files") as oc:
            for i in range(n_files):
                oc.put_file(f"/f{i:05}.txt", f"{i}\n".encode())
        spec = {
            "pipeline": {"name": "count"},
            "input": {"pfs": {"repo": "many", "glob": "/"}},
            "transform": {"cmd": ["bash", "-c", 'ls "$many" | wc -l > "$out/n.txt"']},
        }
        info = client.create_pipeline(spec)
        client.wait_commit(f"count@{info.spec_commit}", timeout=600)
        t = compare(
            "wide", [Side("wide", lambda _: client.lineage("count@master:/n.txt") and None)], opts
        )
        listed = len(client.lineage("count@master:/n.txt").files) - 1
        rows.append(
            [
                f"lineage of one output of a datum reading {n_files:,} files",
                fmt_s(t["wide"]),
                "(absolute)",
                "—",
                "—",
                f"{listed} files listed and traced",
            ]
        )
        client.create_repo("deep")
        client.put_file("deep@master", "/keep.csv", b"a,b\n1,2\n", message="the file")
        for i in range(200):
            client.put_file("deep@master", f"/other-{i}.txt", b"x", message=f"other {i}")
        t = compare(
            "deep", [Side("deep", lambda _: client.lineage("deep@master:/keep.csv") and None)], opts
        )
        rows.append(
            [
                "lineage of a user file unchanged for 200 commits",
                fmt_s(t["deep"]),
                "(absolute)",
                "—",
                "—",
                "writer found 200 commits back",
            ]
        )
    finally:
        client.close()


WRITES = [f"(pathlib.Path(out) / 'f{i}.txt').write_text('{i}' * 100)" for i in range(5)]


def bench_cells(opts: Options, work: Path, rows: list[list[str]], n: int) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [
        nbformat.v4.new_code_cell("out = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import pathlib"),
    ]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in WRITES]
    src = work / "writer.ipynb"
    nbformat.write(nb, src)
    pool = KernelPool(max_uses=10_000)
    counter = iter(range(10**9))

    def datum(track: bool) -> float:
        i = next(counter)
        out = work / "runs" / f"{i}" / "out"
        out.mkdir(parents=True)
        nbmod.TRACK_WRITES = track
        try:
            t0 = time.perf_counter()
            for _ in range(n):
                r = run_warm(
                    pool, src, out.parent / "executed.ipynb", {"out": str(out)}, cwd=out.parent
                )
                assert r.ok, r.error
            return (time.perf_counter() - t0) / n
        finally:
            nbmod.TRACK_WRITES = True
            rmtree(out.parent)

    try:
        datum(True)  # start the kernel, untimed
        t = compare(
            "cells",
            [Side("tracked", lambda _: datum(True)), Side("untracked", lambda _: datum(False))],
            opts,
        )
        extra = t["tracked"] - t["untracked"]
        rows.append(
            [
                "warm datum, 7 cells, 5 writing a file: cell tracking on",
                fmt_s(t["tracked"]),
                "tracking off",
                fmt_s(t["untracked"]),
                f"{t['tracked'] / t['untracked']:.2f}×",
                f"{extra * 1000:+.2f} ms per datum (median of {n}-datum batches)",
            ]
        )
    finally:
        pool.close()
    for files in (10, 100, 1000):
        folder = work / f"snap-{files}"
        folder.mkdir()
        for i in range(files):
            (folder / f"f{i}.bin").write_bytes(b"x")
        reps = 200
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(reps):
                nbmod._snapshot(str(folder))
            samples.append((time.perf_counter() - t0) / reps)
        rows.append(
            [
                f"one stat walk of an out folder of {files:,} files (per cell)",
                fmt_s(statistics.median(samples)),
                "(absolute)",
                "—",
                "—",
                "",
            ]
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--workdir", default=str(HERE / ".work" / "lineage"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    opts = Options(repeat=args.repeat or (3 if args.quick else 7), drop=False)
    work = Path(args.workdir)
    rmtree(work)
    work.mkdir(parents=True)
    rows: list[list[str]] = []
    try:
        bench_demo(opts, work, rows)
        bench_scale(opts, work, rows, 200 if args.quick else 1000)
        bench_cells(opts, work, rows, 5 if args.quick else 20)
    finally:
        if not args.keep:
            rmtree(work)
    head = ["benchmark", "ours", "alternative", "alternative's", "ours/alt", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    info = machine_info(work.parent, "warm: page cache not dropped (nothing here reads cold)")
    text = "\n".join([*info, "", *lines, "", "Samples:", "", *opts.raw]) + "\n"
    out = HERE / "results" / "lineage.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
