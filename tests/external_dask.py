"""An external Dask cluster for tests: a ``dask scheduler`` and ``dask worker`` processes on
loopback, each worker with its own extra options (``["--resources", "GPU=1"]``)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ExternalCluster:
    """A running scheduler's address and its worker processes (no nanny: a killed worker
    stays dead)."""

    address: str
    workers: list[subprocess.Popen[bytes]]


@contextmanager
def external_cluster(logs_dir: Path, workers: Sequence[Sequence[str]]) -> Iterator[str]:
    """Start a scheduler and one single-threaded worker per entry of ``workers`` (its extra
    command-line options); yield the scheduler's address once every worker has joined."""
    with running_cluster(logs_dir, workers) as cluster:
        yield cluster.address


@contextmanager
def running_cluster(logs_dir: Path, workers: Sequence[Sequence[str]]) -> Iterator[ExternalCluster]:
    """As :func:`external_cluster`, yielding the worker processes too (to kill one)."""
    port = free_port()
    addr = f"tcp://127.0.0.1:{port}"
    logs = open(logs_dir / "dask.log", "wb")  # noqa: SIM115 - closed below
    common = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_scheduler", "--port", str(port), *common],
            stdout=logs,
            stderr=logs,
        )
    ]
    for extra in workers:
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributed.cli.dask_worker",
                    addr,
                    "--nthreads",
                    "1",
                    "--no-nanny",
                    *common,
                    *extra,
                ],
                stdout=logs,
                stderr=logs,
            )
        )
    try:
        from distributed import Client as DaskClient

        with DaskClient(addr, timeout=60) as dc:
            dc.wait_for_workers(len(workers), timeout=60)
        yield ExternalCluster(addr, procs[1:])
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        logs.close()
