"""Run a datum's command where Pachyderm runs it: inputs at ``/pfs/<name>``, output at
``/pfs/out``.

Each command runs in a private mount namespace made by bubblewrap (``bwrap``; Debian package
``bubblewrap``): an empty root holding the worker's own top-level folders (``/usr``, ``/etc``,
``/home``, ``/tmp`` ... bound as they are, so the command sees the worker's environment, as a
Pachyderm container sees its image) plus the datum's scratch folder bound at ``/pfs``. Inputs are
read-only there by default; a spec can also cut the network (``transform.sandbox``). Process
ids stay the worker's (the command is killed with its process group on a timeout or a stop).

Where namespaces are unavailable (no ``bwrap``, user namespaces disabled, not Linux) the
sandbox says so once in the log and falls back to the relative layout: the command runs in the
scratch folder and finds its inputs through ``$PFS`` and the environment variables, not ``/pfs``.

**Image stand-ins.** There are no containers, but a spec's ``transform.image`` may have a local
stand-in: the folder ``$JUPYTER_PIPES_IMAGES/<name>/<tag>`` (``pachyderm/opencv:1.0`` ->
``pachyderm/opencv/1.0``; no tag: ``latest``) holding ``rootfs/`` (what the image's Dockerfile
ADDs: each top-level entry is bound read-only at ``/<entry>``; an entry that would hide a
folder of the worker, such as ``usr``, is skipped), optionally ``workdir`` (a text file: the
image's WORKDIR, the default working directory) and ``bin/`` (programs the image has, put first
on ``PATH``). So ``python3 /edges.py`` finds the script the image would have had.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IMAGES_ENV", "PFS", "Sandbox", "image_stand_in", "namespaces_unavailable"]

PFS = "/pfs"
IMAGES_ENV = "JUPYTER_PIPES_IMAGES"
_IMAGE_BIN = "/.image-bin"
_log = logging.getLogger("jupyter_pipes.sandbox")
_probe_lock = threading.Lock()
_probed: list[str | None] = []  # [reason] once probed: None when namespaces work
_SKIP = {"pfs", "proc", "dev", "sys", "lost+found"}  # made by bwrap itself, or never needed
_ENV_DISABLE = "JUPYTER_PIPES_SANDBOX"  # "off" forces the relative layout


def image_stand_in(image: str | None) -> Path | None:
    """The stand-in folder of an image reference under ``$JUPYTER_PIPES_IMAGES`` (or None)."""
    root = os.environ.get(IMAGES_ENV)
    if not image or not root:
        return None
    ref = image.split("@", 1)[0]  # a digest names the same image
    name, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "latest")
    parts = [*name.split("/"), tag or "latest"]
    if any(p in ("", ".", "..") for p in parts):
        return None
    folder = Path(root, *parts)
    return folder if folder.is_dir() else None


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
    image: str | None = None

    @property
    def stand_in(self) -> Path | None:
        """The local stand-in folder of ``image`` (see the module docstring), if there is one."""
        return image_stand_in(self.image)

    def default_workdir(self) -> str:
        """``working_dir``, else the stand-in's WORKDIR, else ``/pfs``."""
        if self.working_dir:
            return self.working_dir
        folder = self.stand_in
        if folder is not None and (folder / "workdir").is_file():
            workdir = (folder / "workdir").read_text().strip()
            if workdir.startswith("/"):
                return workdir
        return PFS

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
        wd = self.default_workdir()
        if wd == PFS or wd.startswith(PFS + "/"):
            return os.path.join(self.pfs, wd[len(PFS) + 1 :])
        folder = self.stand_in
        if folder is not None and (folder / "rootfs" / wd.lstrip("/")).is_dir():
            return str(folder / "rootfs" / wd.lstrip("/"))  # relative paths still work
        return wd if os.path.isdir(wd) else self.pfs

    def argv(self, cmd: Sequence[str], env: Mapping[str, str] | None = None) -> list[str]:
        """The command line that runs ``cmd`` in this sandbox (``cmd`` itself without one);
        ``env`` is the environment it will be given (for ``PATH``)."""
        if _probed and _probed[0] is not None:
            return list(cmd)
        bwrap = _bwrap() or "bwrap"
        args = [bwrap, "--die-with-parent", "--unshare-ipc", "--unshare-uts"]
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
        args += [
            "--dev-bind",
            "/dev",
            "/dev",
            "--bind",
            "/proc",
            "/proc",
            "--ro-bind",
            "/sys",
            "/sys",
        ]
        folder = self.stand_in
        if folder is not None and (folder / "rootfs").is_dir():
            for entry in sorted(os.listdir(folder / "rootfs")):
                if os.path.lexists(os.path.join("/", entry)) or entry in _SKIP:
                    _log.warning("image stand-in %s: /%s would hide the worker's; skipped",
                                 folder, entry)  # fmt: skip
                    continue
                args += ["--ro-bind", str(folder / "rootfs" / entry), f"/{entry}"]
        if folder is not None and (folder / "bin").is_dir():
            path = (env or os.environ).get("PATH", os.defpath)
            args += ["--ro-bind", str(folder / "bin"), _IMAGE_BIN]
            args += ["--setenv", "PATH", f"{_IMAGE_BIN}:{path}"]
        args += ["--bind", self.pfs, PFS]
        if self.read_only_inputs:
            for name in self.inputs:
                where = os.path.join(self.pfs, name)
                if os.path.isdir(where):  # at /pfs/<name> and at its path on the worker
                    args += ["--ro-bind", where, f"{PFS}/{name}", "--ro-bind", where, where]
        args += ["--chdir", self.default_workdir(), "--"]
        return [*args, *cmd]
