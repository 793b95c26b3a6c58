"""``%pipe`` and ``%%pipe``: the CLI's grammar in a notebook, with rich output.

How a line runs:

1. ``--store URL`` / ``--db URL`` before the verb pick the store (see :mod:`.session`); alone,
   they set this kernel's default store.
2. The notebook verbs (``datum``, ``load``, ``dag``, ``history``, ``serve``, ``lineage``) run
   from :mod:`.commands`.
3. Every other line runs the ``jupyter pipes`` click app in-process on this kernel's Client
   (:mod:`.bridge`): same parser, same messages, same ``--help``. A ``%%pipe`` cell body is the
   command's stdin, and ``-f -`` is added when no ``-f`` is given, so ``%%pipe create pipeline``
   takes the spec from the cell (a relative notebook path is read from the kernel's working
   directory).
4. Output: with ``--json``, the parsed JSON is returned (``x = %pipe list repo --json``);
   tables and key/value blocks are displayed with ``text/plain`` and ``text/html``; other text
   is printed; errors print one ``error: ...`` line on stderr, never a traceback. While a
   command waits for jobs, a progress bar per job shows (ipywidgets in a notebook; one line per
   job state change in a terminal).
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from typing import Any, TextIO

from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display

from ..cli.base import PROG as CLI_PROG
from ..client import Client
from ..pipeline.records import JobInfo
from . import bridge, commands, session
from .display import Listing

GLOBAL_OPTIONS = ("--store", "--db")


def split_globals(args: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading ``--store X``/``--store=X``/``--db X`` options, and the rest of the line."""
    found: dict[str, str] = {}
    rest = list(args)
    while rest and rest[0].split("=", 1)[0] in GLOBAL_OPTIONS:
        head = rest.pop(0)
        name, eq, value = head.partition("=")
        if not eq:
            if not rest:
                raise ValueError(f"option {name} needs a value")
            value = rest.pop(0)
        found[name.lstrip("-")] = value
    return found, rest


def _in_kernel(shell: Any) -> bool:
    return type(shell).__name__ == "ZMQInteractiveShell"


class TextProgress:
    """Progress for terminals (or without ipywidgets): one line per job state change, printed
    as it happens to the real stderr (the command's own stderr is captured)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.states: dict[str, str] = {}

    def __call__(self, job: JobInfo) -> None:
        if self.states.get(job.id) != job.state:
            self.states[job.id] = job.state
            done = job.processed + job.skipped + job.failed
            self.stream.write(
                f"job {job.id} {job.pipeline} {job.state} ({done}/{job.total} datums)\n"
            )
            self.stream.flush()

    def close(self) -> None:
        """Nothing to release."""


class _Silent:
    def __call__(self, job: JobInfo) -> None:
        pass

    def close(self) -> None:
        pass


@magics_class
class PipeMagics(Magics):
    """The ``%pipe`` line magic and ``%%pipe`` cell magic."""

    def _progress_factory(self) -> Any:
        stream = sys.stderr  # the real one: bridge.run_cli swaps sys.stderr while it runs
        widgets = None
        if _in_kernel(self.shell):
            try:
                from . import widgets
            except ImportError:
                widgets = None

        def factory(enabled: bool | None) -> Any:
            if enabled is False:
                return _Silent()
            if widgets is not None:
                return widgets.JobProgressWidget()
            return TextProgress(stream)

        return factory

    @line_cell_magic
    def pipe(self, line: str, cell: str | None = None) -> Any:
        """Run ``jupyter pipes`` commands (``%pipe list repo``, ``%pipe put file
        data@master:/x.csv -f x.csv``, ``%pipe wait commit data@master``), the notebook verbs
        ``datum``, ``load``, ``dag`` and ``history``, or (``%%pipe``) a command whose ``-f -``
        input is the cell (``%%pipe create pipeline`` with the YAML spec as the body).

        ``%pipe --help`` lists everything; ``%pipe VERB NOUN --help`` explains one command.
        """
        try:
            options, args = split_globals(shlex.split(line))
        except ValueError as e:
            print(f"error: {e}", file=sys.stderr)
            return None
        if not args:
            if "store" in options:
                key = session.set_default(options["store"], options.get("db"))
                print(f"store: {key.store}" + (f" (metadata: {key.db})" if key.db else ""))
                return None
            args = ["--help"]
        key = session.resolve(options.get("store"), options.get("db"))
        if args[0] in commands.VERBS:  # their client opens on first use
            return self._notebook_verb(lambda: session.client(key), args)
        try:
            client = session.client(key)
        except Exception as e:  # a bad store URL or database: one line
            print(f"error: cannot open store {key.store}: {e}", file=sys.stderr)
            return None
        stdin = ""
        if cell is not None:
            stdin = cell
            if not any(a in ("-f", "--file") or a.startswith("--file=") for a in args):
                args += ["-f", "-"]
        outcome = bridge.run_cli(args, client, stdin=stdin, progress=self._progress_factory())
        self._refresh_widgets()
        return self._present(outcome, as_json="--json" in args, help=args[0] in ("-h", "--help"))

    def _notebook_verb(self, open_client: Callable[[], Client], args: list[str]) -> Any:
        nb = commands.Notebook(open_client, self.shell.user_ns)
        outcome = bridge.invoke(commands.notebook, args, nb, capture=False)
        self._refresh_widgets()
        return nb.result if outcome.status == 0 else None

    def _refresh_widgets(self) -> None:
        mod = sys.modules.get(f"{__package__}.widgets")
        if mod is not None:
            mod.refresh_all()

    def _present(self, outcome: bridge.Outcome, *, as_json: bool, help: bool) -> Any:
        if as_json and outcome.status == 0:
            try:
                return json.loads(outcome.stdout)
            except ValueError:
                pass  # not JSON after all (e.g. --help): show it as text
        if outcome.blocks:
            display(Listing(outcome.text, outcome.blocks))
        elif outcome.stdout:
            try:
                text = outcome.stdout.decode("utf-8")
            except UnicodeDecodeError:
                text = (
                    f"<{len(outcome.stdout)} bytes of binary data: use -o FILE, or "
                    "%pipe load REPO@REF:PATH for a local copy>"
                )
            print(text, end="" if text.endswith("\n") else "\n")
        if help:
            print(_NOTEBOOK_HELP)
        if outcome.stderr:
            sys.stderr.write(outcome.stderr.replace(f"{CLI_PROG} ", f"{bridge.PROG} "))
            sys.stderr.flush()
        return None


_NOTEBOOK_HELP = """
Notebook verbs (%pipe VERB --help for each):
  datum PIPELINE [N]      materialise datum N of a pipeline's inputs; set its variables here
  load REPO@REF:PATH      a file's local path, or a DataFrame for .csv/.parquet
  dag [--watch S]         the DAG, pipelines coloured by their newest job's state (widget)
  history REPO@BRANCH     a branch's commits with revert buttons (widget)
  serve REPO@BRANCH       serve a model from a branch, from this kernel (an endpoint)
  lineage REPO@REF:PATH   what made a file, recursively upstream (--json: as a dict)
  cluster [--json]        the Dask cluster running the jobs: workers, kernels, datums

Store: %pipe --store PATH_OR_URL VERB ... for one line; %pipe --store PATH_OR_URL alone for
this kernel; else $JUPYTER_PIPES_STORE, else .pipes in the kernel's working directory.
%%pipe VERB NOUN ...: the cell is the command's '-f -' input (a spec, or a file's content)."""
