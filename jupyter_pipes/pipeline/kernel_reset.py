"""Runs *inside* a warm IPython kernel: snapshot its pristine state, reset to it between datums.

:mod:`jupyter_pipes.pipeline.warm_kernel` sends this file's source to each kernel it starts,
where it becomes the module ``_jupyter_pipes_warm`` (the kernel may run another Python, without
jupyter_pipes installed, so nothing here imports it; standard library only). Then:

* :func:`snapshot` when our comm opens, before any user code ran (and outside any cell, so
  IPython's temporary builtins and display hook are not part of it); :func:`serve` answers
  ``enter`` and ``reset`` requests sent as comm messages (half the cost of an
  ``execute_request``: no cell machinery, no output flushing);
* :func:`enter` before a datum: ``chdir`` to the datum's working directory;
* :func:`reset` after a datum: first *detect* what cannot be undone, then *restore* what can,
  then reset IPython's namespace, history and execution counter (``%reset -f`` and a new
  history session) and ``gc.freeze()`` what survives so the next collection stays short.

What is restored (the kernel is kept): user modules (imported from files outside the Python
installation, or file-less modules that are not part of an installed package) are forgotten;
``sys.path`` and the import caches, the working directory, ``os.environ`` (and the C library's
time zone, ``time.tzset()``), ``sys.stdin``/``stdout``/``stderr``, ``sys.argv``, the warning
filters, the umask, Python-level signal handlers, the signal mask and interval timers, the
locale, the socket default timeout, soft resource limits, the garbage collector's switch,
thresholds and debug flags, the recursion limit, the switch interval, the int/str digit limit,
``sys``'s hooks (display, except, breakpoint, unraisable, trace, profile), attributes of the
``builtins`` module, and logging (the handlers a datum added are removed and closed, levels,
filters, ``propagate``, ``disabled`` and ``logging.disable`` restored).

What is detected (the kernel is replaced before the next datum — :func:`reset` returns why):
a function, class or other callable of an installed module replaced (monkey-patched) or defined
by the datum's code; a module of the snapshot replaced in ``sys.modules``; a thread started by
the datum still running the datum's code; an import hook the datum's code installed; a resource
limit or priority that cannot be raised back. Patched functions are put back at once (the
kernel's own messaging may depend on them) before the replacement.

Not covered (installed libraries stay imported — that is what keeps a warm kernel warm): other
module-level *data* of installed libraries (``np.random.seed``, ``pd.set_option``, caches),
patched *methods* of installed classes, raw file descriptors, ``os.putenv``, ``atexit``
registrations.
"""

from __future__ import annotations

import builtins
import contextlib
import gc
import importlib
import locale
import logging
import operator
import os
import pathlib
import signal
import site
import socket
import sys
import sysconfig
import threading
import time
import types
import warnings
from typing import Any

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

_state: dict[str, Any] = {}
_MISSING = object()
_TIMERS = [
    getattr(signal, n)
    for n in ("ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF")
    if hasattr(signal, n)
]
_HOOKS = ("displayhook", "excepthook", "breakpointhook", "unraisablehook")
_RESTORED_SYS = frozenset(_HOOKS)  # restored by _interpreter: not a reason to restart
_UNCATCHABLE = {getattr(signal, n, None) for n in ("SIGKILL", "SIGSTOP")}


def _settings() -> list[tuple[str, Any, Any]]:
    """(name, getter, setter) of interpreter-wide settings a datum may change."""
    out = [
        ("recursion limit", sys.getrecursionlimit, sys.setrecursionlimit),
        ("switch interval", sys.getswitchinterval, sys.setswitchinterval),
        ("socket default timeout", socket.getdefaulttimeout, socket.setdefaulttimeout),
        ("trace function", sys.gettrace, sys.settrace),
        ("profile function", sys.getprofile, sys.setprofile),
    ]
    if hasattr(sys, "get_int_max_str_digits"):
        out.append(("int max str digits", sys.get_int_max_str_digits, sys.set_int_max_str_digits))
    if hasattr(threading, "gettrace"):
        out.append(("threading trace", threading.gettrace, threading.settrace))
        out.append(("threading profile", threading.getprofile, threading.setprofile))
    if hasattr(sys, "getdlopenflags"):
        out.append(("dlopen flags", sys.getdlopenflags, sys.setdlopenflags))
    for name in _HOOKS:
        if hasattr(sys, name):
            out.append((f"sys.{name}", _getter(sys, name), _setter(sys, name)))
    out.append(("sys.dont_write_bytecode", _getter(sys, "dont_write_bytecode"),
                _setter(sys, "dont_write_bytecode")))  # fmt: skip
    return out


