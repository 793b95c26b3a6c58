"""The local Dask cluster: loopback only, process workers by default, no ``__main__`` guard needed.

Real clusters, real sockets (read from the kernel with psutil), real subprocesses.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from jupyter_pipes.pipeline.executor import Executor


def listening(pids: set[int]) -> set[tuple[int, str, int]]:
    """(pid, ip, port) of every TCP socket listening in those processes."""
    found = set()
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="inet")
        except psutil.NoSuchProcess:
            continue
        found |= {(pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}
    return found


def family() -> set[int]:
    me = psutil.Process()
    return {me.pid, *(p.pid for p in me.children(recursive=True))}


@pytest.fixture
def executor(request: pytest.FixtureRequest) -> Iterator[Executor]:
    ex = Executor(n_workers=2, **request.param)
    yield ex
    ex.close()


@pytest.mark.parametrize(
    "executor",
    [{"processes": True}, {"processes": False}],
    indirect=True,
    ids=["processes", "threads"],
)
def test_the_local_cluster_listens_on_loopback_only(executor: Executor) -> None:
    """#19 item 8: the dashboard (and, with process workers, the scheduler and the workers)
    listened on every interface, without authentication."""
    before = listening(family())
    client = executor.client
    client.wait_for_workers(2, timeout=120)
    client.submit(sum, [1, 2]).result()  # every server has started
    opened = listening(family()) - before
    ports = {port for _pid, _ip, port in opened}
    link = executor.dashboard_link
    assert link is not None and link.startswith("http://127.0.0.1:")
    assert int(link.split(":")[2].split("/")[0]) in ports  # the dashboard is there, served ...
    assert {ip for _pid, ip, _port in opened} == {"127.0.0.1"}  # ... on loopback, as all
    if executor.processes:
        workers = client.scheduler_info()["workers"]
        assert all(addr.startswith("tcp://127.0.0.1:") for addr in workers)
        assert {p for p, _ip, _port in opened} - {psutil.Process().pid}  # worker processes


def test_the_listening_address_is_configurable() -> None:
    ex = Executor(n_workers=1, processes=False, host="127.0.0.2")  # another loopback address
    try:
        before = listening(family())
        ex.client.wait_for_workers(1, timeout=60)
        assert {ip for _pid, ip, _port in listening(family()) - before} == {"127.0.0.2"}
    finally:
        ex.close()


def test_process_workers_by_default_even_without_a_main_guard(tmp_path: Path) -> None:
    """#17: a script without ``if __name__ == "__main__":`` runs datums in worker processes
    (multiprocessing's spawn used to re-run the script: "Nanny failed to start")."""
    script = tmp_path / "noguard.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os
            from jupyter_pipes import Client

            c = Client({str(tmp_path / "store")!r}, n_workers=2)
            c.create_repo("d")
            c.put_file("d@master", "/a.txt", b"a")
            spec = {{
                "pipeline": {{"name": "who"}},
                "input": {{"pfs": {{"repo": "d", "glob": "/*"}}}},
                "transform": {{"cmd": ["bash", "-c", 'echo $PPID > "$out"/ppid']}},
            }}
            job = c.wait_job(c.create_pipeline(spec).last_job, timeout=240)
            ran_in = int(c.get_file("who@master", "/ppid"))
            print(job.state, ran_in != os.getpid(), c.controller().executor.processes)
            c.close()
            """
        )
    )
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=280, cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["success", "True", "True"], res.stdout + res.stderr
    assert "Nanny failed" not in res.stderr
