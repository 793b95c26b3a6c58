"""Helpers of the benchmarks: timing, page cache, data generation, machine info, tables, and
a real ``jupyter server`` to time requests against."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

KiB, MiB = 1 << 10, 1 << 20

# -- page cache ------------------------------------------------------------------------------

_DROP: bool | None = None  # None: not tried yet


def drop_caches(enabled: bool = True) -> bool:
    """``sync`` and, when allowed (root), drop the page cache so the next read is cold."""
    global _DROP
    os.sync()
    if not enabled or _DROP is False:
        return False
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        _DROP = True
    except OSError:
        _DROP = False
    return _DROP


def cache_policy(enabled: bool) -> str:
    if enabled and drop_caches(True):
        return "cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before every timed run (both sides)"
    return "warm: page cache NOT dropped (no permission or --warm); `sync` before every timed run"


# -- timing ----------------------------------------------------------------------------------


@dataclass
class Side:
    """One contender: ``setup(i)`` (untimed) returns a context passed to ``run`` (timed).

    ``run`` may return a float: its own measurement (e.g. timed inside a subprocess)."""

    name: str
    run: Callable[[Any], float | None]
    setup: Callable[[int], Any] = lambda i: i
    teardown: Callable[[Any], None] = lambda ctx: None


@dataclass
class Options:
    repeat: int
    drop: bool
    profile_dir: Path | None = None
    raw: list[str] = field(default_factory=list)  # every individual sample, for the report


def compare(
    bench: str, sides: list[Side], opts: Options, repeat: int | None = None
) -> dict[str, float]:
    """Run every side ``repeat`` times, interleaved (A B A B ...), under the same cache policy;
    the median seconds of each side. With ``opts.profile_dir``, the first side (ours) is run once
    more under pyinstrument, untimed, and the profile written there."""
    n = repeat or opts.repeat
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    for i in range(n):
        for s in sides:
            ctx = s.setup(i)
            drop_caches(opts.drop)
            t0 = time.perf_counter()
            own = s.run(ctx)
            elapsed = time.perf_counter() - t0
            s.teardown(ctx)
            times[s.name].append(own if own is not None else elapsed)
    for name, ts in times.items():
        opts.raw.append(f"{bench} / {name}: " + ", ".join(fmt_s(t) for t in ts))
    if opts.profile_dir is not None:
        profile(bench, sides[0], opts)
    return {name: statistics.median(ts) for name, ts in times.items()}


def profile(bench: str, side: Side, opts: Options) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        print("pyinstrument is not installed: no profile", file=sys.stderr)
        return
    assert opts.profile_dir is not None
    ctx = side.setup(-1)
    drop_caches(opts.drop)
    p = Profiler(interval=0.0005)
    p.start()
    side.run(ctx)
    p.stop()
    side.teardown(ctx)
    opts.profile_dir.mkdir(parents=True, exist_ok=True)
    out = opts.profile_dir / f"profile-{bench}.txt"
    out.write_text(p.output_text(unicode=False, color=False, show_all=False))
    print(f"  profile written to {out}", file=sys.stderr)


def run(
    cmd: list[str], cwd: str | Path | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """Run a command, quietly; raise with its output when it fails."""
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, **kw)
    if p.returncode:
        raise RuntimeError(
            f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
        )
    return p


def tree_bytes(path: str | Path) -> int:
    """Total apparent size of the regular files under ``path`` (0 if missing)."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


