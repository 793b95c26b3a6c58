"""Benchmarks of jupyter_pipes against ``cp``, ``dvc add`` and ``git commit`` (see README.md).

    python benchmarks/run.py [--quick] [--repeat N] [--only NAME[,NAME]] [--workdir DIR]
                             [--warm] [--profile] [--keep]

Prints a markdown table (median of N runs per side, sides interleaved, same filesystem and
page-cache state for both) and writes it to benchmarks/results/latest.md.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from _util import (  # noqa: E402
    MiB,
    Options,
    Row,
    Side,
    cache_policy,
    compare,
    drop_caches,
    fmt_b,
    fmt_s,
    machine_info,
    make_big_files,
    make_csv_versions,
    make_small_files,
    rmtree,
    run,
    table,
    tree_bytes,
)

from jupyter_pipes import Client  # noqa: E402

SIZES = {
    "full": dict(
        small_n=10_000,
        small_dirs=100,
        big_n=4,
        big_size=128 * MiB,
        many_dirs=100,
        many_per_dir=1_000,
        csv_size=64 * MiB,
        csv_versions=20,
    ),
    "quick": dict(
        small_n=2_000,
        small_dirs=20,
        big_n=4,
        big_size=16 * MiB,
        many_dirs=10,
        many_per_dir=1_000,
        csv_size=8 * MiB,
        csv_versions=20,
    ),
}
BENCHES = ["put_small", "put_large", "reput", "one_change", "storage_csv", "get_large", "kernels"]
DVC_API, DVC_CLI = "dvc add (in-process API)", "dvc add (CLI)"


def git(*args: str, cwd: Path) -> None:
    run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args], cwd=cwd)


def cp(src: Path, dst: Path, *, sync: bool = False) -> None:
    run(["cp", "-r", str(src), str(dst)])
    if sync:
        os.sync()


def dvc_cli_add(root: Path) -> None:
    run(["dvc", "add", "-q", "data"], cwd=root)


def faster3(ours: float, alt: float | None) -> bool:
    return alt is not None and ours * 3 <= alt


def within15(ours: float, alt: float | None) -> bool:
    return alt is not None and ours <= 1.5 * alt


class Suite:
    def __init__(self, args: argparse.Namespace) -> None:
        self.sz = SIZES["quick" if args.quick else "full"]
        self.work = Path(args.workdir).resolve() / f"run-{os.getpid()}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.opts = Options(
            repeat=args.repeat or (1 if args.quick else 3),
            drop=not args.warm,
            profile_dir=HERE / "results" if args.profile else None,
        )
        self.rows: list[Row] = []
        self.notes: list[str] = []
        self.dvc = _dvc_available()
        self.git = shutil.which("git") is not None
        os.environ["DVC_NO_ANALYTICS"] = "1"
        os.environ["DVC_SITE_CACHE_DIR"] = str(self.work / "dvc-site")  # state DB not in /var/tmp

    @contextmanager
    def untimed(self, note: str) -> Iterator[None]:
        """Time a setup step the results leave out; note it (``note`` with ``{}`` for the
        time) in the report's details."""
        t = time.perf_counter()
        yield
        self.notes.append(note.format(fmt_s(time.perf_counter() - t)))

    # -- data, generated on first use (untimed) ------------------------------------------------

    def _data(self, name: str, make) -> Path:  # type: ignore[no-untyped-def]
        p = self.work / "data" / name
        if not p.exists():
            with self.untimed(f"generated {name} in {{}} (untimed)"):
                make(p)
        return p

    def small(self) -> Path:
        n, d = self.sz["small_n"], self.sz["small_dirs"]
        return self._data(
            "small",
            lambda p: make_small_files(
                p, n, d, 1024, seed=1, name=lambda i, j: f"d{i:03d}/f{j:04d}.bin"
            ),
        )

    def big(self) -> Path:
        n, size = self.sz["big_n"], self.sz["big_size"]
        return self._data("big", lambda p: make_big_files(p, n, size, seed=2))

    def many(self) -> Path:
        d, k = self.sz["many_dirs"], self.sz["many_per_dir"]
        return self._data(
            "many",
            lambda p: make_small_files(
                p, d * k, d, 64, seed=3, name=lambda i, j: f"d{i:03d}/f{j:05d}.txt"
            ),
        )

    def csvs(self) -> list[Path]:
        size, n = self.sz["csv_size"], self.sz["csv_versions"]
        return sorted(self._data("csv", lambda p: make_csv_versions(p, size, n)).glob("v*.csv"))

    # -- helpers -------------------------------------------------------------------------------

    def store(self, name: str, repo: str) -> Client:
        rmtree(self.work / name)
        c = Client(self.work / name)
        c.create_repo(repo)
        return c

    def scratch(self, name: str) -> Path:
        rmtree(self.work / name)
        return self.work / name

    def dvc_repo(self, name: str, copy: Path | None = None) -> Path:
        """A fresh ``git init`` + ``dvc init`` repo, with ``copy`` copied in as ``data``."""
        root = self.scratch(name)
        root.mkdir(parents=True)
        git("init", "-q", cwd=root)
        run(["dvc", "init", "-q"], cwd=root)
        if copy is not None:
            cp(copy, root / "data")
        return root

    def dvc_api(self, root: Path, target: str, versions: list[Path] | None = None) -> list[float]:
        """Seconds of each in-process ``Repo.add`` (timed inside a fresh interpreter)."""
        cmd = [sys.executable, str(HERE / "_dvc_add.py"), str(root), target]
        cmd += ["--drop"] if self.opts.drop else []
        p = run(cmd + [str(v) for v in versions or []], cwd=root)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def dvc_sides(self, src: Path, cli: bool = True) -> list[Side]:
        if not self.dvc:
            return []

        def mk(i: int) -> Path:
            return self.dvc_repo(f"dvc{i}", src)

        sides = [Side(DVC_API, lambda r: self.dvc_api(r, "data")[0], mk, rmtree)]
        if cli:
            sides.append(Side(DVC_CLI, dvc_cli_add, mk, rmtree))
        return sides

    def info_rows(self, bench: str, medians: dict[str, float]) -> None:
        for name, v in medians.items():
            if name != "ours":
                self.rows.append(Row(bench, medians["ours"], name, v))

    # -- 1. put 10,000 small files ---------------------------------------------------------------

    def put_small(self) -> None:
        src, n = self.small(), self.sz["small_n"]
        b = f"put {n:,} × 1 KiB files"

        def ours(c: Client) -> None:
            assert c.put_file("b@master", "/", src).file_count == n

        sides = [
            Side("ours", ours, lambda i: self.store("s1", "b"), Client.close),
            Side("cp -r", lambda d: cp(src, d), lambda i: self.scratch("cp1"), rmtree),
            *self.dvc_sides(src),
        ]
        m = compare("put_small", sides, self.opts)
        self.rows.append(Row(b, m["ours"], "cp -r", m["cp -r"]))
        for name in (DVC_API, DVC_CLI):
            self.rows.append(
                Row(b, m["ours"], name, m.get(name), target="≥ 3× faster", check=faster3)
            )

    # -- 2. put 4 large files --------------------------------------------------------------------

    def put_large(self) -> None:
        src = self.big()
        b = f"put {self.sz['big_n']} × {self.sz['big_size'] // MiB} MiB files"
        sides = [
            Side(
                "ours",
                lambda c: c.put_file("big@master", "/", src) and None,
                lambda i: self.store("s2", "big"),
                Client.close,
            ),
            Side("cp -r", lambda d: cp(src, d), lambda i: self.scratch("cp2"), rmtree),
            Side(
                "cp -r && sync",
                lambda d: cp(src, d, sync=True),
                lambda i: self.scratch("cp2"),
                rmtree,
            ),
            *self.dvc_sides(src, cli=False),
        ]
        m = compare("put_large", sides, self.opts)
        self.rows.append(
            Row(b, m["ours"], "cp -r", m["cp -r"], target="≤ 1.5× cp -r", check=within15)
        )
        self.rows.append(
            Row(
                b,
                m["ours"],
                "cp -r && sync (durable, like ours)",
                m["cp -r && sync"],
                target="≤ 1.5× (fair variant)",
                check=within15,
            )
        )
        if self.dvc:
            self.rows.append(Row(b, m["ours"], DVC_API, m[DVC_API]))

    # -- 3. re-put the unchanged folder ----------------------------------------------------------

    def reput(self) -> None:
        src, b = self.small(), f"re-put unchanged {self.sz['small_n']:,} files"
        c = self.store("s3", "b")
        c.put_file("b@master", "/", src)  # the first put, untimed
        c.close()
        packs = self.work / "s3" / "packs"
        new: list[int] = []  # pack bytes each re-put added

        def ours_setup(i: int) -> Client:
            new.append(-tree_bytes(packs))
            return Client(self.work / "s3")

        def ours_done(c: Client) -> None:
            c.close()
            new[-1] += tree_bytes(packs)

        def ours(c: Client) -> None:
            c.put_file("b@master", "/", src)

        sides = [Side("ours", ours, ours_setup, ours_done)]
        dvc_new: list[int] = []
        if self.dvc:
            root = self.dvc_repo("dvc3", src)
            self.dvc_api(root, "data")  # the first add, untimed
            cache = root / ".dvc" / "cache"

            def dvc_setup(i: int) -> Path:
                dvc_new.append(-tree_bytes(cache))
                return root

            def dvc_done(r: Path) -> None:
                dvc_new[-1] += tree_bytes(cache)

            sides += [
                Side(
                    "dvc add again (in-process API)",
                    lambda r: self.dvc_api(r, "data")[0],
                    dvc_setup,
                    dvc_done,
                ),
                Side("dvc add again (CLI)", dvc_cli_add, dvc_setup, dvc_done),
            ]
        m = compare("reput", sides, self.opts)
        self.info_rows(b, m)
        self.rows.append(
            Row(
                b + ": new bytes",
                max(new),
                "dvc: new cache bytes",
                max(dvc_new) if dvc_new else None,
                unit="B",
                target="≈ 0 (≤ 64 KiB)",
                check=lambda o, a: o <= 64 * 1024,
            )
        )
        self.notes.append(
            f"reput: new pack bytes per run (ours): {new}; dvc cache growth: {dvc_new}"
        )

    # -- 4. one changed file in a big repo -------------------------------------------------------

    def one_change(self) -> None:
        src = self.many()
        nfiles = self.sz["many_dirs"] * self.sz["many_per_dir"]
        path = f"/d{min(42, self.sz['many_dirs'] - 1):03d}/f00123.txt"
        b = f"commit 1 changed file in {nfiles:,}-file repo"
        with self.untimed(f"one_change: initial put of {nfiles:,} files (untimed) took {{}}"):
            c = self.store("s4", "big")
            c.put_file("big@master", "/", src)
            c.close()

        def ours(ctx: tuple[Client, int]) -> None:
            ctx[0].put_file("big@master", path, b"changed %d" % ctx[1])

        def ours_done(ctx: tuple[Client, int]) -> None:
            assert ctx[0].get_file("big@master", path) == b"changed %d" % ctx[1]
            ctx[0].close()

        # a fresh Client per run: no tree cache carried over (like git's fresh process)
        sides = [Side("ours", ours, lambda i: (Client(self.work / "s4"), i), ours_done)]
        if self.git:
            g = self.work / "git4"
            with self.untimed("one_change: git repo setup (untimed) took {}"):
                cp(src, g)
                git("init", "-q", cwd=g)
                git("add", "-A", cwd=g)
                git("commit", "-q", "-m", "init", cwd=g)

            def git_setup(i: int) -> Path:
                (g / path.lstrip("/")).write_bytes(b"changed %d" % i)
                return g

            def git_commit(r: Path) -> None:
                git("add", path.lstrip("/"), cwd=r)
                git("commit", "-q", "-m", "change", cwd=r)

            sides.append(Side("git add + git commit", git_commit, git_setup))
        m = compare("one_change", sides, self.opts, repeat=max(5, self.opts.repeat))
        self.rows.append(
            Row(b, m["ours"], "(absolute)", None, target="< 100 ms", check=lambda o, a: o < 0.100)
        )
        self.info_rows(b, m)

    # -- 5. storage of 20 versions of a growing CSV ----------------------------------------------

    def storage_csv(self) -> None:
        versions = self.csvs()
        final = versions[-1].stat().st_size
        b = f"{len(versions)} versions of a {self.sz['csv_size'] // MiB} MiB CSV (+1% rows each)"
        c = self.store("s5", "csv")
        put_time = 0.0
        for v in versions:
            drop_caches(self.opts.drop)
            t = time.perf_counter()
            c.put_file("csv@master", "/data.csv", v)
            put_time += time.perf_counter() - t
        assert c.inspect_file("csv@master", "/data.csv").size_bytes == final
        c.close()
        packs = tree_bytes(self.work / "s5" / "packs")
        self.rows.append(
            Row(
                b + ": bytes stored",
                packs,
                "final file size",
                final,
                unit="B",
                target="< 1.3×",
                check=lambda o, a: a is not None and o < 1.3 * a,
            )
        )
        dvc_cache, dvc_time = None, None
        if self.dvc:
            root = self.dvc_repo("dvc5")
            times = self.dvc_api(root, "data.csv", versions)
            dvc_cache, dvc_time = tree_bytes(root / ".dvc" / "cache"), sum(times)
            rmtree(root)
        self.rows.append(Row(b + ": bytes stored", packs, "dvc cache", dvc_cache, unit="B"))
        self.rows.append(Row(b + ": total put time", put_time, "dvc add × each version", dvc_time))
        self.notes.append(
            f"storage_csv: final file {fmt_b(final)}, packs {fmt_b(packs)} (one "
            "run; counts packs/ only, not metadata.sqlite)"
        )

    # -- 6. get a large file ---------------------------------------------------------------------

    def get_large(self) -> None:
        src = self.big() / "f0.bin"
        b = f"get_file of a {self.sz['big_size'] // MiB} MiB file"
        c = self.store("s6", "big")
        c.put_file("big@master", "/f0.bin", src)
        out = self.work / "got"
        out.mkdir(exist_ok=True)

        def fresh(name: str) -> Path:  # never overwrite: ext4 flushes on rename/truncate-over
            (out / name).unlink(missing_ok=True)
            return out / name

        sides = [
            Side(
                "ours",
                lambda d: c.get_file("big@master", "/f0.bin", dest=d) and None,
                lambda i: fresh("ours.bin"),
            ),
            Side("cp", lambda d: run(["cp", str(src), str(d)]) and None, lambda i: fresh("cp.bin")),
        ]
        m = compare("get_large", sides, self.opts)
        assert filecmp.cmp(src, out / "ours.bin", shallow=False)
        c.close()
        self.info_rows(b, m)

    # -- 7. kernels and jobs: benchmarks/kernels.py ----------------------------------------------

    def kernels(self) -> None:
        from kernels import run_kernels

        opts = Options(repeat=self.opts.repeat, drop=False, raw=self.opts.raw)
        rows, notes = run_kernels(opts, self.work / "kernels", quick=self.sz is SIZES["quick"])
        self.rows += rows
        self.notes += notes


