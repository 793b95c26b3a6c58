"""Runs *inside* a warm IPython kernel: snapshot its pristine state, reset to it between datums.

:mod:`jupyter_pipes.pipeline.warm` sends this file's source to each kernel it starts, where it
becomes the module ``_jupyter_pipes_warm`` (the kernel may run another Python, without
jupyter_pipes installed, so nothing here imports it; standard library only). Then:

* :func:`snapshot` right after the kernel started: environment, ``sys.path``, modules loaded,
  working directory, streams, warning filters, the initial namespace; :func:`serve` then
  answers ``enter`` and ``reset`` requests sent as comm messages (half the cost of an
  ``execute_request``: no cell machinery, no output flushing);
* :func:`enter` before a datum: ``chdir`` to the datum's working directory;
* :func:`reset` after a datum: forget the user's modules, restore the rest, reset IPython's
  namespace, history and execution counter (``%reset -f`` and a new history session), then
  ``gc.freeze()`` what survives so the next reset's garbage collection stays sub-millisecond.

"User modules" are modules imported since the snapshot whose files are outside the Python
installation (``sys.prefix``, ``sys.base_prefix``, site-packages): modules of the datum's folder
and of any other folder the notebook put on ``sys.path``. Installed libraries stay imported —
that is what keeps a warm kernel warm — and so does their module-level state.
"""

from __future__ import annotations

import gc
import importlib
import os
import pathlib
import site
import sys
import sysconfig
import warnings
from typing import Any

_state: dict[str, Any] = {}


def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # site of some virtualenvs
        pass
    return tuple(sorted({os.path.realpath(r) for r in roots if r}))


def _is_user(module: object, roots: tuple[str, ...]) -> bool:
    """Whether ``module`` was loaded from a file outside the Python installation."""
    file = getattr(module, "__file__", None)
    paths = [file] if isinstance(file, str) else []
    if not paths:
        try:
            paths = [p for p in getattr(module, "__path__", None) or [] if isinstance(p, str)]
        except Exception:  # an exotic __path__
            return False
    for path in paths:
        real = os.path.realpath(path)
        if not any(real == r or real.startswith(r + os.sep) for r in roots):
            return True
    return False


def snapshot(shell: Any) -> None:
    """Record the kernel's pristine state (call once, before any user code ran)."""
    _state.update(
        shell=shell,
        env=dict(os.environ),
        path=list(sys.path),
        modules=set(sys.modules),
        importers=set(sys.path_importer_cache),
        home=os.getcwd(),
        roots=_installed_roots(),
        streams=(sys.stdin, sys.stdout, sys.stderr),
        argv=list(sys.argv),
        filters=list(warnings.filters),
        namespace=dict(shell.user_ns),
    )


def enter(cwd: str) -> None:
    """Make ``cwd`` the working directory, as a kernel started there would have it."""
    os.chdir(cwd)
    _state["shell"].history_manager.dir_hist[:] = [pathlib.Path(cwd)]  # IPython's _dh


def reset() -> None:
    """Bring the kernel back to its snapshot; keep installed modules imported."""
    s = _state
    known, roots = s["modules"], s["roots"]
    for name in [n for n in sys.modules if n not in known]:
        module = sys.modules.get(name)
        if module is not None and _is_user(module, roots):
            del sys.modules[name]
    known.update(sys.modules)  # what stays is installed: do not check it again
    sys.path[:] = s["path"]
    for key in [k for k in sys.path_importer_cache if k not in s["importers"]]:
        del sys.path_importer_cache[key]
    importlib.invalidate_caches()
    os.chdir(s["home"])
    env = s["env"]
    for key in [k for k in os.environ if k not in env]:
        del os.environ[key]
    for key, value in env.items():
        if os.environ.get(key) != value:
            os.environ[key] = value
    sys.stdin, sys.stdout, sys.stderr = s["streams"]
    sys.argv[:] = s["argv"]
    warnings.filters[:] = s["filters"]
    getattr(warnings, "_filters_mutated", lambda: None)()  # drop cached filter decisions
    shell = s["shell"]
    shell.reset(new_session=True)  # the namespace, In/Out, history, execution count
    for key, value in s["namespace"].items():
        shell.user_ns.setdefault(key, value)
    gc.collect()
    gc.freeze()  # survivors are long-lived: keep later collections short


def serve(shell: Any, target: str) -> None:
    """Answer ``{"op": "enter", "cwd": ...}`` and ``{"op": "reset"}`` on comms of ``target``."""

    def opened(comm: Any, _msg: Any) -> None:
        @comm.on_msg  # type: ignore[untyped-decorator]
        def handle(msg: dict[str, Any]) -> None:
            data = msg["content"]["data"]
            try:
                if data["op"] == "enter":
                    enter(data["cwd"])
                else:
                    reset()
            except Exception as e:
                comm.send({"ok": False, "error": f"{type(e).__name__}: {e}"})
            else:
                comm.send({"ok": True})

    shell.kernel.comm_manager.register_target(target, opened)
