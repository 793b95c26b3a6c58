"""Reading a 100 MiB CSV with pandas through ``pipes://``, against what a user would do instead.

    python benchmarks/fs.py [--size-mib 100] [--repeat 3] [--cold] [--workdir DIR] [--keep]

Sides (each run in a fresh Python process, so no run warms another's caches or instances; the
time is measured inside the process around the read only, after the imports; peak RSS is the
process's ``ru_maxrss``):

1. ``pd.read_csv("pipes://bench@master/data.csv", storage_options={"store": ...})``: the
   filesystem is created (the Client opens the store), the file read by ranged, verified reads.
2. ``pd.read_csv(local_path)``: the same bytes as a plain local file (the floor).
3. ``pd.read_csv(open(local_path, "rb"))``: the local file as a Python file object, which is how
   pandas reads any fsspec file (through Python ``read`` calls): the floor for any fsspec URL.
4. ``Client.get_file(..., dest=tmp)`` then ``pd.read_csv(tmp)``: copying the file out first.
5. ``pd.read_csv(io.BytesIO(Client.get_file(...)))``: the whole file in memory first.

Sides are interleaved (1, 2, 3, 4, 5, 1, 2, ...) and the median of ``--repeat`` runs is reported,
with the ratio to the local read; CPU time (user + system of the reading process) is reported
too, since on a shared machine it varies far less with the load than wall time. The page cache
is warm unless ``--cold`` (root only: ``echo 3 > /proc/sys/vm/drop_caches`` before every run,
which also slows everyone else on the machine).
Prints a markdown table and writes it to ``benchmarks/results/fs.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing
sys.path.insert(0, str(HERE))

from _util import MiB, cache_policy, csv_rows, drop_caches, fmt_s, machine_info, rmtree  # noqa: E402

from jupyter_pipes import Client  # noqa: E402

SIDES = {
    "pd.read_csv('pipes://...')": (
        "df = pd.read_csv(f'pipes://bench@master/data.csv', storage_options={'store': STORE})"
    ),
    "pd.read_csv(local file)": "df = pd.read_csv(LOCAL)",
    "pd.read_csv(open(local file, 'rb'))": (
        "with open(LOCAL, 'rb') as f:\n    df = pd.read_csv(f)"
    ),
    "Client.get_file to a temp file + pd.read_csv": (
        "d = tempfile.mkdtemp(dir=WORK)\n"
        "p = Client(STORE).get_file('bench@master', '/data.csv', dest=d + '/data.csv')\n"
        "df = pd.read_csv(p)\n"
        "shutil.rmtree(d)"
    ),
    "pd.read_csv(BytesIO(Client.get_file(...)))": (
        "df = pd.read_csv(io.BytesIO(Client(STORE).get_file('bench@master', '/data.csv')))"
    ),
}
LOCAL_SIDE = "pd.read_csv(local file)"

CHILD = """
import io, json, resource, shutil, sys, tempfile, time
import pandas as pd
from jupyter_pipes import Client
import jupyter_pipes.fs  # imported before timing, as by an earlier pipes:// call
STORE, LOCAL, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
c0, t0 = cpu(), time.perf_counter()
{code}
seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "cpu": cpu_seconds, "rows": len(df), "peak_kib": peak,
                  "base_kib": base}}))
"""


def make_csv(path: Path, size: int) -> int:
    """A deterministic CSV of about ``size`` bytes; its number of data rows."""
    rows = 0
    with open(path, "wb") as f:
        f.write(b"id,price,ratio,category,date\n")
        written = 0
        while written < size:
            chunk = csv_rows(rows, 50_000)
            f.write(chunk)
            written += len(chunk)
            rows += 50_000
    return rows


def run_side(code: str, store: Path, local: Path, work: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(code=code), str(store), str(local), str(work)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode:
        raise RuntimeError(f"side failed:\n{code}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size-mib", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="drop the page cache before every run")
    ap.add_argument("--workdir", default=os.environ.get("PIPES_BENCH_WORKDIR", HERE / ".work"))
    ap.add_argument("--keep", action="store_true", help="keep the data and the store")
    args = ap.parse_args()

    work = Path(args.workdir).resolve() / f"fs-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    try:
        local = work / "data.csv"
        rows = make_csv(local, args.size_mib * MiB)
        store = work / "store"
        with Client(str(store)) as c:
            c.create_repo("bench")
            c.put_file("bench@master", "/data.csv", str(local))
        cache = (
            cache_policy(True)
            if args.cold
            else "warm: every side reads from the page cache (run with --cold to drop it)"
        )
        header = machine_info(work, cache)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in SIDES}
        loads = []
        for _ in range(args.repeat):
            for name, code in SIDES.items():
                drop_caches(args.cold)
                s = run_side(code, store, local, work)
                assert s["rows"] == rows, (name, s["rows"], rows)
                samples[name].append(s)
                loads.append(os.getloadavg()[0])
        report(args, header, samples, local.stat().st_size, loads, time.perf_counter() - t_start)
    finally:
        if not args.keep:
            rmtree(work)


def report(
    args: argparse.Namespace,
    header: list[str],
    samples: dict[str, list[dict[str, float]]],
    size: int,
    loads: list[float],
    total: float,
) -> None:
    med = {n: statistics.median(s["seconds"] for s in ss) for n, ss in samples.items()}
    cpu = {n: statistics.median(s["cpu"] for s in ss) for n, ss in samples.items()}
    rss = {n: max(s["peak_kib"] for s in ss) / 1024 for n, ss in samples.items()}
    base = {n: min(s["base_kib"] for s in ss) / 1024 for n, ss in samples.items()}
    floor = med[LOCAL_SIDE]
    lines = [
        "# pandas.read_csv through pipes://",
        "",
        f"Command: `python benchmarks/fs.py {' '.join(sys.argv[1:])}`; a {size / MiB:.0f} MiB "
        f"CSV; median of {args.repeat} run(s) per side, sides interleaved, each in a fresh "
        f"process; total {fmt_s(total)}.",
        "",
        *header,
        f"- 1-minute load average during the runs: {min(loads):.1f}–{max(loads):.1f}",
        "",
        "| reading the CSV | median wall | vs local file | median CPU (user+sys) | vs local "
        "file | peak RSS (before the read) |",
        "|---|---|---|---|---|---|",
    ]
    for n in SIDES:
        lines.append(
            f"| {n} | {fmt_s(med[n])} | {med[n] / floor:.2f}× | {fmt_s(cpu[n])} | "
            f"{cpu[n] / cpu[LOCAL_SIDE]:.2f}× | {rss[n]:.0f} MiB ({base[n]:.0f} MiB) |"
        )
    lines += ["", "## Samples", ""]
    for n, ss in samples.items():
        lines.append(
            f"- {n}: wall "
            + ", ".join(fmt_s(s["seconds"]) for s in ss)
            + "; CPU "
            + ", ".join(fmt_s(s["cpu"]) for s in ss)
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / "fs.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
