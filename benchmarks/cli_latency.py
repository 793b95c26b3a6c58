"""#17 "a CLI that answers at once": the read-only commands beside ``dvc --version`` in one run.

Usage::

    python benchmarks/cli_latency.py --dvc /path/to/venv/bin/dvc      # median of 7 runs
    python benchmarks/cli_latency.py --runs 11 --commits 200

Every row is a fresh process, timed wall-clock, with its CPU time (user + sys) and peak RSS from
``wait4``; the medians of ``--runs`` runs after one warm-up, rows interleaved run by run so that
load changes hit every row alike. Yardsticks: ``python -c pass`` and ``dvc --version`` (when
found). Each jupyter_pipes command runs on the default embedded store (a local folder with its
SQLite metadata: ``--commits`` commits on ``images@master``, a branch, and a second repo), as
``jupyter-pipes`` (the console script) and as ``jupyter pipes`` (jupyter_core's launcher, which
execs the former: one more interpreter); the ``list repo`` and ``inspect commit`` rows run again
with the fast read path off (``JUPYTER_PIPES_CLI_FAST=0``: SQLAlchemy and the full store), for
comparison. Byte code is compiled first (``PYTHONDONTWRITEBYTECODE`` is unset), as after a
``pip install``. Target (issue #17): each ≤ 0.3 s wall and ≤ 1.3× ``dvc --version``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def _once(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one run of ``cmd``.

    The peak RSS is GNU time's ``%M`` (``wait4`` on a child forked from this process would
    count this process's own pages, copied at the fork); wall and CPU include time's ~1 ms."""
    t = time.perf_counter()
    p = subprocess.Popen(
        ["/usr/bin/time", "-f", "%M", *cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = (p.stderr.read() if p.stderr else b"").decode(errors="replace")
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{' '.join(cmd)} failed: {err}")
    return wall, usage.ru_utime + usage.ru_stime, int(err.strip().splitlines()[-1])


def _store(cwd: Path, commits: int) -> tuple[str, str]:
    """The default store in ``cwd``: images@master with ``commits`` commits, a dev branch and a
    second repo; the head commit's id and the middle one's."""
    sys.path.insert(0, str(ROOT))
    from jupyter_pipes import Client

    with Client(str(cwd / ".pipes"), autostart=False) as c:
        c.create_repo("images", "raw camera images")
        c.create_repo("labels")
        with c.start_commit("images@master") as oc:
            for i in range(100):
                oc.put_file(f"/raw/{i:03}.png", b"x" * 1000)
        for i in range(commits - 1):
            c.put_file("images@master", f"/n/{i}.txt", str(i).encode(), message=f"add {i}")
        c.create_branch("images@dev", head="images@master~1")
        return c.inspect_commit("images@master").id, c.inspect_commit(
            f"images@master~{commits // 2}"
        ).id


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="timed runs per row (default 7)")
    ap.add_argument("--commits", type=int, default=100, help="commits on images@master")
    ap.add_argument("--dvc", default=shutil.which("dvc"), help="the dvc executable (yardstick)")
    ap.add_argument("--make-store", metavar="DIR", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_store:
        print(*_store(Path(args.make_store), args.commits))
        return

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "jupyter_pipes")],
        env=_env(),
        check=False,
        capture_output=True,
    )
    bindir = Path(sys.executable).parent
    pipes, jupyter = str(bindir / "jupyter-pipes"), str(bindir / "jupyter")
    slow = _env(JUPYTER_PIPES_CLI_FAST="0")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        made = subprocess.run(  # in a child: this process stays small (see _once)
            [sys.executable, __file__, "--make-store", str(cwd), "--commits", str(args.commits)],
            env=_env(),
            check=True,
            capture_output=True,
            text=True,
        )
        head, middle = made.stdout.split()
        rows: list[tuple[str, list[str], dict[str, str]]] = [
            ("python -c pass", [sys.executable, "-c", "pass"], _env())
        ]
        if args.dvc:
            rows.append(("dvc --version", [args.dvc, "--version"], _env()))
        commands = [
            ["--version"],
            ["list", "repo"],
            ["inspect", "repo", "images"],
            ["list", "commit", "images@master"],
            ["inspect", "commit", "images@master"],
            ["inspect", "commit", f"images@{middle[:8]}"],
        ]
        for command in commands:
            rows.append(("jupyter-pipes " + " ".join(command), [pipes, *command], _env()))
        for command in commands:
            rows.append(
                ("jupyter pipes " + " ".join(command), [jupyter, "pipes", *command], _env())
            )
        for command in (["list", "repo"], ["inspect", "commit", "images@master"]):
            rows.append(
                ("jupyter-pipes " + " ".join(command) + " (fast path off)", [pipes, *command], slow)
            )
        samples: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _, _ in rows}
        for i in range(args.runs + 1):  # interleaved; run 0 is the warm-up
            for name, cmd, env in rows:
                s = _once(cmd, cwd, env)
                if i:
                    samples[name].append(s)

    def med(name: str, k: int) -> float:
        return statistics.median(s[k] for s in samples[name])

    dvc = med("dvc --version", 0) if args.dvc else None
    print(
        f"median of {args.runs} runs, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
        f"store: images@master with {args.commits} commits (head {head[:8]})\n"
    )
    print("| command | wall | CPU | peak RSS | vs dvc --version (wall) | target ≤ 0.3 s |")
    print("|---|---|---|---|---|---|")
    for name, _, _ in rows:
        wall = med(name, 0)
        ratio = f"{wall / dvc:.2f}×" if dvc else "n/a"
        met = wall <= TARGET_S and (dvc is None or wall <= 1.3 * dvc)
        verdict = "" if not name.startswith("jupyter") else ("PASS" if met else "MISS")
        if name.endswith("(fast path off)"):
            verdict = "(for comparison)"
        print(
            f"| `{name}` | {wall * 1000:.0f} ms | {med(name, 1) * 1000:.0f} ms | "
            f"{med(name, 2) / 1024:.0f} MiB | {ratio} | {verdict} |"
        )


if __name__ == "__main__":
    main()