def _dvc_available() -> bool:
    if shutil.which("dvc") is None:
        return False
    try:
        import dvc.repo  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 run (smoke test)")
    ap.add_argument("--repeat", type=int, help="runs per side (median reported); default 3")
    ap.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHES)}")
    ap.add_argument(
        "--workdir",
        default=os.environ.get("PIPES_BENCH_WORKDIR", str(HERE / ".work")),
        help="scratch folder on the disk to measure (default: benchmarks/.work)",
    )
    ap.add_argument("--warm", action="store_true", help="do not drop the page cache before runs")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also profile ours once (pyinstrument) into results/profile-NAME.txt",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work folder (data, stores)")
    args = ap.parse_args()
    only = args.only.split(",") if args.only else BENCHES
    if set(only) - set(BENCHES):
        ap.error(f"unknown benchmark(s): {', '.join(sorted(set(only) - set(BENCHES)))}")

    suite = Suite(args)
    t0 = time.perf_counter()
    header = machine_info(suite.work, cache_policy(not args.warm))
    try:
        for name in BENCHES:
            if name in only:
                print(f"running {name} ...", file=sys.stderr, flush=True)
                getattr(suite, name)()
    finally:
        if not args.keep:
            rmtree(suite.work)
    cmd = " ".join(["python benchmarks/run.py", *sys.argv[1:]])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# jupyter_pipes benchmarks",
        "",
        f"Command: `{cmd}`; mode: {'quick (small sizes)' if args.quick else 'full'}; median of "
        f"{suite.opts.repeat} run(s) per side (one_change: {max(5, suite.opts.repeat)}); sides "
        f"interleaved; total {fmt_s(time.perf_counter() - t0)}",
        "",
        *header,
        f"- load average at end: {load}",
        "",
        *table(suite.rows),
        "",
        'ours/alt < 1 means ours is faster (or smaller). "dvc add (CLI)" includes DVC\'s ~0.5 s '
        'interpreter start-up; "in-process API" times `Repo.add` alone, as ours times '
        "`Client.put_file` alone. DVC uses its default cache (a copy, on ext4).",
        *(
            [
                "",
                "**Quick mode: the targets are set for the full sizes; these verdicts are only "
                "indicative.**",
            ]
            if args.quick
            else []
        ),
        "",
        "## Details",
        "",
        *[f"- {n}" for n in suite.notes + suite.opts.raw],
    ]
    if not suite.dvc:
        lines.append("- dvc is not installed (`pip install -r benchmarks/requirements.txt`): n/a")
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "latest.md").write_text(text)


if __name__ == "__main__":
    main()
