"""Which store is used when none is named: one rule (``store.store.default_store_url``) for the
Client, the CLI, the magics and the server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from jupyter_pipes.cli import cli
from jupyter_pipes.magics import session
from jupyter_pipes.store.store import default_store_url


def test_the_variable_wins_else_pipes_in_the_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JUPYTER_PIPES_STORE", raising=False)
    assert default_store_url() == str(tmp_path / ".pipes")
    assert default_store_url(tmp_path / "root") == str(tmp_path / "root" / ".pipes")
    monkeypatch.setenv("JUPYTER_PIPES_STORE", "memory://named")
    assert default_store_url() == "memory://named"
    assert default_store_url(tmp_path / "root") == "memory://named"


def test_the_magics_resolve_the_same_store_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    session.clear_default()
    monkeypatch.delenv("JUPYTER_PIPES_STORE", raising=False)
    assert session.resolve().store == str(tmp_path / ".pipes")
    monkeypatch.setenv("JUPYTER_PIPES_STORE", "rel/store")
    assert session.resolve().store == str(tmp_path / "rel" / "store")


def test_the_cli_reads_the_variable_through_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "from-env"
    monkeypatch.setenv("JUPYTER_PIPES_STORE", str(store))
    result = CliRunner().invoke(cli, ["create", "repo", "data"])
    assert result.exit_code == 0, result.output
    assert (store / "metadata.sqlite").is_file()
    assert not (tmp_path / ".pipes").exists()
    assert "$JUPYTER_PIPES_STORE" in CliRunner().invoke(cli, ["--help"]).output
    assert os.environ["JUPYTER_PIPES_STORE"] == str(store)
