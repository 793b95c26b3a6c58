"""The root command, the verb groups (pachctl's grammar: ``VERB NOUN``) and shared helpers.

Noun modules (``repos``, ``branches``, ``commits``, ``files``, ``transfer``, ``admin`` ...)
register their commands on the groups defined here. They are imported lazily (#17): a group
imports the module of a command only when that command runs (or its help is shown), as
:data:`COMMANDS` says, so ``list repo`` never loads the pipeline or serving commands and
``--version`` loads none. :func:`load_all` imports every module (for embedders and for tests
that walk ``Group.commands``).
"""

from __future__ import annotations

import errno
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import PipesError

if TYPE_CHECKING:
    from ..client import Client

PROG = "jupyter pipes"
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    """The global options, and the :class:`Client` built from them on first use.

    A program that embeds the CLI (the ``%pipe`` magic) passes its own ``Settings`` as click's
    ``obj``, with a ready ``_client`` (kept open: it belongs to the embedder) and optionally a
    ``progress`` factory that replaces :class:`~jupyter_pipes.cli.jobs.JobProgress` (called
    with the ``--progress/--no-progress`` value, it returns a ``progress=`` callback for the
    Client's waits that also has ``close()``).
    """

    store: str | None
    db: str | None
    _client: Client | None = field(default=None, repr=False)
    progress: Callable[[bool | None], Any] | None = field(default=None, repr=False)
    _reader: Any = field(default=None, repr=False)

    def client(self) -> Client:
        """The client for this invocation (opened once, closed when the command ends; an
        embedder's client is used as is and left open)."""
        if self._client is None:
            from ..client import Client  # imported here: ``--version`` and ``--help`` skip it

            self._client = Client(self.store, db_url=self.db)
            click.get_current_context().find_root().call_on_close(self._client.close)
        return self._client

    def reader(self) -> Any:
        """What the read-only commands (``list|inspect repo``, ``list|inspect commit``) ask:
        the store's metadata read with ``sqlite3`` when :mod:`~jupyter_pipes.store.fastread`
        is sure that answers as the client would, else the client itself (#17)."""
        if self._reader is None:
            self._reader = self._client
            if self._reader is None:
                from ..pipeline import migrations as pipeline_chain
                from ..store import migrations as store_chain
                from ..store.fastread import open_reader

                chains = [(m.VERSION_TABLE, m.HEAD) for m in (store_chain, pipeline_chain)]
                fast = open_reader(self.store, self.db, chains)
                if fast is not None:
                    click.get_current_context().find_root().call_on_close(fast.close)
                    self._reader = _FastOrClient(fast, self.client)
                else:
                    self._reader = self.client()
        return self._reader


COMMANDS: dict[str, tuple[str, ...]] = {
    "admin": ("fsck", "gc", "upgrade"),
    "branches": (
        "create branch",
        "list branch",
        "inspect branch",
        "delete branch",
        "revert branch",
    ),
    "commits": (
        "list commit",
        "inspect commit",
        "squash commit",
        "delete commit",
        "subscribe commit",
    ),
    "controller": ("list controller", "controller"),
    "datums": ("list datum", "inspect datum", "get notebook", "logs", "restart datum"),
    "files": (
        "list file",
        "glob file",
        "inspect file",
        "diff file",
        "delete file",
        "copy file",
    ),
    "jobs": (
        "wait job",
        "wait commit",
        "list job",
        "inspect job",
        "stop job",
        "delete job",
        "rerun job",
    ),
    "lineage": (
        "diff lineage",
        "list metrics",
        "inspect metrics",
        "diff metrics",
        "list branch-log",
    ),
    "pipelines": (
        "create pipeline",
        "update pipeline",
        "list pipeline",
        "inspect pipeline",
        "delete pipeline",
        "run pipeline",
        "demo",
    ),
    "repos": ("create repo", "list repo", "inspect repo", "delete repo"),
    "serve": ("serve", "list service", "inspect service"),
    "shell_commits": ("start commit", "finish commit", "list open-commit"),
    "transfer": ("put file", "get file"),
}
"""Which module of this package registers which command (``"VERB NOUN"``, or a root command's
name): the lazy groups import a module from here when one of its commands is asked for. A test
imports every module and checks that this table is exactly what they register."""