def _getter(obj: Any, name: str) -> Any:
    return lambda: getattr(obj, name)


def _setter(obj: Any, name: str) -> Any:
    return lambda value: setattr(obj, name, value)


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def _signals() -> dict[int, Any]:
    handlers: dict[int, Any] = {}
    for sig in signal.valid_signals():
        if sig in _UNCATCHABLE:
            continue
        try:
            handler = signal.getsignal(sig)
        except (OSError, ValueError):
            continue
        if handler is not None:  # None: installed outside Python, cannot be put back
            handlers[sig] = handler
    return handlers


def _sigmask() -> Any:
    if not hasattr(signal, "pthread_sigmask"):
        return None
    return signal.pthread_sigmask(signal.SIG_BLOCK, [])


def _tz() -> tuple[Any, ...]:
    return (time.tzname, time.timezone, time.altzone, time.daylight)


def _rlimits() -> dict[int, tuple[int, int]]:
    if resource is None:
        return {}
    limits = {}
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            key = getattr(resource, name)
            with contextlib.suppress(OSError, ValueError):
                limits[key] = resource.getrlimit(key)
    return limits


def _priority() -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (AttributeError, OSError):
        return None


def _installed_roots() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.update(p for p in sysconfig.get_paths().values() if p)
    try:
        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except AttributeError:  # site of some virtualenvs
        pass
    return tuple(sorted({os.path.realpath(r) for r in roots if r}))


def _user_file(path: str) -> bool:
    """Whether code or a module at ``path`` is the user's (outside the Python installation).
    Cells compile to files in a temporary folder (ipykernel) or ``<ipython-input-…>``;
    other ``<…>`` names are generated code (dataclasses, namedtuple, ours)."""
    cache = _state["files"]
    found = cache.get(path)
    if found is None:
        if path.startswith("<"):
            found = path.startswith("<ipython-input")
        else:
            real = os.path.realpath(path)
            found = not any(real == r or real.startswith(r + os.sep) for r in _state["roots"])
        cache[path] = found
    return found


def _is_user(name: str, module: object, user: set[str]) -> bool:
    """Whether the module ``name`` (new since the snapshot) belongs to the user: loaded from a
    user file, or file-less and not a built-in, frozen or installed package's submodule."""
    file = getattr(module, "__file__", None)
    paths = [file] if isinstance(file, str) else []
    if not paths:
        try:
            paths = [p for p in getattr(module, "__path__", None) or [] if isinstance(p, str)]
        except Exception:  # an exotic __path__
            return False
    if paths:
        return any(_user_file(p) for p in paths)
    origin = getattr(getattr(module, "__spec__", None), "origin", None)
    if origin in ("built-in", "frozen"):
        return False
    parent = name.rpartition(".")[0]
    # a file-less submodule of an installed package is the package's (six.moves, ...)
    return not parent or parent in user or parent not in sys.modules


def _by_user(obj: Any, user: set[str]) -> bool:
    """Whether a function or class was defined by the datum's code (a cell or a user module)."""
    if not isinstance(obj, (types.FunctionType, type)):
        return False
    module = getattr(obj, "__module__", None)
    return module == "__main__" or module in user


