"""Crash safety and concurrency on a real local store with real processes.

A writer process is SIGKILLed at random moments during large puts; the store must stay
consistent (fsck clean), each branch at a finished commit whose files read back exactly.
Several processes committing to one branch at once must all land, in one linear history.
"""

from __future__ import annotations

import itertools
import json
import random
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import ExitStack
from pathlib import Path

import blake3
import pytest

from jupyter_pipes import Client

from .conftest import new_bucket, postgres_database, s3_options

WRITER = textwrap.dedent(
    """
    import sys, blake3
    from jupyter_pipes import Client

    def content(name, size):
        return blake3.blake3(name.encode()).digest(length=size)

    store, tag = sys.argv[1], sys.argv[2]
    c = Client(store)
    c.create_repo("data", exist_ok=True)
    i = 0
    while True:
        name = f"{tag}-{i}"
        with c.start_commit("data@master", message=name) as oc:
            oc.put_file(f"/big/{name}.bin", content(name, 6_000_000 + i * 1000))
            for j in range(200):
                oc.put_file(f"/small/{name}/{j}.txt", content(f"{name}/{j}", 300))
        print(oc.id, flush=True)
        i += 1
    """
)


def expected(name: str, size: int) -> bytes:
    return blake3.blake3(name.encode()).digest(length=size)


def check_store(store: Path) -> int:
    """fsck, then read every file of the head back and compare with what the writer wrote."""
    c = Client(str(store))
    try:
        report = c.fsck()
        assert report.ok, report.problems
        if "data" not in {r.name for r in c.list_repo()}:
            return 0  # killed before it made the repo (a slow start on a loaded machine)
        head = c.inspect_branch("data@master").head
        if head is None:
            return 0
        info = c.inspect_commit(f"data@{head}")
        assert info.state == "finished"
        names = [
            f.path.rsplit("/", 1)[-1][: -len(".bin")] for f in c.list_file("data@master", "/big")
        ]
        for name in names:
            i = int(name.rsplit("-", 1)[1])
            assert c.get_file("data@master", f"/big/{name}.bin") == expected(
                name, 6_000_000 + i * 1000
            )
            smalls = list(c.list_file("data@master", f"/small/{name}"))
            assert len(smalls) == 200  # never half a commit
            assert c.get_file("data@master", f"/small/{name}/7.txt") == expected(f"{name}/7", 300)
        return len(names)
    finally:
        c.close()


def test_sigkill_during_puts_leaves_a_consistent_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    rng = random.Random(1234)
    kills = 12
    landed = 0
    for k in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store), f"w{k}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.3, 2.5))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        assert proc.returncode == -signal.SIGKILL, err.decode()[-2000:]
        committed = out.decode().split()
        landed += len(committed)
        files = check_store(store)
        # every printed (finished) commit is there; at most one more finished between its
        # metadata transaction and the print when the kill came
        assert landed <= files <= landed + 1
        landed = files
    c = Client(str(store))
    gc = c.gc(grace_seconds=0)
    assert c.fsck().ok
    c.close()
    c.close()
    assert check_store(store) == landed
    print(f"{kills} kills survived, {landed} commits landed, gc removed {gc.packs_removed} packs")


CONCURRENT = textwrap.dedent(
    """
    import json, sys
    from jupyter_pipes import Client
    c = Client(sys.argv[1], db_url=sys.argv[4] or None, **json.loads(sys.argv[5]))
    for i in range(int(sys.argv[3])):
        c.put_file("data@master", f"/{sys.argv[2]}/{i}.txt", f"{sys.argv[2]}-{i}".encode())
    """
)


@pytest.mark.parametrize("engines", ["local+sqlite", "local+postgres", "s3+sqlite"])
def test_concurrent_commits_to_one_branch_all_land(
    tmp_path: Path, engines: str, request: pytest.FixtureRequest
) -> None:
    writers, commits = 4, 15
    with ExitStack() as stack:
        db = stack.enter_context(postgres_database()) if engines.endswith("postgres") else ""
        store, options = str(tmp_path / "store"), {}
        if engines.startswith("s3"):
            endpoint = request.getfixturevalue("s3_endpoint")
            store, options = f"s3://{new_bucket(endpoint)}/store", s3_options(endpoint)
            db = f"sqlite:///{tmp_path}/metadata.sqlite"
        _concurrent(store, db, options, writers, commits)


def _concurrent(store: str, db: str, options: dict, writers: int, commits: int) -> None:
    with Client(store, db_url=db or None, **options) as setup:
        setup.create_repo("data")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CONCURRENT,
                store,
                f"w{w}",
                str(commits),
                db,
                json.dumps(options),
            ]
        )
        for w in range(writers)
    ]
    for p in procs:
        assert p.wait(timeout=240) == 0
    c = Client(store, db_url=db or None, **options)
    history = c.list_commit("data@master")
    assert len(history) == writers * commits
    assert len({h.id for h in history}) == writers * commits
    for newer, older in itertools.pairwise(history):
        assert newer.parent == older.id  # linear
    assert history[-1].parent is None
    files = {f.path for f in c.walk_file("data@master") if f.type == "file"}
    assert files == {f"/w{w}/{i}.txt" for w in range(writers) for i in range(commits)}
    assert c.get_file("data@master", "/w2/7.txt") == b"w2-7"
    assert c.fsck().ok
    c.close()
