"""The shape of a team deployment: an external Dask cluster (a `dask scheduler` and two
`dask worker` processes on loopback), the store on S3 (moto's server) and metadata in
PostgreSQL (skipped without a server). Also: a worker SIGKILLed mid-datum."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from jupyter_pipes import Client

from .conftest import new_bucket, postgres_database, s3_options
from .external_dask import running_cluster


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and two single-threaded workers (no nanny: a killed worker stays dead)."""
    with running_cluster(tmp_path, [[], []]) as cluster:
        yield cluster.address, cluster.workers


def _client(stack: ExitStack, request: pytest.FixtureRequest, scheduler: str) -> Client:
    endpoint = request.getfixturevalue("s3_endpoint")
    db = stack.enter_context(postgres_database())
    c = Client(
        f"s3://{new_bucket(endpoint)}/store", db_url=db, scheduler=scheduler, **s3_options(endpoint)
    )
    stack.callback(c.close)
    return c


ANCESTORS = (
    'a=$$; chain=; while [ "$a" -gt 1 ]; do chain="$chain $a"; '
    "a=$(awk '/^PPid:/{print $2}' /proc/$a/status); done; "
)
"""Shell: ``$chain``, the command's process and its ancestors (a command runs under bwrap, a
child of the Dask worker, so ``$PPID`` is not the worker)."""


def _workers_of(chain: str, worker_pids: set[int]) -> set[int]:
    return {int(p) for p in chain.split()} & worker_pids


def test_pipeline_on_external_dask_with_s3_and_postgres(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], request: pytest.FixtureRequest
) -> None:
    addr, workers = dask_cluster
    with ExitStack() as stack:
        c = _client(stack, request, addr)
        c.create_repo("data")
        with c.start_commit("data@master") as oc:
            for i in range(4):
                oc.put_file(f"/f{i}.txt", f"file {i}".encode())
        info = c.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "data", "glob": "/*"}},
                "transform": {
                    "cmd": [
                        "bash",
                        "-c",
                        'for f in "$PFS/data"/*; do cp "$f" "$out/"; '
                        + ANCESTORS
                        + 'echo $chain > "$out/$(basename $f).pid"; done',
                    ]
                },
            }
        )
        job = c.wait_job(info.last_job, timeout=180)
        assert (job.state, job.processed) == ("success", 4), job.error
        assert c.get_file("copy@master", "/f2.txt") == b"file 2"
        worker_pids = {w.pid for w in workers}
        for i in range(4):  # each datum ran under one of the external worker processes
            chain = c.get_file("copy@master", f"/f{i}.txt.pid").decode()
            assert _workers_of(chain, worker_pids), (chain, worker_pids)
        assert c.fsck().ok


def test_a_worker_killed_mid_datum_is_survived(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]],
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    addr, workers = dask_cluster
    mark = tmp_path / "started"
    with ExitStack() as stack:
        c = _client(stack, request, addr)
        c.create_repo("data")
        c.put_file("data@master", "/only.txt", b"payload")
        info = c.create_pipeline(
            {
                "pipeline": {"name": "slow"},
                "input": {"pfs": {"repo": "data", "glob": "/*"}},
                "transform": {
                    "cmd": [
                        "bash",
                        "-c",
                        ANCESTORS + 'echo $chain >> "$MARK"; sleep 4; cp "$data" "$out"/',
                    ],
                    "env": {"MARK": str(mark)},
                },
            }
        )
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(c.wait_job, info.last_job, timeout=240)
            deadline = time.monotonic() + 120
            while not mark.exists() or not mark.read_text().strip():
                assert time.monotonic() < deadline, "the datum never started"
                time.sleep(0.05)
            worker_pids = {w.pid for w in workers}
            (victim,) = _workers_of(mark.read_text().splitlines()[0], worker_pids)
            os.kill(victim, signal.SIGKILL)
            job = waiting.result()
        assert job.state == "success", job.error
        assert c.get_file("slow@master", "/only.txt") == b"payload"
        survivors = {
            p for line in mark.read_text().splitlines() for p in _workers_of(line, worker_pids)
        }
        assert len(survivors) == 2 and victim in survivors  # re-run on the other worker


def test_diamond_on_external_dask_runs_the_bottom_once_never_mixed(
    dask_cluster: tuple[str, list[subprocess.Popen[bytes]]], request: pytest.FixtureRequest
) -> None:
    """A -> B, A -> C (slower), B + C -> D with E: one put runs D once, from B and C of the
    put's global commit; a reader of D@master never sees a head mixing versions."""
    from .test_global_commits import HeadWatcher, diamond

    addr, _ = dask_cluster
    with ExitStack() as stack:
        c = _client(stack, request, addr)
        diamond(c, slow=1.0)
        with HeadWatcher(c) as watcher:
            put = c.put_file("A@master", "/v", b"1")
            jobs = c.wait_commit(put.id, timeout=300)
        assert [(j.pipeline, j.state) for j in jobs] == [
            ("B", "success"),
            ("C", "success"),
            ("D", "success"),
        ]
        d = c.inspect_commit("D@master")
        assert d.global_id == put.id and c.get_file("D@master", "/d") == b"b1c1e0"
        prov = {p.repo: p.id for p in d.provenance}
        assert {c.inspect_commit(f"{r}@{prov[r]}").global_id for r in ("B", "C")} == {put.id}
        assert watcher.problems == [] and "b1c1e0" in watcher.seen.values()