def _callables(module: Any) -> tuple[Any, ...] | None:
    """(namespace, names, values, getter, expected) of a module's callables, for
    :func:`_patched`: ``getter(namespace) == expected`` while none was replaced (an
    ``itemgetter`` and a tuple comparison, which skips ``__eq__`` for identical items: C speed,
    ~0.1 µs per name)."""
    if not isinstance(module, types.ModuleType) or module is builtins:  # builtins: restored
        return None
    ns = module.__dict__
    skip = _RESTORED_SYS if module is sys else ()
    items = [
        (k, v)
        for k, v in list(ns.items())
        if callable(v) and not isinstance(v, types.ModuleType) and k not in skip
    ]
    if not items:
        return None
    keys, values = tuple(k for k, _ in items), tuple(v for _, v in items)
    if len(keys) == 1:  # itemgetter of one name returns the value, not a tuple
        return ns, keys, values, operator.itemgetter(keys[0], keys[0]), values * 2
    return ns, keys, values, operator.itemgetter(*keys), values


def snapshot(shell: Any) -> None:
    """Record the kernel's pristine state (call once, before any user code ran)."""
    root = logging.getLogger()
    _state.update(
        shell=shell,
        env=dict(os.environ),
        path=list(sys.path),
        modules=dict(sys.modules),
        importers=set(sys.path_importer_cache),
        home=os.getcwd(),
        roots=_installed_roots(),
        files={},
        streams=(sys.stdin, sys.stdout, sys.stderr),
        argv=list(sys.argv),
        filters=list(warnings.filters),
        namespace=dict(shell.user_ns),
        umask=_umask(),
        signals=_signals(),
        sigmask=_sigmask(),
        tz=_tz(),
        locale=locale.setlocale(locale.LC_ALL),
        settings=[(n, get, put, get()) for n, get, put in _settings()],
        gc=(gc.get_threshold(), gc.get_debug()),
        builtins=dict(builtins.__dict__),
        rlimits=_rlimits(),
        priority=_priority(),
        threads=set(threading.enumerate()),
        hooks=(list(sys.meta_path), list(sys.path_hooks)),
        log_disable=root.manager.disable,
        loggers={},
        watched={},
    )
    _logging(first=True)
    _watch([n for n in sys.modules if n != "__main__"], set(), [])


def enter(cwd: str) -> None:
    """Make ``cwd`` the working directory, as a kernel started there would have it."""
    os.chdir(cwd)
    _state["shell"].history_manager.dir_hist[:] = [pathlib.Path(cwd)]  # IPython's _dh


# -- detection ------------------------------------------------------------------------------------


def _patched(why: list[str]) -> None:
    """Callables of installed modules replaced since they were watched: put the originals back
    (the kernel's own messaging may call them) and ask for a new kernel."""
    for name, (ns, keys, values, getter, expected) in _state["watched"].items():
        try:
            same = getter(ns) == expected  # identical objects compare equal without __eq__
        except Exception:  # a name deleted (KeyError), an odd __eq__
            same = False
        if not same:
            for key, value in zip(keys, values):  # noqa: B905 - the kernel's Python may be < 3.10
                if ns.get(key, _MISSING) is not value:
                    ns[key] = value
                    why.append(f"{name}.{key} was replaced")


def _modules(why: list[str]) -> list[str]:
    """Names of modules new since the last reset; snapshot modules removed are put back."""
    known = _state["modules"]
    modules = sys.modules
    if any(map(operator.is_not, map(modules.get, known), known.values())):
        for name, module in known.items():
            now = modules.get(name)
            if now is None:
                modules[name] = module
            elif now is not module:
                why.append(f"module {name} was replaced in sys.modules")
                modules[name] = module
    return [n for n in modules if n not in known] if len(modules) != len(known) else []


def _threads(why: list[str]) -> None:
    """Threads started since the snapshot and still running the datum's code."""
    known = _state["threads"]
    alive = threading.enumerate()
    frames = None
    for thread in alive:
        if thread in known:
            continue
        frames = frames if frames is not None else sys._current_frames()
        frame = frames.get(thread.ident)  # type: ignore[arg-type]
        user = frame is None  # not started yet: cannot tell, assume the worst
        while frame is not None and not user:
            user = _user_file(frame.f_code.co_filename)
            frame = frame.f_back
        if user:
            why.append(f"thread {thread.name!r} is still running")
        else:  # an installed library's own thread (a pool, a monitor): like its modules
            known.add(thread)
    known.intersection_update(alive)


