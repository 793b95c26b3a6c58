"""Run a datum's command where Pachyderm runs it: inputs at ``/pfs/<name>``, output at
``/pfs/out``.

Each command runs in a private mount namespace made by bubblewrap (``bwrap``; Debian package
``bubblewrap``): an empty root holding the worker's own top-level folders (``/usr``, ``/etc``,
``/home``, ``/tmp`` ... bound as they are, so the command sees the worker's environment, as a
Pachyderm container sees its image) plus the datum's scratch folder bound at ``/pfs``. Inputs are
read-only there by default; a spec can also cut the network (``transform.sandbox``). The
command gets its own PID namespace, so nothing it starts outlives it.

Where namespaces are unavailable (no ``bwrap``, user namespaces disabled, not Linux) the
sandbox says so once in the log and falls back to the relative layout: the command runs in the
scratch folder and finds its inputs through ``$PFS`` and the environment variables, not ``/pfs``.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["PFS", "Sandbox", "namespaces_unavailable"]

PFS = "/pfs"
_log = logging.getLogger("jupyter_pipes.sandbox")
_probe_lock = threading.Lock()
_probed: list[str | None] = []  # [reason] once probed: None when namespaces work
_SKIP = {"pfs", "proc", "dev", "sys", "lost+found"}  # made by bwrap itself, or never needed
_ENV_DISABLE = "JUPYTER_PIPES_SANDBOX"  # "off" forces the relative layout


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def namespaces_unavailable() -> str | None:
    """Why commands cannot run with ``/pfs`` (``None`` when they can).

    Probed once per process by running ``true`` in a sandbox like the real ones; the first
    failure is logged once as a warning, with what happens instead.
    """
    with _probe_lock:
        if not _probed:
            _probed.append(_probe())
            if _probed[0] is not None:
                _log.warning(
                    "commands run without /pfs (%s): they find their inputs through $PFS and "
                    "the input variables, in the datum's scratch folder", _probed[0]
                )  # fmt: skip
        return _probed[0]


def _probe() -> str | None:
    if os.environ.get(_ENV_DISABLE, "").lower() in ("0", "off", "false", "no"):
        return f"{_ENV_DISABLE}={os.environ[_ENV_DISABLE]}"
    if not sys.platform.startswith("linux"):
        return f"mount namespaces need Linux, this is {sys.platform}"
    if _bwrap() is None:
        return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    with tempfile.TemporaryDirectory(prefix="pipes-probe-") as scratch:
        os.makedirs(os.path.join(scratch, "out"))
        box = Sandbox(scratch, network=False)
        try:
            proc = subprocess.run(box.argv(["true"]), capture_output=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bwrap failed: {exc}"
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"bwrap failed: {err[-1] if err else f'exit code {proc.returncode}'}"
    return None


@dataclass(frozen=True)
class Sandbox:
    """Where and how one command of a datum runs.

    Parameters
    ----------
    pfs : str
        The datum's folder of inputs (``<pfs>/<name>``) and output (``<pfs>/out``), on the
        worker; the command sees it at ``/pfs``.
    inputs : Sequence[str]
        Names of the input folders under ``pfs`` (made read-only if ``read_only_inputs``).
    working_dir : str, optional
        The command's working directory as the command sees it (``transform.working_dir``);
        default ``/pfs``.
    network : bool
        False cuts the network (a namespace with only loopback).
    read_only_inputs : bool
        Mount the input folders read-only.
    """

    pfs: str
    inputs: Sequence[str] = ()
    working_dir: str | None = None
    network: bool = True
    read_only_inputs: bool = True

    @property
    def isolated(self) -> bool:
        """Whether the command runs in a namespace with ``/pfs`` (else the relative layout)."""
        return namespaces_unavailable() is None

    @property
    def root(self) -> str:
        """Where the command sees the datum's folder: ``/pfs``, or the scratch folder itself."""
        return PFS if self.isolated else self.pfs

    def path(self, *parts: str) -> str:
        """A path below the datum's folder as the command sees it: ``path("images", "a.png")``."""
        return os.path.join(self.root, *[p.strip("/") for p in parts if p.strip("/")])

    def cwd(self) -> str:
        """The working directory to start the process in (on the worker)."""
        if self.isolated:
            return self.pfs  # bwrap --chdir sets the real one
        wd = self.working_dir
        if wd and (wd == PFS or wd.startswith(PFS + "/")):
            return os.path.join(self.pfs, wd[len(PFS) + 1 :])
        return wd or self.pfs

    def argv(self, cmd: Sequence[str]) -> list[str]:
        """The command line that runs ``cmd`` in this sandbox (``cmd`` itself without one)."""
        if _probed and _probed[0] is not None:
            return list(cmd)
        bwrap = _bwrap() or "bwrap"
        args = [bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"]
        if os.geteuid() == 0:
            args += ["--cap-drop", "ALL"]  # root keeps no power over its mounts
        if not self.network:
            args.append("--unshare-net")
        args += ["--tmpfs", "/"]
        for entry in sorted(os.listdir("/")):
            host = os.path.join("/", entry)
            if entry in _SKIP:
                continue
            if os.path.islink(host):
                args += ["--symlink", os.readlink(host), host]
            elif os.path.isdir(host):
                args += ["--bind", host, host]
            elif os.path.isfile(host):
                args += ["--ro-bind", host, host]
        args += ["--dev-bind", "/dev", "/dev", "--proc", "/proc", "--ro-bind", "/sys", "/sys"]
        args += ["--bind", self.pfs, PFS]
        if self.read_only_inputs:
            for name in self.inputs:
                folder = os.path.join(self.pfs, name)
                if os.path.isdir(folder):  # at /pfs/<name> and at its path on the worker
                    args += ["--ro-bind", folder, f"{PFS}/{name}", "--ro-bind", folder, folder]
        args += ["--chdir", self.working_dir or PFS, "--"]
        return [*args, *cmd]
