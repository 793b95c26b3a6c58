"""Warm kernels isolate datums: every kind of state a datum can leave behind, one test each.

A datum changes one kind of state; the next datum in the same warm kernel must observe what a
fresh kernel observes. State the reset puts back keeps the kernel (same process); state it can
only detect (a patched library function, a thread still running the datum's code, an import
hook) makes the pool replace the kernel before the next datum. Real kernels, no mocks.

The first 22 kinds are those of issue #19 (10 were already reset, 12 leaked); the rest go beyond.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_pipes.pipeline.notebook import run_notebook
from jupyter_pipes.pipeline.warm import KernelPool, run_warm

KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}

# What a datum observes; written as JSON to ``result``.
OBSERVE = r"""
import builtins, gc, json, locale, logging, os, resource, signal, socket, sys, threading, time
import warnings
fds = []
for fd in os.listdir("/proc/self/fd"):
    try:
        fds.append(os.readlink(f"/proc/self/fd/{fd}"))
    except OSError:  # the listing's own descriptor, closed by now
        pass
mask = os.umask(0o22); os.umask(mask)
obs = {
    "globals": "leaky_var" in globals(),
    "user module": "leaky_mod" in sys.modules,
    "cwd": os.getcwd() == here,
    "environment": os.environ.get("PIPES_LEAK"),
    "sys.path": [p for p in sys.path if "leaky" in p],
    "argv": [a for a in sys.argv if "leaky" in a],
    "stdout": [type(sys.stdout).__name__, type(sys.stderr).__name__],
    "warning filters": [len(warnings.filters), warnings.filters[0][0]],
    "open files": [f for f in fds if "leaky" in f],
    "execution count": get_ipython().execution_count,
    "umask": mask,
    "SIGTERM handler": str(signal.getsignal(signal.SIGTERM)),
    "gc": gc.isenabled(),
    "recursion limit": sys.getrecursionlimit(),
    "switch interval": sys.getswitchinterval(),
    "time zone": [time.tzname, time.timezone],
    "non-file module": "leaky_virtual" in sys.modules,
    "builtins attribute": hasattr(builtins, "leaky_builtin"),
    "patched round": round(2.5),
    "patched json.dumps": json.dumps.__module__,
    "thread": [t.name for t in threading.enumerate() if t.name.startswith("leaky")],
    "socket timeout": socket.getdefaulttimeout(),
    # beyond the issue
    "root logger": [logging.root.level, len(logging.root.handlers)],
    "logger handlers": len(logging.getLogger("leaky").handlers),
    "locale": locale.setlocale(locale.LC_ALL),
    "excepthook": getattr(sys.excepthook, "__qualname__", "?"),
    "gc threshold": gc.get_threshold(),
    "int max str digits": sys.get_int_max_str_digits(),
    "interval timer": signal.getitimer(signal.ITIMER_REAL)[0] > 0,
    "resource limit": resource.getrlimit(resource.RLIMIT_NOFILE),
    "import hook": [type(f).__name__ for f in sys.meta_path if "Leaky" in type(f).__name__],
    "patched colorsys": __import__("colorsys").rgb_to_hsv.__module__,
    "pid": os.getpid(),
}
with open(result, "w") as f:
    json.dump(obs, f)