def rmtree(path: str | Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- data --------------------------------------------------------------------------------------


def make_small_files(
    dest: Path, n_files: int, n_dirs: int, size: int, seed: int, name: Callable[[int, int], str]
) -> Path:
    """``n_files`` files of ``size`` random bytes spread over ``n_dirs`` folders.

    ``name(dir_index, index_in_dir)`` gives each file's relative path."""
    rnd = random.Random(seed)
    per_dir = -(-n_files // n_dirs)
    for d in range(n_dirs):
        for j in range(per_dir):
            i = d * per_dir + j
            if i >= n_files:
                break
            p = dest / name(d, j)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(rnd.randbytes(size))
    return dest


def make_big_files(dest: Path, n: int, size: int, seed: int) -> Path:
    """``n`` files ``f0.bin`` ... of ``size`` random bytes each."""
    dest.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    for i in range(n):
        with open(dest / f"f{i}.bin", "wb") as f:
            left = size
            while left:
                k = min(left, 16 * MiB)
                f.write(rnd.randbytes(k))
                left -= k
    return dest


_CATS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]


def csv_rows(start: int, count: int, seed: int = 7) -> bytes:
    """Deterministic realistic CSV rows: id, price, ratio, category, date."""
    rnd = random.Random(seed * 1_000_003 + start)
    out = []
    for i in range(start, start + count):
        day = 1 + rnd.randrange(28)
        out.append(
            f"{i},{rnd.uniform(0, 10_000):.4f},{rnd.gauss(0, 1):.6f},{rnd.choice(_CATS)},"
            f"20{rnd.randrange(15, 25)}-{1 + rnd.randrange(12):02d}-{day:02d}\n"
        )
    return "".join(out).encode()


def make_csv_versions(dest: Path, base_size: int, versions: int) -> list[Path]:
    """``versions`` files: a CSV of about ``base_size`` bytes, then each next one with 1% more
    rows (1% of the original row count) appended."""
    dest.mkdir(parents=True, exist_ok=True)
    header = b"id,price,ratio,category,date\n"
    body, rows = bytearray(header), 0
    step = 50_000
    while len(body) < base_size:
        body += csv_rows(rows, step)
        rows += step
    # trim to whole rows near base_size
    cut = body.rfind(b"\n", 0, base_size) + 1
    rows = body[:cut].count(b"\n") - 1
    del body[cut:]
    extra = max(1, rows // 100)
    paths = []
    for v in range(versions):
        if v:
            body += csv_rows(rows, extra)
            rows += extra
        p = dest / f"v{v:02d}.csv"
        p.write_bytes(body)
        paths.append(p)
    return paths


# -- machine info ------------------------------------------------------------------------------


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "n/a"


def filesystem(path: str | Path) -> str:
    """``device fstype mountpoint`` of the filesystem holding ``path``."""
    try:
        out = run(["df", "--output=source,fstype,target", str(path)]).stdout.splitlines()[-1]
        return " ".join(out.split())
    except (RuntimeError, OSError, IndexError):
        return "?"


def machine_info(workdir: Path, cache: str) -> list[str]:
    mem = "?"
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / MiB:.1f} GiB"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import jupyter_pipes

    git, rev = "n/a", "?"
    with contextlib.suppress(RuntimeError, OSError):
        git = run(["git", "--version"]).stdout.split()[-1]
        rev = run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent).stdout.strip()
    free = shutil.disk_usage(workdir).free
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}",
        f"- cpus: {os.cpu_count()} ({cpu}); RAM: {mem}; load average at start: {load}",
        f"- python {platform.python_version()} ({platform.platform()})",
        f"- jupyter_pipes {jupyter_pipes.__version__} (checkout at commit {rev}), "
        f"blake3 {version_of('blake3')}, pyfastcdc {version_of('pyfastcdc')}, "
        f"sqlalchemy {version_of('sqlalchemy')}, dvc {version_of('dvc')}, git {git}",
        f"- workdir: `{workdir}` on `{filesystem(workdir)}`, {free / (1 << 30):.1f} GiB free; "
        f"/tmp is on `{filesystem('/tmp')}`",
        f"- page cache: {cache}",
    ]


# -- table -------------------------------------------------------------------------------------


def fmt_s(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def fmt_b(n: float) -> str:
    if n < 10 * KiB:
        return f"{int(n)} B"
    return f"{n / MiB:.1f} MiB" if n >= MiB else f"{n / KiB:.1f} KiB"


@dataclass
class Row:
    """One table line: ours vs one alternative. ``check(ours, alt)`` -> bool, or None (info)."""

    bench: str
    ours: float
    alt_name: str
    alt: float | None
    unit: str = "s"  # "s" or "B"
    target: str = "info"
    check: Callable[[float, float | None], bool] | None = None

    def cells(self) -> list[str]:
        fmt = fmt_s if self.unit == "s" else fmt_b
        ratio = (
            "n/a" if self.alt is None else "—" if not self.alt else f"{self.ours / self.alt:.2f}×"
        )
        if self.check is None:
            verdict = "—"
        elif self.alt is None and self.alt_name != "(absolute)":
            verdict = "n/a"
        else:
            verdict = "PASS" if self.check(self.ours, self.alt) else "MISS"
        alt = (
            "—" if self.alt_name == "(absolute)" else ("n/a" if self.alt is None else fmt(self.alt))
        )
        if self.alt_name == "(absolute)":
            ratio = "—"
        return [self.bench, fmt(self.ours), self.alt_name, alt, ratio, self.target, verdict]


def table(rows: list[Row]) -> list[str]:
    head = ["benchmark", "ours", "alternative", "alternative's", "ours/alt", "target", "result"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r.cells()) + " |" for r in rows]
    return lines


# -- a real jupyter server, and medians ----------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def median_s(fn: Callable[[], object], repeat: int, warmup: bool = True) -> float:
    """The median wall time of ``repeat`` calls of ``fn`` (after one untimed call)."""
    if warmup:
        fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


@dataclass
class Server:
    """A running ``jupyter server`` with this project's extension."""

    proc: subprocess.Popen[bytes]
    port: int
    token: str

    def get(self, path: str, timeout: float = 60) -> Any:
        """``GET /pipes/api<path>``, its JSON body."""
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/pipes/api{path}",
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())


@contextlib.contextmanager
def jupyter_server(store: Path, root: Path, *options: str, ready_s: float = 60) -> Iterator[Server]:
    """A ``jupyter server`` on 127.0.0.1 serving ``store`` (``$JUPYTER_PIPES_STORE``) from
    ``root``, with extra command-line ``options`` (``--PipesApp.run_controller=False`` ...);
    yielded once ``/pipes/api/settings`` answers, stopped on exit."""
    token, port = secrets.token_hex(16), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--no-browser", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--allow-root",
         *options],
        env={**os.environ, "JUPYTER_PIPES_STORE": str(store)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = Server(proc, port, token)
    try:
        deadline = time.monotonic() + ready_s
        while True:
            try:
                server.get("/settings", timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the jupyter server did not start") from None
                time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=60)
