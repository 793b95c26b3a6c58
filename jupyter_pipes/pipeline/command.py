"""Run a Pachyderm-style ``transform.cmd`` and the result types shared with notebook runs.

:class:`RunResult` and :class:`CellError` live here, in the light module (no papermill), and
are re-exported by :mod:`jupyter_pipes.pipeline.notebook`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jupyter_pipes.errors import InvalidArgument, NotFound
from jupyter_pipes.pipeline.cancel import running

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["CellError", "RunResult", "run_command", "strip_ansi"]

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_TAIL = 20  # lines of output kept in a failed command's traceback
_GRACE_S = 5.0  # after a kill, how long to wait for the output pipe to close


@dataclass(frozen=True)
class CellError:
    """Where and how a run failed.

    Attributes
    ----------
    cell_index:
        0-based index into the *original* notebook's ``cells`` (all cell types; papermill's
        injected-parameters cell not counted); -1 when no cell of the notebook was running
        (kernel start, the injected cell) and for commands.
    ename, evalue:
        Exception class name and message (``"TimeoutError"`` for a timeout,
        ``"CommandFailed"`` for a command's non-zero exit).
    traceback:
        Plain-text traceback, ANSI colour codes stripped (a command's last output lines).
    """

    cell_index: int
    ename: str
    evalue: str
    traceback: str


@dataclass(frozen=True)
class RunResult:
    """The outcome of one notebook or command run.

    Attributes
    ----------
    ok:
        True when the run completed without error.
    duration_s:
        Wall-clock seconds (kernel start included).
    executed_path:
        Where the executed notebook was written (``""`` for commands).
    log:
        Stream output (stdout and stderr) in the order written, then the error if any.
    error:
        The failure, or None.
    recovered:
        A failed command whose ``err_cmd`` succeeded (Pachyderm's "recovered" datum).
    """

    ok: bool
    duration_s: float
    executed_path: str
    log: str
    error: CellError | None
    recovered: bool = False


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (terminal colours) from ``text``."""
    return _ANSI.sub("", text)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started (its own process group on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def run_command(
    cmd: list[str],
    stdin: list[str] | None,
    *,
    cwd: str | os.PathLike[str],
    env: dict[str, str] | None,
    timeout_s: float | None,
    err_cmd: list[str] | None = None,
    err_stdin: list[str] | None = None,
    accept_return_code: Sequence[int] = (),
    sandbox: Sandbox | None = None,
) -> RunResult:
    """Run a Pachyderm ``transform.cmd``, feeding ``transform.stdin`` as its standard input.

    As in Pachyderm, ``cmd`` is not run through a shell: to run a script, make ``cmd`` a shell
    (``["bash"]``) and pass the script's lines as ``stdin``. The lines are joined with ``"\\n"``
    and a final newline is added. Never raises for a failing command.

    Parameters
    ----------
    cmd:
        Program and arguments.
    stdin:
        Lines for standard input; None gives an empty standard input.
    cwd:
        Working directory (must exist); with a ``sandbox``, the sandbox decides instead.
    env:
        Variables added to (overriding) this process's environment.
    timeout_s:
        Limit for the run (the command, then ``err_cmd``); on expiry the command and its
        children are killed.
    err_cmd, err_stdin:
        Pachyderm's error handler: run when the command fails (not on a timeout); if it
        succeeds the datum is *recovered*: ``ok`` stays False, ``recovered`` is True, and the
        job does not fail because of it (its outputs are dropped).
    accept_return_code:
        Exit codes that count as success besides 0.
    sandbox:
        Run in a :class:`~jupyter_pipes.pipeline.sandbox.Sandbox` (``/pfs`` layout).

    Returns
    -------
    RunResult
        ``log`` is stdout and stderr interleaved. A non-zero exit gives
        ``CellError(-1, "CommandFailed", "exit code N", <last output lines>)``, a program that
        cannot be started ``"CommandFailed"`` with the OS error, a timeout ``"TimeoutError"``.

    Raises
    ------
    InvalidArgument
        Empty ``cmd``, non-string env, non-positive timeout.
    NotFound
        ``cwd`` does not exist.
    ~jupyter_pipes.pipeline.cancel.Cancelled
        The datum's job was cancelled: the command was killed.
    """
    if not cmd or not all(isinstance(a, str) for a in cmd):
        raise InvalidArgument("cmd must be a non-empty list of strings", field="cmd")
    if env and not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InvalidArgument("env names and values must be strings", field="env")
    if timeout_s is not None and not timeout_s > 0:
        raise InvalidArgument(f"timeout_s must be positive, got {timeout_s!r}", field="timeout_s")
    workdir = os.path.abspath(os.fspath(cwd))
    if sandbox is not None:
        workdir = sandbox.cwd()
    elif not os.path.isdir(workdir):
        raise NotFound(f"working directory {workdir!r} does not exist", path=workdir)
    start = time.monotonic()
    full_env = {**os.environ, **(env or {})}
    accepted = {0, *accept_return_code}
    log, error = _run_once(cmd, stdin, workdir, full_env, timeout_s, accepted, sandbox)
    if error is None or not err_cmd or error.ename == "TimeoutError":
        return RunResult(error is None, time.monotonic() - start, "", log, error)
    left = None if timeout_s is None else max(timeout_s - (time.monotonic() - start), 0.001)
    err_log, err_error = _run_once(err_cmd, err_stdin, workdir, full_env, left, accepted, sandbox)
    outcome = "recovered the datum" if err_error is None else f"failed too ({err_error.evalue})"
    log += f"--- err_cmd\n{err_log}err_cmd {outcome}\n"
    return RunResult(False, time.monotonic() - start, "", log, error, recovered=err_error is None)


def _run_once(
    cmd: list[str],
    stdin: list[str] | None,
    workdir: str,
    env: dict[str, str],
    timeout_s: float | None,
    accepted: set[int],
    sandbox: Sandbox | None,
) -> tuple[str, CellError | None]:
    """Run one command: its log, and its error (None when it exited with an accepted code)."""
    data = None if stdin is None else ("\n".join(stdin) + "\n").encode("utf-8")
    argv = sandbox.argv(cmd, env) if sandbox is not None else cmd
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env=env,
            start_new_session=os.name == "posix",  # a process group to kill on timeout
        )
    except OSError as e:
        failed = CellError(-1, "CommandFailed", f"cannot run {cmd[0]!r}: {e.strerror or e}", "")
        return f"{failed.evalue}\n", failed
    error: CellError | None
    with proc, running(lambda: _kill(proc)):  # a cancelled job kills the command
        try:
            output, _ = proc.communicate(data, timeout=timeout_s)
            error = None
        except subprocess.TimeoutExpired:
            _kill(proc)
            try:  # a grandchild that left the group may hold the pipe open: do not wait forever
                output, _ = proc.communicate(timeout=_GRACE_S)
            except subprocess.TimeoutExpired:
                output = b""
            error = CellError(-1, "TimeoutError", f"command exceeded {timeout_s:g} s", "")
        except BrokenPipeError:  # the command did not read all of its stdin: as Pachyderm
            output, _ = proc.communicate()
            error = None
    log = output.decode("utf-8", "replace")
    if error is None and proc.returncode not in accepted:
        tail = "\n".join(strip_ansi(log).splitlines()[-_TAIL:])
        error = CellError(-1, "CommandFailed", f"exit code {proc.returncode}", tail)
    if error is not None:
        log += ("" if not log or log.endswith("\n") else "\n") + f"{error.ename}: {error.evalue}\n"
    return log, error
