"""Soak (#19): writers, gc with ``--grace 0`` in a loop, a controller running a pipeline, and
SIGKILLs of any of them, for a bounded time; then fsck is clean and every acknowledged commit
reads back byte-identical, and every pipeline output equals its input commit's files.

Writers reuse bytes on purpose (the same blocks in every writer, and in scratch repos they
delete at once), so deduplication keeps finding blobs in packs that gc is about to remove.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import blake3
import pytest

from jupyter_pipes import Client

DURATION = float(os.environ.get("PIPES_SOAK_SECONDS", "90"))

WRITER = textwrap.dedent(
    """
    import sys, blake3
    from jupyter_pipes import Client

    def content(seed, size):
        return blake3.blake3(seed.encode()).digest(length=size)

    store, k, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
    c = Client(store)
    shared = content("shared", 600_000)  # in every writer and in deleted scratch repos
    for i in range(start, start + 100_000):
        if i % 7 == 0:
            scratch = f"scratch{k}x{i}"
            c.create_repo(scratch)
            c.put_file(f"{scratch}@master", "/s.bin", shared + content(f"s{i % 3}", 90_000))
            c.delete_repo(scratch)
        size = 1_000 + (i * 7919) % 700_000  # bounded: the soak is about faults, not volume
        data = content(f"{k}-{i}", size) + (shared if i % 5 == 0 else b"")
        with c.start_commit(f"w{k}@master", message=f"{k}-{i}") as oc:
            oc.put_file(f"/f{i}.bin", data)
            if i % 5 == 0:
                oc.put_file(f"/s{i % 3}.bin", shared + content(f"s{i % 3}", 90_000))
        print("ACK", k, i, oc.id, blake3.blake3(data).hexdigest(), flush=True)
    """
)
GC = textwrap.dedent(
    """
    import sys, time
    from jupyter_pipes import Client, Conflict
    c = Client(sys.argv[1])
    while True:
        try:
            r = c.gc(grace_seconds=0, force=True)
            print("GC", r.packs_removed, r.open_commits_removed, flush=True)
        except Conflict:
            pass
        time.sleep(0.3)
    """
)
CONTROLLER = textwrap.dedent(
    """
    import sys, time
    from jupyter_pipes import Client
    c = Client(sys.argv[1], n_workers=1)
    while True:
        c.run_jobs(timeout=600)
        time.sleep(0.5)
    """
)


class Fleet:
    """The processes of the soak, each restartable after a SIGKILL."""

    def __init__(self, store: Path, logs: Path) -> None:
        self.store = store
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.starts: dict[str, int] = {}
        self.runs = 0

    def start(self, name: str) -> None:
        self.runs += 1
        out = open(self.logs / f"{name}.{self.runs}.out", "wb")  # noqa: SIM115
        err = open(self.logs / f"{name}.{self.runs}.err", "wb")  # noqa: SIM115
        if name.startswith("w"):
            start = self.starts.get(name, 0)
            args = [WRITER, str(self.store), name[1:], str(start)]
            self.starts[name] = start + 10_000  # a restarted writer writes new paths
        else:
            args = [GC if name == "gc" else CONTROLLER, str(self.store)]
        self.procs[name] = subprocess.Popen([sys.executable, "-c", *args], stdout=out, stderr=err)
        out.close()
        err.close()

    def kill(self, name: str) -> None:
        p = self.procs[name]
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert p.returncode == -signal.SIGKILL, self.errors()

    def errors(self) -> str:
        return "\n".join(
            f"{f.name}: {f.read_text()[-3000:]}"
            for f in sorted(self.logs.glob("*.err"))
            if f.read_text().strip()
        )

    def alive_or_fail(self) -> None:
        for name, p in self.procs.items():
            assert p.poll() is None, f"{name} exited {p.returncode}:\n{self.errors()}"


@pytest.mark.slow
@pytest.mark.timeout(DURATION + 420)
def test_soak_writers_gc_controller_and_sigkills(tmp_path: Path) -> None:
    store, logs = tmp_path / "store", tmp_path / "logs"
    logs.mkdir()
    writers = ["w0", "w1", "w2"]
    with Client(str(store)) as c:
        for w in writers:
            c.create_repo(w)
        c.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "w0", "glob": "/"}},
                "transform": {"cmd": ["bash", "-c", 'cp "$w0"/* "$out"/']},
            }
        )
    fleet = Fleet(store, logs)
    for name in [*writers, "gc", "controller"]:
        fleet.start(name)
    rng = random.Random(19)
    kills = 0
    deadline = time.monotonic() + DURATION
    while time.monotonic() < deadline:
        time.sleep(rng.uniform(2, 6))
        fleet.alive_or_fail()
        victim = rng.choice([*writers, "gc", "controller"])
        fleet.kill(victim)
        kills += 1
        fleet.start(victim)
    fleet.alive_or_fail()
    for name in list(fleet.procs):
        fleet.kill(name)

    acks = []
    for f in logs.glob("w*.out"):
        for line in f.read_text().splitlines():
            _, k, i, commit, digest = line.split()
            acks.append((k, int(i), commit, digest))
    gcs = sum(f.read_text().count("GC ") for f in logs.glob("gc.*.out"))
    with Client(str(store)) as c:
        report = c.fsck()
        assert report.ok, report.problems
        for k, i, commit, digest in acks:
            data = c.get_file(f"w{k}@{commit}", f"/f{i}.bin")
            assert blake3.blake3(data).hexdigest() == digest, (k, i, commit)
        outputs = [
            ci for ci in c.list_commit("copy@master") if any(p.repo == "w0" for p in ci.provenance)
        ]  # (the first job ran on the empty repo: no input commit)
        for out in outputs:
            source = next(p for p in out.provenance if p.repo == "w0")
            want = {f.path: f.hash for f in c.walk_file(f"w0@{source.id}") if f.type == "file"}
            got = {f.path: f.hash for f in c.walk_file(f"copy@{out.id}") if f.type == "file"}
            assert got == want, out.id
        for f in c.walk_file("copy@master"):
            if f.type == "file":
                c.get_file("copy@master", f.path)
        jobs = c.list_job("copy")
    print(
        f"soak {DURATION:.0f} s: {len(acks)} acknowledged commits, {kills} SIGKILLs, {gcs} gc "
        f"runs, {len(outputs)} pipeline outputs of {len(jobs)} jobs; fsck clean, all identical"
    )
    assert len(acks) > 20 and gcs > 5 and outputs
