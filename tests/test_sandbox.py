"""The ``/pfs`` sandbox of command transforms (#13): inputs at /pfs/<name>, output at /pfs/out,
read-only inputs, no network on request, working_dir, stdin, err_cmd, accept_return_code; and the
relative layout, said once, where namespaces are unavailable."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_pipes.pipeline import sandbox as sandbox_mod
from jupyter_pipes.pipeline.command import run_command
from jupyter_pipes.pipeline.sandbox import Sandbox, namespaces_unavailable

PY = sys.executable
needs_namespaces = pytest.mark.skipif(
    namespaces_unavailable() is not None, reason=f"no namespaces: {namespaces_unavailable()}"
)


@pytest.fixture
def pfs(tmp_path: Path) -> Path:
    root = tmp_path / "pfs"
    (root / "images").mkdir(parents=True)
    (root / "images" / "a.txt").write_text("pixels\n")
    (root / "out").mkdir()
    return root


def run(box: Sandbox, script: str, **kw: object) -> object:
    kw.setdefault("env", {})
    return run_command(["sh", "-c", script], None, cwd=box.pfs, timeout_s=60, sandbox=box,
                       **kw)  # type: ignore[arg-type]  # fmt: skip


@needs_namespaces
def test_inputs_at_pfs_name_and_output_at_pfs_out(pfs: Path) -> None:
    box = Sandbox(str(pfs), inputs=["images"])
    res = run(box, "cat /pfs/images/a.txt > /pfs/out/copy.txt; pwd; ls /pfs")
    assert res.ok, res.log  # type: ignore[attr-defined]
    assert (pfs / "out" / "copy.txt").read_text() == "pixels\n"
    assert res.log.splitlines() == ["/pfs", "images", "out"]  # type: ignore[attr-defined]
    assert box.path("images", "/a.txt") == "/pfs/images/a.txt" and box.root == "/pfs"


@needs_namespaces
def test_the_worker_environment_is_there(pfs: Path) -> None:
    box = Sandbox(str(pfs), inputs=["images"])
    res = run_command([PY, "-c", "import jupyter_pipes, sys; print(sys.prefix)"], None,
                      cwd=pfs, env={"X": "1"}, timeout_s=60, sandbox=box)  # fmt: skip
    assert res.ok and res.log.strip() == sys.prefix, res.log


@needs_namespaces
@pytest.mark.parametrize("read_only", [True, False])
def test_inputs_are_read_only_unless_asked(pfs: Path, read_only: bool) -> None:
    box = Sandbox(str(pfs), inputs=["images"], read_only_inputs=read_only)
    res = run(box, f"echo x > /pfs/images/new.txt; echo y > {pfs}/images/other.txt")
    assert res.ok is not read_only  # type: ignore[attr-defined]
    assert (pfs / "images" / "new.txt").exists() is not read_only
    assert (pfs / "images" / "other.txt").exists() is not read_only  # nor by its worker path
    if read_only:
        assert "Read-only file system" in res.log  # type: ignore[attr-defined]


@pytest.fixture
def listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@needs_namespaces
@pytest.mark.parametrize("network", [True, False])
def test_the_network_can_be_cut(pfs: Path, listener: int, network: bool) -> None:
    code = f"import socket; socket.create_connection(('127.0.0.1', {listener}), timeout=5)"
    box = Sandbox(str(pfs), network=network)
    res = run_command([PY, "-c", code], None, cwd=pfs, env={}, timeout_s=60, sandbox=box)
    assert res.ok is network, res.log
    if not network:
        assert "ConnectionRefusedError" in res.log or "unreachable" in res.log


@needs_namespaces
def test_working_dir_and_stdin(pfs: Path) -> None:
    box = Sandbox(str(pfs), inputs=["images"], working_dir="/pfs/images")
    res = run_command(["sh"], ["pwd", "cat a.txt", "echo $((6 * 7))"], cwd=pfs, env={},
                      timeout_s=60, sandbox=box)  # fmt: skip
    assert res.ok and res.log.splitlines() == ["/pfs/images", "pixels", "42"], res.log


@needs_namespaces
def test_a_timeout_kills_what_the_command_started(pfs: Path) -> None:
    box = Sandbox(str(pfs))
    marker = pfs / "out" / "late.txt"
    started = time.monotonic()
    res = run_command(["sh", "-c", f"(sleep 3; touch {marker}) & sleep 60"], None, cwd=pfs,
                      env={}, timeout_s=1, sandbox=box)  # fmt: skip
    assert not res.ok and res.error is not None and res.error.ename == "TimeoutError"
    assert time.monotonic() - started < 30
    time.sleep(3.5)
    assert not marker.exists()  # the background child died with the process group


def test_accept_return_code(tmp_path: Path) -> None:
    box = Sandbox(str(tmp_path))
    assert run(box, "exit 3", accept_return_code=[3]).ok  # type: ignore[attr-defined]
    res = run(box, "exit 4", accept_return_code=[3])
    assert not res.ok and res.error.evalue == "exit code 4"  # type: ignore[attr-defined]


def test_err_cmd_recovers_a_failed_datum_or_not(tmp_path: Path) -> None:
    box = Sandbox(str(tmp_path))
    res = run_command(["sh", "-c", "echo trying; exit 1"], None, cwd=tmp_path, env={},
                      timeout_s=60, err_cmd=["sh"], err_stdin=["echo handling", "exit 0"],
                      sandbox=box)  # fmt: skip
    assert not res.ok and res.recovered and res.error is not None
    assert res.log.splitlines()[-2:] == ["handling", "err_cmd recovered the datum"]
    res = run_command(["false"], None, cwd=tmp_path, env={}, timeout_s=60, err_cmd=["false"],
                      sandbox=box)  # fmt: skip
    assert not res.ok and not res.recovered and "err_cmd failed too" in res.log
    res = run_command(["true"], None, cwd=tmp_path, env={}, timeout_s=60, err_cmd=["false"])
    assert res.ok and not res.recovered and "err_cmd" not in res.log  # only after a failure


def test_without_namespaces_the_relative_layout_is_used_and_said_once(
    pfs: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sandbox_mod, "_probed", [])
    monkeypatch.setenv("JUPYTER_PIPES_SANDBOX", "off")
    caplog.set_level(logging.WARNING, logger="jupyter_pipes.sandbox")
    box = Sandbox(str(pfs), inputs=["images"], working_dir="/pfs/images")
    assert not box.isolated and box.root == str(pfs)
    assert box.path("images", "a.txt") == os.path.join(str(pfs), "images", "a.txt")
    for _ in range(2):
        res = run(box, 'pwd; cat a.txt > "$OUT/copy.txt"', env={"OUT": str(pfs / "out")})
        assert res.ok and res.log.splitlines()[0] == str(pfs / "images")  # type: ignore
    assert (pfs / "out" / "copy.txt").read_text() == "pixels\n"
    warnings = [r.getMessage() for r in caplog.records if r.name == "jupyter_pipes.sandbox"]
    assert len(warnings) == 1 and "without /pfs (JUPYTER_PIPES_SANDBOX=off)" in warnings[0]


@needs_namespaces
def test_an_image_stand_in_adds_its_files_and_workdir(
    pfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "images" / "acme" / "tool" / "2"
    (folder / "rootfs" / "app").mkdir(parents=True)
    (folder / "rootfs" / "hello.py").write_text("print('hello from the image')\n")
    (folder / "rootfs" / "app" / "rel.py").write_text("print('relative')\n")
    (folder / "rootfs" / "usr").mkdir()  # would hide the worker's /usr: skipped
    (folder / "workdir").write_text("/app\n")
    (folder / "bin").mkdir()
    (folder / "bin" / "tool").write_text("#!/bin/sh\necho tool of the image\n")
    (folder / "bin" / "tool").chmod(0o755)
    monkeypatch.setenv("JUPYTER_PIPES_IMAGES", str(tmp_path / "images"))
    box = Sandbox(str(pfs), image="acme/tool:2")
    res = run_command(["sh", "-c", f"{PY} /hello.py; pwd; {PY} rel.py; tool; ls /usr | head -1"],
                      None, cwd=pfs, env={}, timeout_s=60, sandbox=box)  # fmt: skip
    assert res.ok, res.log
    lines = res.log.splitlines()
    assert lines[:4] == ["hello from the image", "/app", "relative", "tool of the image"]
    assert lines[4] != ""  # the worker's /usr is still there
    assert Sandbox(str(pfs), image="acme/tool:3").stand_in is None  # no such tag
    assert run_command(["sh", "-c", "pwd"], None, cwd=pfs, env={}, timeout_s=60,
                       sandbox=Sandbox(str(pfs), image="acme/tool:2", working_dir="/pfs"),
                       ).log.strip() == "/pfs"  # fmt: skip
