"""The CLI starts without the code it does not need (#17), and a lazily loaded pipeline layer
still sees every head move.

Start-up *time* is measured in ``benchmarks/cli_latency.py``; these tests assert what is imported,
which is what makes the time (no timed assertions here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_pipes import Client

HEAVY = (
    "jupyter_pipes.client",
    "jupyter_pipes.pipeline.manager",
    "jupyter_pipes.pipeline.spec",
    "pydantic",
    "dask",
    "distributed",
    "sqlalchemy",
    "fsspec",
    "yaml",
)
"""Modules ``--version`` must not import."""

READ_ONLY_SKIPS = (
    "jupyter_pipes.pipeline.manager",
    "jupyter_pipes.pipeline.spec",
    "jupyter_pipes.pipeline.executor",
    "pydantic",
    "dask",
    "distributed",
    "fsspec",
)
"""Modules ``list repo`` on a local store must not import."""


def _modules_after(args: list[str], cwd: Path) -> tuple[str, set[str]]:
    """Run the CLI in a fresh interpreter; its stdout and the modules it had imported."""
    code = (
        "import json, sys\n"
        "from jupyter_pipes.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "sys.stderr.write('\\nMODULES ' + json.dumps(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_PIPES_")}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    modules = json.loads(out.stderr.rsplit("MODULES ", 1)[1])
    return out.stdout, set(modules)


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def test_version_imports_neither_the_client_nor_its_libraries(tmp_path: Path) -> None:
    stdout, modules = _modules_after(["--version"], tmp_path)
    assert "jupyter pipes" in stdout
    assert _loaded(modules, HEAVY) == []


def test_list_repo_reads_without_the_pipeline_layer_dask_or_fsspec(tmp_path: Path) -> None:
    with Client(str(tmp_path / ".pipes")) as c:
        c.create_repo("images")
        c.put_file("images@master", "/a.txt", b"a")
    stdout, modules = _modules_after(["list", "repo"], tmp_path)
    assert "images" in stdout
    assert _loaded(modules, READ_ONLY_SKIPS) == []
    assert "sqlalchemy" not in modules  # the fast path reads it with sqlite3 (test_cli_fast.py)


def _cmd_pipeline(name: str, repo: str) -> dict:
    return {
        "pipeline": {"name": name},
        "input": {"pfs": {"repo": repo, "glob": "/*"}},
        "transform": {"cmd": ["bash", "-c", f'cp -r /pfs/{repo}/. "$out"/']},
    }


@pytest.mark.parametrize("write", ["put_file", "create_branch"])
def test_a_client_that_never_touched_pipelines_still_runs_their_hooks(
    tmp_path: Path, write: str
) -> None:
    """The pipeline layer loads before the first write transaction: a put (or any other head
    move) from a fresh client queues the downstream job in the same transaction."""
    store = str(tmp_path / "store")
    with Client(store) as setup:
        setup.create_repo("raw")
        setup.put_file("raw@master", "/zero", b"0")
        setup.put_file("raw@master", "/one", b"1")
        setup.create_pipeline(_cmd_pipeline("copy", "raw"))
        jobs_before = len(setup.list_job("copy"))
    with Client(store) as fresh:
        assert fresh._pipelines_layer is None  # not loaded by opening
        if write == "put_file":
            fresh.put_file("raw@master", "/two", b"2")  # a new commit
        else:
            fresh.create_branch("raw@master", head="raw@master^1")  # moves master back
        assert fresh._pipelines_layer is not None  # loaded by the write, before it
        jobs_after = fresh.list_job("copy")
    assert len(jobs_after) == jobs_before + 1


def test_gc_from_a_fresh_client_keeps_what_the_pipeline_layer_needs(tmp_path: Path) -> None:
    """gc asks the (lazily loaded) pipeline layer for its roots."""
    store = str(tmp_path / "store")
    with Client(store) as setup:
        setup.create_repo("raw")
        setup.put_file("raw@master", "/one", b"1")
        info = setup.create_pipeline(_cmd_pipeline("copy", "raw"))
        assert setup.wait_job(info.last_job, timeout=120).state == "success"
    with Client(store) as fresh:
        assert fresh._pipelines_layer is None
        fresh.gc(grace_seconds=0)
        assert fresh._pipelines_layer is not None
        assert fresh.get_file("copy@master", "/one") == b"1"
        assert fresh.fsck().ok


def test_the_lazy_command_table_is_what_the_modules_register() -> None:
    """:data:`jupyter_pipes.cli.base.COMMANDS` names exactly the commands each module
    registers (a command missing from it would be unreachable; one too many would fail)."""
    import click

    from jupyter_pipes.cli import base
    from jupyter_pipes.cli import cli as root

    registered: dict[str, set[str]] = {}
    for name, cmd in root.commands.items():  # every module loaded by ``cli``
        if isinstance(cmd, base.LazyGroup) and cmd.callback is None:  # a verb group
            for noun, sub in cmd.commands.items():
                module = sub.callback.__module__.rsplit(".", 1)[1]  # type: ignore[union-attr]
                registered.setdefault(module, set()).add(f"{name} {noun}")
        else:
            assert isinstance(cmd, click.Command)
            module = cmd.callback.__module__.rsplit(".", 1)[1]  # type: ignore[union-attr]
            registered.setdefault(module, set()).add(name)
    assert registered == {m: set(names) for m, names in base.COMMANDS.items()}


def test_list_repo_imports_only_the_module_of_its_command(tmp_path: Path) -> None:
    _, modules = _modules_after(["--version"], tmp_path)
    assert not [
        m for m in modules if m.startswith("jupyter_pipes.cli.") and m != "jupyter_pipes.cli.base"
    ]
    Client(str(tmp_path / ".pipes")).close()
    _, modules = _modules_after(["list", "repo"], tmp_path)
    commands = {m for m in modules if m.startswith("jupyter_pipes.cli.")}  # not .lineage, .jobs ...
    assert commands == {
        "jupyter_pipes.cli.base",
        "jupyter_pipes.cli.repos",
        "jupyter_pipes.cli.render",
    }