def _lazy_table(verb: str) -> dict[str, str]:
    """Command name -> module, for the root group (``""``) or one verb group."""
    out: dict[str, str] = {}
    for module, names in COMMANDS.items():
        for full in names:
            head, _, noun = full.partition(" ")
            if not verb and not noun:
                out[head] = module
            elif verb and noun and head == verb:
                out[noun] = module
    return out


def load_all() -> None:
    """Import every command module (all commands registered, as before lazy loading)."""
    for module in COMMANDS:
        importlib.import_module(f"{__package__}.{module}")


class LazyGroup(click.Group):
    """A group whose commands are registered by modules imported on first use (:data:`COMMANDS`).

    Listing the group (``--help``) names every command; a command's module is imported only
    when the command is looked up (to run it or to show its one-line help).
    """

    def __init__(self, *args: Any, lazy_verb: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy_verb = lazy_verb
        self._lazy: dict[str, str] | None = None

    def _lazy_commands(self) -> dict[str, str]:
        if self._lazy is None:
            self._lazy = _lazy_table(self._lazy_verb) if self._lazy_verb is not None else {}
        return self._lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self._lazy_commands()})

    def get_command(self, ctx: click.Context | None, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name``, importing the module that registers it if needed."""
        if cmd_name not in self.commands and cmd_name in self._lazy_commands():
            importlib.import_module(f"{__package__}.{self._lazy_commands()[cmd_name]}")
        return self.commands.get(cmd_name)


class _FastOrClient:
    """The fast reader's methods, each falling back to the client's when it is unsure; the
    client's for every other method."""

    def __init__(self, fast: Any, client: Callable[[], Client]) -> None:
        self._fast = fast
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        from ..store.fastread import Unsure

        fast = getattr(self._fast, name, None)

        def call(*args: Any, **kwargs: Any) -> Any:
            if fast is not None:
                try:
                    return fast(*args, **kwargs)
                except Unsure:
                    pass
            return getattr(self._client(), name)(*args, **kwargs)

        return call


class PipesGroup(LazyGroup):
    """The root group: turns every :class:`PipesError` into ``error: <message>`` and exit 1.

    The CLI's root passes ``lazy_verb=""`` (root commands of :data:`COMMANDS`); an embedder's
    own group (the ``%pipe`` magic's) has no lazy commands.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PipesError as e:
            click.echo(f"error: {e.message}", err=True)
            ctx.exit(1)
        except OSError as e:  # local files: permission denied, disk full, not a directory ...
            if e.errno == errno.EPIPE:
                raise  # click handles a closed pipe (``| head``) quietly
            detail = f"{e.strerror}: {e.filename}" if e.strerror and e.filename else str(e)
            click.echo(f"error: {detail}", err=True)
            ctx.exit(1)


@click.group(cls=PipesGroup, context_settings=CONTEXT_SETTINGS, lazy_verb="")
@click.option(
    "--store",
    metavar="PATH_OR_URL",
    help="The store: a local folder, memory://name or s3://bucket/prefix. "
    "Default: $JUPYTER_PIPES_STORE, else .pipes in the working directory (created on first use).",
)
@click.option(
    "--db",
    metavar="URL",
    help="SQLAlchemy URL of the metadata database. "
    "Default: $JUPYTER_PIPES_DB, else a SQLite file inside a local store.",
)
@click.version_option(None, "--version", prog_name=PROG, package_name="jupyter_pipes")
@click.pass_context
def cli(ctx: click.Context, store: str | None, db: str | None) -> None:
    """Versioned data repos, with pachctl's grammar: jupyter pipes VERB NOUN ...

    \b
    Nouns: repo, branch, commit, file, pipeline, job, datum, service.
    Refs: repo (= repo@master), repo@branch,
    repo@<commit id or unique prefix>, repo@branch^2 / repo@branch~2 (ancestors).
    File refs add a path: repo@branch:/dir/file.csv

    \b
    Examples:
      jupyter pipes create repo images
      jupyter pipes put file images@master:/raw/ -f a.png -f b.png
      jupyter pipes list file images@master:/raw
      jupyter pipes get file images@master:/raw/a.png -o a.png
      jupyter pipes list commit images@master
      jupyter pipes revert branch images@master --to images@master^1
      jupyter pipes create pipeline -f edges.yaml
      jupyter pipes list job -p edges
    """
    if not isinstance(ctx.obj, Settings):  # else: an embedder's settings (see Settings)
        ctx.obj = Settings(store, db)


class CliError(click.ClickException):
    """A user error found by the CLI itself: printed as ``error: <message>``, exit 1."""

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


def client() -> Client:
    """The :class:`Client` of the running command."""
    settings = click.get_current_context().find_root().obj
    assert isinstance(settings, Settings)
    return settings.client()


def reader() -> Any:
    """The source of the running read-only command (see :meth:`Settings.reader`): it has the
    :class:`Client`'s methods, with the same results."""
    settings = click.get_current_context().find_root().obj
    assert isinstance(settings, Settings)
    return settings.reader()


def json_option(f: F) -> F:
    """``--json``: print the records as JSON on stdout (nothing else goes to stdout)."""
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON (of the records' to_dict()) instead."
    )(f)


def message_option(f: F) -> F:
    """``-m/--message``: the new commit's message."""
    return click.option("-m", "--message", default="", help="Commit message.")(f)


def split_file_ref(text: str) -> tuple[str, str | None]:
    """``repo@ref:/path`` as ``("repo@ref", "/path")``; the path is ``None`` when absent.

    Repo, branch and commit names never contain ``:``, so the first ``:`` after the ref's
    ``@{time}`` (if any) separates the path (which may itself contain ``:``). Validation is the
    library's job.
    """
    from ..store.refs import split_file_ref as split

    return split(text)


def commit_ref(ref: str, commit_id: str | None) -> str:
    """``repo@<commit id>`` for the repo of ``ref`` (to read one consistent snapshot)."""
    return f"{ref.partition('@')[0]}@{commit_id}" if commit_id else ref


def _verb(name: str, help_text: str) -> click.Group:
    group = LazyGroup(name, help=help_text, context_settings=CONTEXT_SETTINGS, lazy_verb=name)
    cli.add_command(group)
    return group


create = _verb("create", "Create a repo, a branch or a pipeline.")
list_ = _verb("list", "List repos, branches, commits, files, pipelines, jobs, datums or services.")
inspect = _verb(
    "inspect", "Show one repo, branch, commit, file, pipeline, job, datum or service in detail."
)
delete = _verb("delete", "Delete a repo, branch, commit, file or pipeline.")
put = _verb("put", "Upload files into a new commit.")
get = _verb("get", "Download files from a commit, or a datum's executed notebook.")
glob = _verb("glob", "Find files matching a Pachyderm glob pattern.")
diff = _verb("diff", "Show what changed between two commits.")
copy = _verb("copy", "Copy files between commits without copying bytes.")
squash = _verb("squash", "Remove a commit from history, keeping its files in its children.")
revert = _verb("revert", "Restore a branch to an older commit, as a new commit.")
update = _verb("update", "Update a pipeline (a new spec and notebook version).")
run = _verb("run", "Queue a new job of a pipeline on its inputs' current heads.")
wait = _verb("wait", "Run queued jobs here until a job (or a commit's jobs) is done.")
start = _verb("start", "Open a commit that later commands add to (finish it with 'finish commit').")
finish = _verb("finish", "Make an open commit visible, as one commit.")
stop = _verb("stop", "Stop a job (its datums are cancelled; nothing is committed).")
restart = _verb("restart", "Restart a datum of a running job.")
rerun = _verb("rerun", "Run a done job again on the same input commits.")
subscribe = _verb("subscribe", "Print each new finished commit of a branch as it arrives.")