def _import_hooks(why: list[str], user: set[str]) -> None:
    live: tuple[list[Any], list[Any]] = (sys.meta_path, sys.path_hooks)
    for hooks, start in zip(live, _state["hooks"]):  # noqa: B905
        for hook in [h for h in hooks if not any(h is s for s in start)]:
            if _by_user(hook, user) or _by_user(type(hook), user):
                why.append(f"import hook {hook!r} was installed")
                hooks.remove(hook)
            else:
                start.append(hook)


def _watch(names: list[str], user: set[str], why: list[str]) -> None:
    """Start watching modules an installed library imported during the datum; a callable the
    datum's code put into one of them already is a patch."""
    watched = _state["watched"]
    for name in names:
        module = sys.modules.get(name)
        if getattr(module, "__dict__", None) is _state["shell"].user_ns:
            continue  # the user's namespace (``__main__``): reset, not watched
        found = _callables(module)
        if found is None:
            continue
        watched[name] = found
        for key, value in zip(found[1], found[2]):  # noqa: B905
            if _by_user(value, user):
                why.append(f"{name}.{key} was defined by the datum")


# -- restoration ----------------------------------------------------------------------------------


def _process(why: list[str]) -> None:
    s = _state
    if _umask() != s["umask"]:
        os.umask(s["umask"])
    for sig, handler in s["signals"].items():
        now = signal.getsignal(sig)
        if now is not handler and now != handler:
            try:
                signal.signal(sig, handler)
            except (OSError, ValueError, TypeError) as e:
                why.append(f"signal {sig}: {e}")
    if s["sigmask"] is not None and _sigmask() != s["sigmask"]:
        signal.pthread_sigmask(signal.SIG_SETMASK, s["sigmask"])
    for timer in _TIMERS:
        if signal.getitimer(timer) != (0.0, 0.0):
            signal.setitimer(timer, 0)
    if locale.setlocale(locale.LC_ALL) != s["locale"]:
        locale.setlocale(locale.LC_ALL, s["locale"])
    if s["rlimits"] and _rlimits() != s["rlimits"]:
        for key, limits in s["rlimits"].items():
            try:
                if resource.getrlimit(key) != limits:
                    resource.setrlimit(key, limits)
            except (OSError, ValueError):
                why.append(f"resource limit {key} cannot be restored")
    if s["priority"] is not None and _priority() != s["priority"]:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, s["priority"])
        except OSError:
            why.append("the process priority cannot be restored")


def _interpreter() -> None:
    s = _state
    if not gc.isenabled():
        gc.enable()
    threshold, debug = s["gc"]
    if gc.get_threshold() != threshold:
        gc.set_threshold(*threshold)
    if gc.get_debug() != debug:
        gc.set_debug(debug)
    for _name, get, put, value in s["settings"]:
        now = get()
        if now is not value and now != value:
            put(value)
    ns, start = builtins.__dict__, s["builtins"]
    if ns.keys() != start.keys() or any(map(operator.is_not, map(ns.get, start), start.values())):
        for key in [k for k in ns if k not in start]:
            del ns[key]
        ns.update(start)


def _environment() -> None:
    s = _state
    sys.path[:] = s["path"]
    for key in [k for k in sys.path_importer_cache if k not in s["importers"]]:
        del sys.path_importer_cache[key]
    importlib.invalidate_caches()
    os.chdir(s["home"])
    env, environ = s["env"], os.environ
    tz = environ.get("TZ")
    if environ.keys() != env.keys() or any(map(operator.ne, map(environ.get, env), env.values())):
        for key in [k for k in environ if k not in env]:
            del environ[key]
        for key, value in env.items():
            if environ.get(key) != value:
                environ[key] = value
    if environ.get("TZ") != tz or _tz() != s["tz"]:
        time.tzset()
    sys.stdin, sys.stdout, sys.stderr = s["streams"]
    sys.argv[:] = s["argv"]
    filters: list[Any] = warnings.filters  # type: ignore[assignment]  # typeshed: Sequence
    filters[:] = s["filters"]
    getattr(warnings, "_filters_mutated", lambda: None)()  # drop cached filter decisions