"""

# kind -> (code run by one datum, whether the kernel must be replaced after it)
ISSUE_KINDS: dict[str, tuple[str, bool]] = {
    "globals": ("leaky_var = 1", False),
    "user module": ("open('leaky_mod.py', 'w').write('X = 1\\n')\nimport leaky_mod", False),
    "cwd": ("import os\nos.chdir('/')", False),
    "environment": ("import os\nos.environ['PIPES_LEAK'] = 'x'", False),
    "sys.path": ("import sys\nsys.path.insert(0, '/leaky/path')", False),
    "argv": ("import sys\nsys.argv.append('leaky')", False),
    "stdout": ("import io, sys\nsys.stdout = io.StringIO()\nsys.stderr = io.StringIO()", False),
    "warning filters": ("import warnings\nwarnings.simplefilter('error')", False),
    "open files": ("leaky_file = open(os.path.join(shared, 'leaky.txt'), 'w')", False),
    "execution count": ("pass", False),
    "umask": ("import os\nos.umask(0o077)", False),
    "SIGTERM handler": ("import signal\nsignal.signal(signal.SIGTERM, lambda *a: None)", False),
    "gc": ("import gc\ngc.disable()", False),
    "recursion limit": ("import sys\nsys.setrecursionlimit(54321)", False),
    "switch interval": ("import sys\nsys.setswitchinterval(0.5)", False),
    "time zone": ("import os, time\nos.environ['TZ'] = 'XYZ-05:30'\ntime.tzset()", False),
    "non-file module": (
        "import sys, types\nsys.modules['leaky_virtual'] = types.ModuleType('leaky_virtual')",
        False,
    ),
    "builtins attribute": ("import builtins\nbuiltins.leaky_builtin = 1", False),
    "patched round": ("import builtins\nbuiltins.round = lambda *a: 'patched'", False),
    # the patch calls a global of the datum: after its namespace is reset, the kernel's own
    # messages (which use json.dumps) raise NameError unless the patch is undone
    "patched json.dumps": (
        "import json\nleaky_dumps = json.dumps\njson.dumps = lambda *a, **k: leaky_dumps(*a, **k)",
        True,
    ),
    "thread": (
        "import threading, time\n"
        "threading.Thread(target=lambda: time.sleep(3600), name='leaky', daemon=True).start()",
        True,
    ),
    "socket timeout": ("import socket\nsocket.setdefaulttimeout(7)", False),
}
MORE_KINDS: dict[str, tuple[str, bool]] = {
    "root logger": (
        "import logging\n"
        "logging.basicConfig(level=logging.DEBUG, filename=os.path.join(shared, 'leaky.log'))",
        False,
    ),
    "logger handlers": (
        "import logging\nlogging.getLogger('leaky').addHandler(logging.StreamHandler())",
        False,
    ),
    "locale": ("import locale\nlocale.setlocale(locale.LC_ALL, 'C')", False),
    "excepthook": ("import sys\nsys.excepthook = lambda *a: None", False),
    "gc threshold": ("import gc\ngc.set_threshold(1, 1, 1)", False),
    "int max str digits": ("import sys\nsys.set_int_max_str_digits(640)", False),
    "interval timer": ("import signal\nsignal.setitimer(signal.ITIMER_REAL, 3600)", False),
    "resource limit": (
        "import resource\nsoft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (soft // 2, hard))",
        False,
    ),
    "import hook": (
        "import sys\nclass Leaky:\n    def find_spec(self, *a, **k):\n        return None\n"
        "sys.meta_path.insert(0, Leaky())",
        True,
    ),
    # a module the kernel had not imported before the datum, patched by it
    "patched colorsys": ("import colorsys\ncolorsys.rgb_to_hsv = lambda *a: (0, 0, 0)", True),
}


def notebook(path: Path, params: str, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNEL
    nb.cells = [nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]})]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("isolation")


@pytest.fixture(scope="module")
def observer(work: Path) -> Path:
    return notebook(work / "observe.ipynb", "here = ''\nresult = ''", OBSERVE)


@pytest.fixture(scope="module")
def pool() -> Iterator[KernelPool]:
    p = KernelPool(max_uses=10_000, max_idle=1)
    yield p
    p.close()


class Runner:
    def __init__(self, work: Path, observer: Path) -> None:
        self.work, self.observer, self.n = work, observer, 0

    def folder(self) -> Path:
        self.n += 1
        d = self.work / f"run{self.n}"
        d.mkdir()
        return d

    def observe(self, run: Any) -> dict[str, Any]:
        d = self.folder()
        params = {"here": str(d), "result": str(d / "obs.json")}
        res = run(self.observer, d / "executed.ipynb", params, cwd=d)
        assert res.ok, res.log
        return json.loads((d / "obs.json").read_text())


@pytest.fixture(scope="module")
def runner(work: Path, observer: Path) -> Runner:
    return Runner(work, observer)


@pytest.fixture(scope="module")
def fresh(runner: Runner) -> dict[str, Any]:
    """What a datum observes in a fresh kernel."""
    return runner.observe(run_notebook)


def check(
    kind: str, code: str, restart: bool, pool: KernelPool, runner: Runner, fresh: dict
) -> None:
    def warm(*args: Any, **kwargs: Any) -> Any:
        return run_warm(pool, *args, **kwargs)

    before = runner.observe(warm)
    d = runner.folder()
    shared = str(runner.work)
    polluter = notebook(d / "pollute.ipynb", "shared = ''", "import os", code, "x = 1", "x")
    res = warm(polluter, d / "executed.ipynb", {"shared": shared}, cwd=d)
    assert res.ok, res.log
    after = runner.observe(warm)
    expected = {k: v for k, v in fresh.items() if k != "pid"}
    assert {k: v for k, v in before.items() if k != "pid"} == expected  # the test's own premise
    assert after[kind] == fresh[kind], f"{kind} leaked into the next datum"
    assert {k: v for k, v in after.items() if k != "pid"} == expected  # nothing else either
    if restart:
        assert after["pid"] != before["pid"], "the kernel should have been replaced"
    else:
        assert after["pid"] == before["pid"], "the reset should have kept the kernel"


@pytest.mark.parametrize("kind", list(ISSUE_KINDS))
def test_state_of_issue_19_does_not_leak(
    kind: str, pool: KernelPool, runner: Runner, fresh: dict
) -> None:
    check(kind, *ISSUE_KINDS[kind], pool, runner, fresh)


@pytest.mark.parametrize("kind", list(MORE_KINDS))
def test_more_state_does_not_leak(kind: str, pool: KernelPool, runner: Runner, fresh: dict) -> None:
    check(kind, *MORE_KINDS[kind], pool, runner, fresh)


def test_library_threads_and_imports_keep_the_kernel_warm(
    pool: KernelPool, runner: Runner, fresh: dict, work: Path
) -> None:
    """An installed library's own thread (idle, running none of the datum's code) and modules
    imported by the datum do not cost a restart; the modules stay imported."""
    d = runner.folder()
    code = (
        "import concurrent.futures, decimal, fractions\n"
        "leaky_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix='lib')\n"
        "leaky_pool.submit(sum, [1, 2]).result()"
    )
    polluter = notebook(d / "lib.ipynb", "shared = ''", code)
    before = runner.observe(lambda *a, **k: run_warm(pool, *a, **k))
    assert run_warm(pool, polluter, d / "executed.ipynb", {"shared": ""}, cwd=d).ok
    probe = notebook(
        d / "probe.ipynb",
        "out = ''",
        "import os, sys\nprint(os.getpid(), 'fractions' in sys.modules)",
    )
    res = run_warm(pool, probe, d / "probe-executed.ipynb", {}, cwd=d)
    assert res.ok, res.log
    pid, imported = res.log.split()
    assert int(pid) == before["pid"] and imported == "True"
