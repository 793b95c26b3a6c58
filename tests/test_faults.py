"""Faults caused for real: a full disk, a controller killed in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_pipes import Client, StorageError


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs (needs root and mount; skipped otherwise)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_a_full_disk_gives_a_clear_error_and_a_consistent_store(tiny_disk: Path) -> None:
    c = Client(str(tiny_disk / "store"))
    c.create_repo("d")
    first = c.put_file("d@master", "/a.bin", os.urandom(3 << 20))
    with pytest.raises(StorageError, match="No space left on device"):
        c.put_file("d@master", "/b.bin", os.urandom(10 << 20))
    assert c.inspect_branch("d@master").head == first.id
    assert c.fsck().ok
    assert not [p for p in (tiny_disk / "store" / "packs").iterdir() if p.name.startswith(".tmp")]
    small = c.put_file("d@master", "/c.txt", b"still works")  # space left: the store goes on
    assert [f.path for f in c.list_file("d@master")] == ["/a.bin", "/c.txt"]
    assert small.parent == first.id
    c.close()


CONTROLLER = textwrap.dedent(
    """
    import sys
    from jupyter_pipes import Client
    c = Client(sys.argv[1])
    ctl = c.controller()
    ctl.lease_s = 2.0
    print("claiming", flush=True)
    ctl.run_once()
    """
)


def test_a_killed_controller_s_job_is_taken_over_without_duplicates(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    marker = tmp_path / "started"
    with Client(store) as c:
        c.create_repo("data")
        with c.start_commit("data@master") as oc:
            oc.put_file("/a", b"a")
            oc.put_file("/b", b"b")
        slow = f'touch {marker}; sleep 3; cp "$PFS/data"/* "$out"/'
        info = c.create_pipeline(
            {
                "pipeline": {"name": "copy"},
                "input": {"pfs": {"repo": "data", "glob": "/*"}},
                "transform": {"cmd": ["bash", "-c", slow]},
            }
        )
    proc = subprocess.Popen([sys.executable, "-c", CONTROLLER, store])
    deadline = time.monotonic() + 60
    while not marker.exists():  # the doomed controller is running a datum
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Client(store) as c:
        assert c.inspect_job(info.last_job).state == "running"
        job = c.wait_job(info.last_job, timeout=120)  # after the 2 s lease, taken over here
        assert job.state == "success" and job.processed == 2
        assert [f.path for f in c.list_file("copy@master")] == ["/a", "/b"]
        assert len(c.list_commit("copy@master")) == 1
        assert c.fsck().ok