def _logging(first: bool = False) -> None:
    """Loggers back to their state before the datum: handlers it added removed and closed
    (a logger created during the datum keeps only ``NullHandler``s, as libraries add at import),
    level, filters, ``propagate`` and ``disabled`` restored. ``first``: record them as they are."""
    root = logging.getLogger()
    manager = root.manager
    if manager.disable != _state["log_disable"]:
        logging.disable(_state["log_disable"])
    known = _state["loggers"]
    loggers = [("", root)]
    loggers += [
        (n, lg) for n, lg in list(manager.loggerDict.items()) if isinstance(lg, logging.Logger)
    ]
    for name, lg in loggers:
        start = known.get(name)
        if start is None or start[0] is not lg:
            extra = (
                [] if first else [h for h in lg.handlers if not isinstance(h, logging.NullHandler)]
            )
            for h in extra:
                lg.removeHandler(h)
                h.close()
            known[name] = (
                lg,
                lg.level,
                tuple(lg.handlers),
                tuple(lg.filters),
                lg.propagate,
                lg.disabled,
            )
            continue
        _lg, level, handlers, filters, propagate, disabled = start
        if lg.level != level:
            lg.setLevel(level)
        if len(lg.handlers) != len(handlers) or any(map(operator.is_not, lg.handlers, handlers)):
            for h in lg.handlers:
                if not any(h is k for k in handlers):
                    h.close()
            lg.handlers[:] = handlers
        if len(lg.filters) != len(filters) or any(map(operator.is_not, lg.filters, filters)):
            lg.filters[:] = filters
        lg.propagate, lg.disabled = propagate, disabled


def reset() -> str:
    """Bring the kernel back to its snapshot; keep installed modules imported.

    Returns why the kernel must be replaced instead ("" when it need not be).
    """
    s = _state
    why: list[str] = []
    _patched(why)
    new = _modules(why)
    user: set[str] = set()
    for name in sorted(new):  # parents before their submodules
        if _is_user(name, sys.modules.get(name), user):
            user.add(name)
    _threads(why)
    _import_hooks(why, user)
    installed = [n for n in new if n not in user]
    _watch(installed, user, why)
    for name in user:
        sys.modules.pop(name, None)
    known = s["modules"]
    for name in installed:
        known[name] = sys.modules.get(name)
    _environment()
    _process(why)
    _interpreter()
    _logging()
    shell = s["shell"]
    shell.reset(new_session=True)  # the namespace, In/Out, history, execution count
    for key, value in s["namespace"].items():
        shell.user_ns.setdefault(key, value)
    gc.collect()
    gc.freeze()  # survivors are long-lived: keep later collections short
    return "; ".join(why)


def serve(shell: Any, target: str) -> None:
    """Answer ``{"op": "enter", "cwd": ...}`` and ``{"op": "reset"}`` on comms of ``target``;
    the first comm opened takes the snapshot. A reset replies ``{"ok": true, "restart": why}``."""

    def opened(comm: Any, _msg: Any) -> None:
        if not _state:
            snapshot(shell)
            reset()

        @comm.on_msg  # type: ignore[untyped-decorator]
        def handle(msg: dict[str, Any]) -> None:
            data = msg["content"]["data"]
            try:
                if data["op"] == "enter":
                    enter(data["cwd"])
                    comm.send({"ok": True})
                else:
                    start = time.perf_counter()
                    why = reset()
                    ms = (time.perf_counter() - start) * 1000
                    comm.send({"ok": True, "restart": why, "ms": ms})
            except Exception as e:
                comm.send({"ok": False, "error": f"{type(e).__name__}: {e}"})

    shell.kernel.comm_manager.register_target(target, opened)
