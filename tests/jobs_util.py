"""Helpers of the job-control tests (test_job_control, test_running_datums, test_rerun_job):
a command spec, polling, the datums' live processes, and a controller running jobs in a thread
of the test process (one real local Dask worker), with its ``store``, ``client`` and ``runner``
fixtures (import them into a test module to use them there; ``client`` here replaces the
conftest's backend-parametrised one)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_pipes import Client

PFS = {"pfs": {"repo": "data", "glob": "/*"}}


def spec(name: str, script: str, input: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "pipeline": {"name": name},
        "input": input or PFS,
        "transform": {"cmd": ["bash", "-c", script]},
    }


def until(check: Callable[[], Any], timeout: float = 120, what: str = "") -> Any:
    """Poll ``check()`` until it is truthy (its value), failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what or check}"
        time.sleep(0.1)


def sleepers(tag: str) -> list[int]:
    """PIDs of live processes whose command line holds ``tag`` (the datums' ``sleep``)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if tag.encode() in cmdline and b"sleep" in cmdline and ") Z " not in stat:
            found.append(int(pid))
    return found


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def client(store: Path) -> Iterator[Client]:
    c = Client(str(store), n_workers=1)
    c.create_repo("data")
    yield c
    c.close()


class Runner:
    """A controller running jobs in a thread of this process, with its own Client (the
    server's runner, or a ``wait``, elsewhere)."""

    def __init__(self, store: Path) -> None:
        self.client = Client(str(store), n_workers=1)
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        try:
            ctl = self.client.controller()
            while not self.stop.is_set():
                if ctl.run_once() is None:
                    time.sleep(0.1)
        except BaseException as e:  # the test fails on it
            self.errors.append(e)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(120)
        self.client.close()
        assert not self.errors, self.errors


@pytest.fixture
def runner(store: Path, client: Client) -> Iterator[Runner]:
    r = Runner(store)
    yield r
    r.close()
